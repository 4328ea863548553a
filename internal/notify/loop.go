package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beamctl/beamctl/internal/redact"
)

// Reasons a Loop drops alerts, the reason label of
// beamctl_alarm_deliveries_dropped_total.
const (
	// DropQueueFull: the queue was full when the alert came.
	DropQueueFull = "queue_full"
	// DropRejected: the destination rejected it (a 4xx other than 429, a
	// permanent SMTP error); it is not tried again.
	DropRejected = "rejected"
	// DropResolvedOverflow: too many resolved alerts waited for a
	// destination that resends state (Alertmanager); the oldest went.
	DropResolvedOverflow = "resolved_overflow"
)

var dropReasons = []string{DropQueueFull, DropRejected, DropResolvedOverflow}

// Options configure a Loop. Name, Integration and Notifier are required.
type Options struct {
	// Name names the destination in logs and metrics by its place in the
	// configuration ("notifiers[0]", "alertmanager[1]"), never by its URL.
	Name        string
	Integration string // webhook, pagerduty, slack, email, alertmanager
	// URL is the destination's URL (or SMTP address), logged as scheme
	// and host only (redact.URL): its path is often its token.
	URL      string
	Notifier Notifier
	// Secrets are replaced in every error the Loop logs or reports, in
	// case a notifier let one through.
	Secrets []string
	Logger  *slog.Logger
	// OnFailure is told about each failed attempt: dropped is false when
	// the alerts are tried again, true when they were rejected.
	OnFailure func(err error, dropped bool)

	// QueueSize bounds the alerts waiting for delivery (default 1000).
	QueueSize int
	// Resend, when not zero, makes the destination one that is sent
	// state rather than changes, as Alertmanager wants: every Resend, and
	// at once on a change, all of Active() and the resolved alerts not yet
	// delivered go in one Notify. Resolved alerts wait in a list of at
	// most QueueSize. Active may take a lock held while Add is called.
	Resend time.Duration
	Active func() []Alert

	// MinBackoff and MaxBackoff bound the wait between attempts (default
	// 1s and 1m; with Resend, at most Resend); MaxRetryAfter bounds a
	// receiver's Retry-After (default 2m).
	MinBackoff, MaxBackoff, MaxRetryAfter time.Duration
}

// Loop delivers alerts to one destination, in order, one at a time (all
// at once with Resend). An alert the destination could not take is tried
// again with exponential backoff, or after the receiver's Retry-After; an
// alert it rejected is dropped and counted, so that one bad message never
// blocks the ones after it. Add never blocks: alerts beyond the queue's
// bound are dropped and counted.
type Loop struct {
	o   Options
	log *slog.Logger

	mu      sync.Mutex
	queue   []queued
	seq     uint64
	full    bool // the last Add found the queue full (logged once)
	kick    chan struct{}
	sent    atomic.Uint64
	failed  atomic.Uint64
	dropped map[string]*atomic.Uint64
}

type queued struct {
	seq   uint64
	alert Alert
}

// New makes a Loop; Run runs it.
func New(o Options) (*Loop, error) {
	var errs []error
	if o.Name == "" || o.Integration == "" {
		errs = append(errs, errors.New("a destination needs a name and an integration"))
	}
	if o.Notifier == nil {
		errs = append(errs, errors.New("a destination needs a notifier"))
	}
	if o.Resend > 0 && o.Active == nil {
		errs = append(errs, errors.New("a destination sent state needs the active alerts"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 1000
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Minute
	}
	if o.Resend > 0 && o.MaxBackoff > o.Resend {
		o.MaxBackoff = o.Resend
	}
	o.MinBackoff = min(o.MinBackoff, o.MaxBackoff)
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = 2 * time.Minute
	}
	log := o.Logger.With("destination", o.Name, "integration", o.Integration)
	if o.URL != "" {
		log = log.With("url", redact.URL(o.URL))
	}
	l := &Loop{o: o, log: log, kick: make(chan struct{}, 1), dropped: map[string]*atomic.Uint64{}}
	for _, r := range dropReasons {
		l.dropped[r] = new(atomic.Uint64)
	}
	return l, nil
}

// Name is the destination's name.
func (l *Loop) Name() string { return l.o.Name }

// Integration is the destination's integration.
func (l *Loop) Integration() string { return l.o.Integration }

// Sent counts the alerts the destination took.
func (l *Loop) Sent() uint64 { return l.sent.Load() }

// Failed counts the failed attempts that are tried again.
func (l *Loop) Failed() uint64 { return l.failed.Load() }

// Dropped counts the alerts dropped for a reason (DropQueueFull, …).
func (l *Loop) Dropped(reason string) uint64 {
	if c, ok := l.dropped[reason]; ok {
		return c.Load()
	}
	return 0
}

// Add queues an alert for delivery; it never blocks. With Resend, only
// resolved alerts are kept (the active ones are read from Active), and a
// full list drops its oldest.
func (l *Loop) Add(a Alert) {
	l.mu.Lock()
	switch {
	case l.o.Resend > 0 && a.Alarm.Active:
	case l.o.Resend > 0:
		if len(l.queue) >= l.o.QueueSize {
			l.queue = l.queue[1:]
			l.dropped[DropResolvedOverflow].Add(1)
		}
		l.seq++
		l.queue = append(l.queue, queued{l.seq, a})
	case len(l.queue) >= l.o.QueueSize:
		l.dropped[DropQueueFull].Add(1)
		if !l.full {
			l.log.Warn("Alarm delivery queue full; dropping alerts until it drains", "size", l.o.QueueSize)
		}
		l.full = true
	default:
		l.full = false
		l.seq++
		l.queue = append(l.queue, queued{l.seq, a})
	}
	l.mu.Unlock()
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends.
func (l *Loop) Run(ctx context.Context) {
	var tick <-chan time.Time
	if l.o.Resend > 0 {
		t := time.NewTicker(l.o.Resend)
		defer t.Stop()
		tick = t.C
	}
	for {
		if !l.deliver(ctx) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-l.kick:
		case <-tick:
		}
	}
}

// next is what to send now and the last queued alert's sequence number
// among them.
func (l *Loop) next() ([]Alert, uint64) {
	var alerts []Alert
	if l.o.Resend > 0 {
		// Not under mu: Active takes the alarm engine's lock, which the
		// engine holds while it calls Add (a lock-order cycle otherwise).
		alerts = l.o.Active()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.o.Resend == 0 {
		if len(l.queue) == 0 {
			return nil, 0
		}
		return []Alert{l.queue[0].alert}, l.queue[0].seq
	}
	var last uint64
	for _, q := range l.queue {
		alerts = append(alerts, q.alert)
		last = q.seq
	}
	return alerts, last
}

// done removes the queued alerts up to seq.
func (l *Loop) done(seq uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := 0
	for i < len(l.queue) && l.queue[i].seq <= seq {
		i++
	}
	l.queue = l.queue[i:]
}

// deliver sends what is due until nothing is (with Resend: once); false
// when ctx ended.
func (l *Loop) deliver(ctx context.Context) bool {
	backoff := l.o.MinBackoff
	for {
		alerts, seq := l.next()
		if len(alerts) == 0 {
			return true
		}
		retry, err := l.o.Notifier.Notify(ctx, alerts...)
		if ctx.Err() != nil {
			return false
		}
		if err == nil || !retry {
			l.done(seq)
			if err == nil {
				l.sent.Add(uint64(len(alerts)))
			} else {
				l.dropped[DropRejected].Add(uint64(len(alerts)))
				err = Redact(err, l.o.Secrets...)
				l.log.Error("Alarm destination rejected alerts; dropped, not retried", "alerts", len(alerts), "err", err)
				if l.o.OnFailure != nil {
					l.o.OnFailure(fmt.Errorf("%s (%s) rejected %d alert(s), dropped them: %w", l.o.Name, l.o.Integration, len(alerts), err), true)
				}
			}
			if l.o.Resend > 0 {
				return true
			}
			backoff = l.o.MinBackoff
			continue
		}
		l.failed.Add(1)
		wait := backoff
		var h *HTTPError
		if errors.As(err, &h) && h.RetryAfter > 0 {
			wait = min(h.RetryAfter, l.o.MaxRetryAfter)
		}
		err = Redact(err, l.o.Secrets...)
		l.log.Warn("Alarm delivery failed; retrying", "alerts", len(alerts), "err", err, "in", wait)
		if l.o.OnFailure != nil {
			l.o.OnFailure(fmt.Errorf("%s (%s) failed, retrying in %s: %w", l.o.Name, l.o.Integration, wait, err), false)
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		backoff = min(2*backoff, l.o.MaxBackoff)
	}
}
