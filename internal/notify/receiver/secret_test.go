package receiver

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/notify"
	"github.com/beamctl/beamctl/internal/notify/notifytest"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type loops []*notify.Loop

func (ls loops) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(ls, ch) }
func (ls loops) Collect(ch chan<- prometheus.Metric) { notify.Collect(ch, ls...) }

// TestDeliveryFailureShowsNoSecret delivers to a webhook, a Slack and an
// Alertmanager URL whose paths and queries are tokens, on a loopback port
// where nothing listens. The secrets appear in none of: the logs, the
// failure texts serve stores as notifications, the delivery metrics.
func TestDeliveryFailureShowsNoSecret(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + l.Addr().String()
	require.NoError(t, l.Close())
	secrets := []string{"T0KEN-webhook", "B0T-slack%2Fescaped", "xoxb-slack-query", "am-pa55word"}
	cfg := config.Alarms{
		Alertmanager: []string{strings.Replace(base, "http://", "http://admin:am-pa55word@", 1)},
		Notifiers: []config.Notifier{
			{URL: base + "/hooks/T0KEN-webhook"},
			{Format: "slack", URL: base + "/services/T000/B0T-slack%2Fescaped?token=xoxb-slack-query"},
		},
	}
	ds, err := Build(cfg, "http://beamctl:9464")
	require.NoError(t, err)

	var logs lockedBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	var mu sync.Mutex
	var stored []string // what serve records as alarm_delivery_failed notifications
	var running loops
	for _, d := range ds {
		o := d.Options
		o.Logger = logger
		o.MinBackoff, o.MaxBackoff = time.Millisecond, 10*time.Millisecond
		o.OnFailure = func(err error, _ bool) {
			mu.Lock()
			defer mu.Unlock()
			stored = append(stored, fmt.Sprintf("Alarm destination %v.", err))
		}
		if o.Resend > 0 {
			o.Resend = 10 * time.Millisecond
			o.Active = func() []notify.Alert { return []notify.Alert{notifytest.Alert(1)} }
		}
		loop, err := notify.New(o)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); loop.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		loop.Add(notifytest.Alert(1))
		running = append(running, loop)
	}
	require.Eventually(t, func() bool {
		for _, l := range running {
			if l.Failed() < 2 {
				return false
			}
		}
		return true
	}, 30*time.Second, 5*time.Millisecond, "every destination failed twice")

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(running)
	n, err := testutil.GatherAndCount(reg)
	require.NoError(t, err)
	require.Positive(t, n)
	var metrics strings.Builder
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		metrics.WriteString(mf.String())
	}
	mu.Lock()
	failures := strings.Join(stored, "\n")
	mu.Unlock()
	require.Contains(t, failures, "notifiers[1] (slack) failed, retrying")
	require.Contains(t, logs.String(), "connection refused")
	require.Contains(t, logs.String(), `"url":"`+base+`"`, "the destination is logged as scheme and host")
	for name, text := range map[string]string{"logs": logs.String(), "stored notifications": failures, "metrics": metrics.String()} {
		for _, s := range secrets {
			require.NotContains(t, text, s, "%s:\n%s", name, text)
		}
	}
}
