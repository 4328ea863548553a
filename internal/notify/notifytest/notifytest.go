// Package notifytest is the conformance kit every notifier's test runs:
// HTTP runs an HTTP integration against real loopback servers (a retry
// on 5xx and 429 with its Retry-After, none on another 4xx, a retry when
// nobody answers), SMTP runs an e-mail integration against a real SMTP
// listener (a retry on 4xx, none on 5xx); both check that the
// integration's secrets never appear in its errors, and, through a
// notify.Loop, in the logs, the failure reports or the metrics, and that
// a rejected alert does not block the next one.
package notifytest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/notify"
	"github.com/beamctl/beamctl/internal/severity"
)

// SecretPath is the path of the URL the kit gives an HTTP integration: a
// token, as in a Slack webhook's URL.
const SecretPath = "/services/T0KEN/B0KEN/s3cr3t-hook-token"

// Alert is a raised critical alarm, which every integration delivers; its
// id is in its description.
func Alert(id int64) notify.Alert {
	t := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	return notify.Alert{
		Alarm: notify.Alarm{ID: id, Rule: "process_limit", Cluster: "c", Node: "a@h", Severity: severity.Critical, Active: true,
			RaisedAt: t, Value: 0.97, Description: fmt.Sprintf("alarm %d: 97%% of its process limit", id), Evidence: []string{"erlang_vm_processes"}},
		Event: notify.Event{Time: t, Kind: "raised"},
	}
}

// Request is what an HTTP receiver got.
type Request struct {
	Path string
	Body []byte
}

// Receiver is a loopback HTTP server that answers the scripted statuses
// in turn, then 200. An error answer quotes the request's path and body,
// as careless receivers do, so that a notifier that repeats answers
// without redacting them leaks its secrets. Each request is sent on Got.
type Receiver struct {
	*httptest.Server
	Got chan Request

	mu     sync.Mutex
	script []Answer
}

// Answer is a scripted answer.
type Answer struct {
	Status     int
	RetryAfter string // the Retry-After header, if any
}

// NewReceiver starts a Receiver; it is closed when the test ends.
func NewReceiver(t testing.TB, script ...Answer) *Receiver {
	r := &Receiver{Got: make(chan Request, 100), script: script}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	a := Answer{Status: http.StatusOK}
	if len(r.script) > 0 {
		a, r.script = r.script[0], r.script[1:]
	}
	r.mu.Unlock()
	select {
	case r.Got <- Request{Path: req.URL.Path, Body: body}:
	default:
	}
	if a.RetryAfter != "" {
		w.Header().Set("Retry-After", a.RetryAfter)
	}
	if a.Status/100 == 2 {
		w.WriteHeader(a.Status)
		return
	}
	http.Error(w, fmt.Sprintf("cannot take %s %s", req.URL.String(), body), a.Status)
}

// Next waits for the receiver's next request.
func (r *Receiver) Next(t testing.TB) Request {
	t.Helper()
	select {
	case req := <-r.Got:
		return req
	case <-time.After(10 * time.Second):
		t.Fatal("no request in 10s")
		return Request{}
	}
}

// NewHTTP makes the notifier under test for a receiver's URL (which ends
// in SecretPath), and lists its secrets (the URL, a routing key).
type NewHTTP func(t *testing.T, url string) (n notify.Notifier, secrets []string)

// HTTP runs the conformance tests of an HTTP integration.
func HTTP(t *testing.T, integration string, mk NewHTTP) {
	for _, c := range []struct {
		status     int
		retryAfter string
		retry      bool
	}{
		{status: 200}, {status: 202},
		{status: 500, retry: true}, {status: 502, retry: true}, {status: 503, retry: true}, {status: 504, retry: true},
		{status: 429, retry: true}, {status: 429, retryAfter: "7", retry: true},
		{status: 400}, {status: 401}, {status: 403}, {status: 404}, {status: 410}, {status: 413}, {status: 422},
	} {
		t.Run(fmt.Sprintf("status %d %s", c.status, c.retryAfter), func(t *testing.T) {
			r := NewReceiver(t, Answer{Status: c.status, RetryAfter: c.retryAfter})
			n, secrets := mk(t, r.URL+SecretPath)
			retry, err := n.Notify(context.Background(), Alert(1))
			r.Next(t)
			if c.status/100 == 2 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Equal(t, c.retry, retry, "retry after HTTP %d", c.status)
			NoSecret(t, err.Error(), secrets)
			var h *notify.HTTPError
			require.ErrorAs(t, err, &h)
			require.Equal(t, c.status, h.StatusCode)
			if c.retryAfter != "" {
				require.Equal(t, 7*time.Second, h.RetryAfter)
			}
		})
	}
	t.Run("nobody answers", func(t *testing.T) {
		r := NewReceiver(t)
		u := r.URL + SecretPath
		r.Close()
		n, secrets := mk(t, u)
		retry, err := n.Notify(context.Background(), Alert(1))
		require.Error(t, err)
		require.True(t, retry)
		NoSecret(t, err.Error(), secrets)
	})
	t.Run("cancelled", func(t *testing.T) {
		block := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block }))
		defer srv.Close()
		defer close(block)
		n, secrets := mk(t, srv.URL+SecretPath)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := n.Notify(ctx, Alert(1))
		require.Error(t, err)
		NoSecret(t, err.Error(), secrets)
	})
	t.Run("loop", func(t *testing.T) {
		// The first alert fails (503, retried), then is rejected (400,
		// dropped); the second is taken.
		r := NewReceiver(t, Answer{Status: 503, RetryAfter: "0"}, Answer{Status: 400})
		n, secrets := mk(t, r.URL+SecretPath)
		l := runLoop(t, integration, n, secrets)
		l.Add(Alert(1))
		l.Add(Alert(2))
		first, again, second := r.Next(t), r.Next(t), r.Next(t)
		require.Contains(t, string(first.Body), "alarm 1:")
		require.Contains(t, string(again.Body), "alarm 1:", "the same alert tried again after a 503")
		require.Contains(t, string(second.Body), "alarm 2:")
		require.NotContains(t, string(second.Body), "alarm 1:", "the rejected alert is not tried again")
		l.check(t, 1, 1, 1)
	})
}

// loop is a notify.Loop under test, with its logs and failure reports.
type loop struct {
	*notify.Loop
	secrets  []string
	mu       sync.Mutex
	logs     bytes.Buffer
	failures []string
}

func (l *loop) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.logs.Write(b)
}

func runLoop(t *testing.T, integration string, n notify.Notifier, secrets []string) *loop {
	l := &loop{secrets: secrets}
	nl, err := notify.New(notify.Options{Name: "notifiers[0]", Integration: integration, Notifier: n,
		Logger: slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnFailure: func(err error, _ bool) {
			l.mu.Lock()
			l.failures = append(l.failures, err.Error())
			l.mu.Unlock()
		},
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	require.NoError(t, err)
	l.Loop = nl
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); nl.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return l
}

// check waits for the counts (sent, failed, rejected), then checks that
// logs, failure reports and metrics hold no secret.
func (l *loop) check(t *testing.T, sent, failed, rejected uint64) {
	t.Helper()
	require.Eventually(t, func() bool {
		return l.Sent() == sent && l.Failed() == failed && l.Dropped(notify.DropRejected) == rejected
	}, 10*time.Second, 5*time.Millisecond, "sent %d failed %d rejected %d", l.Sent(), l.Failed(), l.Dropped(notify.DropRejected))
	l.mu.Lock()
	logs, failures := l.logs.String(), strings.Join(l.failures, "\n")
	l.mu.Unlock()
	require.Contains(t, logs, "Alarm delivery failed; retrying")
	require.Contains(t, logs, "Alarm destination rejected alerts")
	NoSecret(t, logs, l.secrets)
	require.Len(t, strings.Split(failures, "\n"), int(failed+rejected), "every failure reported")
	NoSecret(t, failures, l.secrets)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) { notify.Collect(ch, l.Loop) }))
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(fmt.Sprintf(`
# HELP beamctl_alarm_deliveries_dropped_total Alerts a destination dropped, by reason: queue_full, rejected (a 4xx other than 429, a permanent SMTP error), resolved_overflow.
# TYPE beamctl_alarm_deliveries_dropped_total counter
beamctl_alarm_deliveries_dropped_total{destination="notifiers[0]",integration="%[1]s",reason="queue_full"} 0
beamctl_alarm_deliveries_dropped_total{destination="notifiers[0]",integration="%[1]s",reason="rejected"} %[4]d
beamctl_alarm_deliveries_dropped_total{destination="notifiers[0]",integration="%[1]s",reason="resolved_overflow"} 0
# HELP beamctl_alarm_deliveries_total Alarm deliveries by destination (its place in the configuration): alerts sent, failed attempts (retried), alerts dropped (any reason).
# TYPE beamctl_alarm_deliveries_total counter
beamctl_alarm_deliveries_total{destination="notifiers[0]",integration="%[1]s",result="dropped"} %[4]d
beamctl_alarm_deliveries_total{destination="notifiers[0]",integration="%[1]s",result="failed"} %[3]d
beamctl_alarm_deliveries_total{destination="notifiers[0]",integration="%[1]s",result="sent"} %[2]d
`, l.Integration(), sent, failed, rejected))))
}

// NoSecret fails the test if text holds one of secrets.
func NoSecret(t testing.TB, text string, secrets []string) {
	t.Helper()
	require.NotEmpty(t, secrets, "the integration names its secrets")
	for _, s := range secrets {
		require.NotEmpty(t, s)
		require.NotContains(t, text, s, "a secret leaked")
	}
}
