package alertmanager

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/notify"
	"github.com/beamctl/beamctl/internal/notify/notifytest"
	"github.com/beamctl/beamctl/internal/testsrv"
)

func TestConformance(t *testing.T) {
	notifytest.HTTP(t, "alertmanager", func(t *testing.T, url string) (notify.Notifier, []string) {
		n, err := New(Options{URL: url, Resend: time.Minute})
		require.NoError(t, err)
		return n, []string{url, notifytest.SecretPath}
	})
}

// webhookMessage is what Alertmanager's webhook receiver posts.
type webhookMessage struct {
	Alerts []struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"alerts"`
}

// TestAlertmanager raises and clears an alarm through a notify.Loop and
// checks that a real Alertmanager routes it, firing then resolved, to a
// webhook receiver.
func TestAlertmanager(t *testing.T) {
	var mu sync.Mutex
	var got []webhookMessage
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m webhookMessage
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	}))
	defer hook.Close()
	n, err := New(Options{URL: testsrv.Alertmanager(t, hook.URL, 100*time.Millisecond), Resend: 500 * time.Millisecond, ExternalURL: "http://beamctl:9464"})
	require.NoError(t, err)

	changes := notifytest.Changes()
	raised := changes[0]
	raised.Alarm.Labels = map[string]string{"team": "db", "severity": "ignored: beamctl's own wins"}
	raised.Alarm.Annotations = map[string]string{"runbook": "https://runbooks/x"}
	var active []notify.Alert
	var amu sync.Mutex
	setActive := func(as ...notify.Alert) { amu.Lock(); active = as; amu.Unlock() }
	l, err := notify.New(notify.Options{Name: "alertmanager[0]", Integration: "alertmanager", Notifier: n, Resend: 500 * time.Millisecond,
		Active: func() []notify.Alert { amu.Lock(); defer amu.Unlock(); return append([]notify.Alert(nil), active...) }})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx) }()
	defer func() { cancel(); <-done }()

	setActive(raised)
	l.Add(raised)
	status := func(want string) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			for _, m := range got {
				for _, a := range m.Alerts {
					if a.Status == want && a.Labels["alertname"] == "scripted" {
						return true
					}
				}
			}
			return false
		}
	}
	require.Eventually(t, status("firing"), 20*time.Second, 50*time.Millisecond)
	mu.Lock()
	a := got[0].Alerts[0]
	mu.Unlock()
	require.Equal(t, map[string]string{"alertname": "scripted", "severity": "critical", "cluster": "c", "node": "a@h", "source": "beamctl", "team": "db"}, a.Labels)
	require.Equal(t, "https://runbooks/x", a.Annotations["runbook"])
	require.Equal(t, "value critical", a.Annotations["description"])
	require.Equal(t, "7", a.Annotations["value"])

	cleared := changes[3]
	now := time.Now()
	cleared.Alarm.ClearedAt = &now
	setActive()
	l.Add(cleared)
	require.Eventually(t, status("resolved"), 20*time.Second, 50*time.Millisecond)
	require.Zero(t, l.Failed())
}

// TestResolvedBounded: resolved alerts wait for an Alertmanager that is
// down in a bounded list, the oldest dropped and counted; once it is back
// they are sent once, with the active ones.
func TestResolvedBounded(t *testing.T) {
	r := notifytest.NewReceiver(t, notifytest.Answer{Status: 503})
	n, err := New(Options{URL: r.URL, Resend: time.Hour})
	require.NoError(t, err)
	active := notifytest.Alert(100)
	l, err := notify.New(notify.Options{Name: "alertmanager[0]", Integration: "alertmanager", Notifier: n, Resend: time.Hour,
		QueueSize: 3, MinBackoff: time.Millisecond, Active: func() []notify.Alert { return []notify.Alert{active} }})
	require.NoError(t, err)
	for id := range int64(5) {
		a := notifytest.Alert(id + 1)
		a.Alarm.Active = false
		l.Add(a)
	}
	require.Equal(t, uint64(2), l.Dropped(notify.DropResolvedOverflow))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx) }()
	defer func() { cancel(); <-done }()
	r.Next(t) // 503
	var alerts []Alert
	require.NoError(t, json.Unmarshal(r.Next(t).Body, &alerts))
	var ids []string
	for _, a := range alerts {
		ids = append(ids, a.Annotations["beamctl_alarm_id"])
	}
	require.Equal(t, []string{"100", "3", "4", "5"}, ids, "the active alert, then the three newest resolved")
	require.Eventually(t, func() bool { return l.Sent() >= 4 }, 5*time.Second, 5*time.Millisecond)
	l.Add(active) // a change: sent at once, without the resolved ones
	require.NoError(t, json.Unmarshal(r.Next(t).Body, &alerts))
	require.Len(t, alerts, 1)
	require.Equal(t, "100", alerts[0].Annotations["beamctl_alarm_id"])
	require.Equal(t, uint64(1), l.Failed())
}
