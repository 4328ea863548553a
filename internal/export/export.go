// Package export sends notifications to the log systems operators already
// run: syslog (RFC 5424 over UDP, or TCP with octet counting), GELF (UDP,
// chunked when large, or TCP with null-byte framing) for Graylog,
// Logstash and the like, and OpenTelemetry logs (OTLP/HTTP with JSON).
// Each target has its own goroutine and queue; a target that fails is
// retried with backoff and counted, never blocking the server.
package export

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/redact"
	"github.com/beamctl/beamctl/internal/severity"
)

// Encoder turns notifications into what a target's wire carries.
type sender interface {
	// send delivers a batch; an error means none or only part arrived and
	// the batch is tried again.
	send(ctx context.Context, ns []journal.Notification) error
	close() error
}

// Target is one destination with its counters.
type Target struct {
	Name string // e.g. syslog udp 127.0.0.1:514
	s    sender
	min  int // lowest severity rank sent (see rank)

	Sent, Failed, Dropped atomic.Uint64
}

// rank orders severities: critical 0 … info 3.
func rank(sev journal.Severity) int {
	switch sev {
	case journal.Critical:
		return 0
	case journal.Error:
		return 1
	case journal.Warning:
		return 2
	default:
		return 3
	}
}

// Run sends what the recorder records from now on to the target until
// ctx ends, in batches of up to 100, retrying a failed batch with backoff
// (1 s to 1 min) while newer notifications wait in a bounded queue.
func (t *Target) Run(ctx context.Context, rec *journal.Recorder, logger *slog.Logger) {
	live, cancel := rec.Subscribe(journal.Filter{}, 10000)
	defer cancel()
	t.Feed(ctx, live, logger)
}

// Feed sends what arrives on live to the target, as Run does, until ctx
// ends or live is closed (the server merges its audit records into it).
func (t *Target) Feed(ctx context.Context, live <-chan journal.Notification, logger *slog.Logger) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	defer t.s.close()
	var queue []journal.Notification
	backoff := time.Second
	var retry <-chan time.Time
	for {
		var ready bool
		select {
		case <-ctx.Done():
			return
		case n, ok := <-live:
			if !ok {
				return
			}
			if rank(n.Severity) > t.min {
				continue
			}
			if len(queue) >= 10000 {
				queue = queue[1:]
				t.Dropped.Add(1)
			}
			queue = append(queue, n)
			ready = retry == nil
		case <-retry:
			retry, ready = nil, true
		}
		if !ready {
			continue
		}
		for len(queue) > 0 {
			batch := queue[:min(100, len(queue))]
			sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
			err := t.s.send(sctx, batch)
			scancel()
			if err != nil {
				t.Failed.Add(1)
				logger.Warn("Export failed; retrying", "target", t.Name, "err", err, "waiting", len(queue), "in", backoff)
				retry = time.After(backoff + time.Duration(rand.Int64N(int64(backoff/4)+1)))
				backoff = min(2*backoff, time.Minute)
				break
			}
			t.Sent.Add(uint64(len(batch)))
			queue = queue[len(batch):]
			backoff = time.Second
		}
	}
}

// Options configure a target.
type Options struct {
	Format   string // syslog, gelf or otlp
	Protocol string // udp or tcp (syslog, gelf)
	Address  string // host:port (syslog, gelf)
	URL      string // OTLP/HTTP logs endpoint, e.g. http://localhost:4318/v1/logs
	Headers  map[string]string
	// Facility is the syslog facility (default local0).
	Facility string
	// MinSeverity is the least severe notification sent (default info:
	// everything).
	MinSeverity string
	// Hostname is the syslog HOSTNAME and GELF source host (default: the
	// managed node's host part).
	Hostname string
}

// New builds a target; it does not connect yet.
func New(o Options) (*Target, error) {
	least, err := severity.Parse(o.MinSeverity)
	if err != nil {
		return nil, fmt.Errorf("min_severity: %w", err)
	}
	t := &Target{min: rank(least)}
	if o.MinSeverity == "" {
		t.min = rank(journal.Info)
	}
	switch o.Format {
	case "syslog":
		t.Name = fmt.Sprintf("syslog %s %s", o.Protocol, o.Address)
		t.s, err = newSyslog(o)
	case "gelf":
		t.Name = fmt.Sprintf("gelf %s %s", o.Protocol, o.Address)
		t.s, err = newGELF(o)
	case "otlp":
		t.Name = "otlp " + redact.URL(o.URL) // A name is a metric label and in logs: no path or token.
		t.s, err = newOTLP(o)
	default:
		err = fmt.Errorf("export format %q is not syslog, gelf or otlp", o.Format)
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// host is the host part of a node name (name@host), or the whole name.
func host(node string) string {
	if _, h, ok := strings.Cut(node, "@"); ok {
		return h
	}
	if node == "" {
		return "-"
	}
	return node
}

// syslogSeverity is RFC 5424's numerical severity of a notification.
func syslogSeverity(sev journal.Severity) int {
	switch sev {
	case journal.Critical:
		return 2
	case journal.Error:
		return 3
	case journal.Warning:
		return 4
	default:
		return 6 // informational
	}
}
