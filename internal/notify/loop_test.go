package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/notify"
	"github.com/beamctl/beamctl/internal/notify/notifytest"
	"github.com/beamctl/beamctl/internal/notify/webhook"
)

func run(t *testing.T, o notify.Options) *notify.Loop {
	l, err := notify.New(o)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return l
}

// TestRetryAfter: a 429's Retry-After is waited, within MaxRetryAfter.
func TestRetryAfter(t *testing.T) {
	r := notifytest.NewReceiver(t, notifytest.Answer{Status: 429, RetryAfter: "1"}, notifytest.Answer{Status: 429, RetryAfter: "3600"})
	n, err := webhook.New(webhook.Options{URL: r.URL})
	require.NoError(t, err)
	l := run(t, notify.Options{Name: "notifiers[0]", Integration: "webhook", Notifier: n,
		MinBackoff: time.Millisecond, MaxRetryAfter: 1500 * time.Millisecond})
	l.Add(notifytest.Alert(1))
	var at []time.Time
	for range 3 {
		r.Next(t)
		at = append(at, time.Now())
	}
	require.GreaterOrEqual(t, at[1].Sub(at[0]), 900*time.Millisecond, "Retry-After: 1")
	require.Less(t, at[1].Sub(at[0]), 1400*time.Millisecond)
	require.GreaterOrEqual(t, at[2].Sub(at[1]), 1400*time.Millisecond, "Retry-After: 3600, bounded")
	require.Less(t, at[2].Sub(at[1]), 2500*time.Millisecond)
	require.Eventually(t, func() bool { return l.Sent() == 1 }, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, uint64(2), l.Failed())
}

// TestQueueFull: alerts beyond the queue's bound are dropped and counted;
// the queued ones are delivered in order.
func TestQueueFull(t *testing.T) {
	r := notifytest.NewReceiver(t)
	n, err := webhook.New(webhook.Options{URL: r.URL})
	require.NoError(t, err)
	l, err := notify.New(notify.Options{Name: "notifiers[0]", Integration: "webhook", Notifier: n, QueueSize: 2})
	require.NoError(t, err)
	for id := range int64(5) {
		l.Add(notifytest.Alert(id + 1))
	}
	require.Equal(t, uint64(3), l.Dropped(notify.DropQueueFull))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx) }()
	defer func() { cancel(); <-done }()
	require.Contains(t, string(r.Next(t).Body), "alarm 1:")
	require.Contains(t, string(r.Next(t).Body), "alarm 2:")
	require.Eventually(t, func() bool { return l.Sent() == 2 }, 5*time.Second, 5*time.Millisecond)
	l.Add(notifytest.Alert(6)) // room again
	require.Contains(t, string(r.Next(t).Body), "alarm 6:")
}

// TestNew: what a Loop needs, all said at once.
func TestNew(t *testing.T) {
	_, err := notify.New(notify.Options{Resend: time.Minute})
	require.EqualError(t, err, "a destination needs a name and an integration\na destination needs a notifier\na destination sent state needs the active alerts")
}

// TestRedact: secrets go from the text; the HTTP status and Retry-After
// stay reachable.
func TestRedact(t *testing.T) {
	require.NoError(t, notify.Redact(nil, "x"))
	err := fmt.Errorf("post: %w", &notify.HTTPError{StatusCode: 429, Body: "no thanks, tok3n", RetryAfter: time.Second})
	red := notify.Redact(err, "tok3n", "")
	require.EqualError(t, red, "post: HTTP 429: no thanks, <secret>")
	var h *notify.HTTPError
	require.ErrorAs(t, red, &h)
	require.Equal(t, http.StatusTooManyRequests, h.StatusCode)
	require.Equal(t, time.Second, h.RetryAfter)
	require.NotContains(t, h.Error(), "tok3n")
	plain := errors.New("nothing secret")
	require.Same(t, plain, notify.Redact(plain, "tok3n"))
}

// TestInfiniteValue: an alarm whose value is +Inf (a rule's x/0) is still
// delivered, its value null.
func TestInfiniteValue(t *testing.T) {
	a := notifytest.Alert(1)
	a.Alarm.Value = math.Inf(1)
	b, err := json.Marshal(a.Alarm)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	require.Contains(t, m, "value")
	require.Nil(t, m["value"])
	require.Equal(t, "process_limit", m["rule"])
	a.Alarm.Value = 0.5
	b, err = json.Marshal(a.Alarm)
	require.NoError(t, err)
	require.Contains(t, string(b), `"value":0.5`)
	require.Equal(t, 1, strings.Count(string(b), `"value"`))
}

// TestResendLockOrder: the alarm engine calls Add while it holds its own
// lock, and Active takes that lock. The Loop must not hold its lock while
// it calls Active, or each waits for the other for ever (seen in CI: a
// reload that removed a destination never returned).
func TestResendLockOrder(t *testing.T) {
	r := notifytest.NewReceiver(t)
	n, err := webhook.New(webhook.Options{URL: r.URL})
	require.NoError(t, err)
	var engine sync.Mutex // the alarm engine's lock
	var l *notify.Loop
	var once sync.Once
	added := make(chan struct{})
	active := func() []notify.Alert {
		once.Do(func() {
			go func() { // an alarm changes while the Loop gathers the active ones
				engine.Lock()
				l.Add(notifytest.Alert(2))
				engine.Unlock() // before close: Active below must find the lock free
				close(added)
			}()
			select {
			case <-added:
			case <-time.After(10 * time.Second):
				t.Error("Add waited for the Loop while the Loop called Active: a lock-order cycle")
			}
		})
		if !engine.TryLock() { // the cycle: do not wait for it
			return nil
		}
		defer engine.Unlock()
		return []notify.Alert{notifytest.Alert(1)}
	}
	l, err = notify.New(notify.Options{Name: "notifiers[0]", Integration: "webhook", Notifier: n,
		Resend: time.Hour, Active: active})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx) }()
	defer func() { cancel(); <-done }()
	require.Contains(t, string(r.Next(t).Body), "alarm 1:")
	<-added
}
