package alarm

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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

// startAlertmanager runs a real Alertmanager (Debian package
// prometheus-alertmanager) that routes every alert to webhook.
func startAlertmanager(t *testing.T, webhook string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus-alertmanager")
	require.NoError(t, err, "prometheus-alertmanager not found: install the prometheus-alertmanager package (make test does)")
	dir := t.TempDir()
	conf := fmt.Sprintf(`route:
  receiver: hook
  group_by: [alertname, node]
  group_wait: 100ms
  group_interval: 200ms
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %s
        send_resolved: true
`, webhook)
	cf := filepath.Join(dir, "am.yml")
	require.NoError(t, os.WriteFile(cf, []byte(conf), 0o600))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "--config.file", cf, "--storage.path", filepath.Join(dir, "data"), "--web.listen-address", addr,
		"--cluster.listen-address=")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	}, 20*time.Second, 50*time.Millisecond, "alertmanager did not start: %s", &out)
	return base
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
	am := &Alertmanager{URLs: []string{startAlertmanager(t, hook.URL)}, Resend: 500 * time.Millisecond, ExternalURL: "http://beamctl:9464"}

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
