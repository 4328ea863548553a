package alarm

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/testsrv"
)

// webhookMessage is what Alertmanager's webhook receiver posts.
type webhookMessage struct {
	Status string `json:"status"`
	Alerts []struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"alerts"`
}

// TestAlertmanager raises and clears an alarm and checks that a real
// Alertmanager routes it, firing then resolved, to a webhook receiver.
func TestAlertmanager(t *testing.T) {
	var mu sync.Mutex
	var got []webhookMessage
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m webhookMessage
		require.NoError(t, json.NewDecoder(r.Body).Decode(&m))
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	}))
	defer hook.Close()
	am := &Alertmanager{URLs: []string{testsrv.Alertmanager(t, hook.URL, 100*time.Millisecond)}, Resend: 500 * time.Millisecond, ExternalURL: "http://beamctl:9464"}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, err := Open(ctx, Options{Dir: t.TempDir()})
	require.NoError(t, err)
	defer e.Close()
	r := &scripted{}
	e.SetRules([]Rule{r})
	go am.Run(ctx, e)
	r.obs = holds(Major, 42)
	r.obs[0].Labels = map[string]string{"team": "db", "severity": "ignored: beamctl's own wins"}
	r.obs[0].Annotations = map[string]string{"runbook": "https://runbooks/x"}
	e.Evaluate(ctx, time.Now())
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
	require.Equal(t, map[string]string{"alertname": "scripted", "severity": "major", "cluster": "c", "node": "a@h", "source": "beamctl", "team": "db"}, a.Labels)
	require.Equal(t, "https://runbooks/x", a.Annotations["runbook"])
	require.Equal(t, "value major", a.Annotations["description"])
	require.Equal(t, "42", a.Annotations["value"])

	r.obs = nil
	e.Evaluate(ctx, time.Now())
	require.Eventually(t, status("resolved"), 20*time.Second, 50*time.Millisecond)
	require.Zero(t, am.Failed.Load())
}
