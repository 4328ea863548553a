package app

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/alarm"
	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/notify"
	"github.com/beamctl/beamctl/internal/notify/notifytest"
	"github.com/beamctl/beamctl/internal/testnode"
)

// TestAlertOf: what notifiers are told about an alarm change.
func TestAlertOf(t *testing.T) {
	raised := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	acked := raised.Add(time.Minute)
	c := alarm.Change{
		Alarm: alarm.Alarm{ID: 3, Rule: "process_limit", Cluster: "c", Node: "a@h", Subject: "s", Severity: alarm.Major, Active: true,
			RaisedAt: raised, Value: 0.9, Description: "d", Evidence: []string{"e"}, Labels: map[string]string{"team": "db"},
			Annotations: map[string]string{"runbook": "r"}, Flapping: true, AckedBy: "alice", AckedAt: &acked},
		Event: alarm.Event{Time: acked, Kind: alarm.Acked, Who: "alice", Text: "t"},
	}
	require.Equal(t, notify.Alert{
		Alarm: notify.Alarm{ID: 3, Rule: "process_limit", Cluster: "c", Node: "a@h", Subject: "s", Severity: alarm.Major, Active: true,
			RaisedAt: raised, Value: 0.9, Description: "d", Evidence: []string{"e"}, Labels: map[string]string{"team": "db"},
			Annotations: map[string]string{"runbook": "r"}, Flapping: true, AckedBy: "alice", AckedAt: &acked},
		Event: notify.Event{Time: acked, Kind: "acked", Who: "alice", Text: "t"},
	}, alertOf(c))
}

// TestDeliveryRejected: a Slack webhook rejects the first alarm (404, as
// for a revoked hook) and fails the next once (503): the rejected alarm is
// dropped, not retried, so the next one still arrives; both failures are
// recorded and counted, and the URL, the credential, appears in neither
// the notifications nor /metrics.
func TestDeliveryRejected(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	r := notifytest.NewReceiver(t, notifytest.Answer{Status: http.StatusNotFound}, notifytest.Answer{Status: http.StatusServiceUnavailable})
	hookURL := r.URL + notifytest.SecretPath
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 300ms, collect_timeout: 300ms, discover_interval: 300ms}
clusters:
  - {name: d, cookie: %s, nodes: [%s]}
alarms:
  interval: 1s
  rules:
    - {name: first, expr: "erlang_vm_processes > 0", severity: warning}
    - {name: second, expr: "erlang_vm_processes > 0", severity: warning}
  notifiers: [{format: slack, url: "%s"}]
`, n.Cookie, n.Name, hookURL)), t.TempDir())
	require.NoError(t, err)
	srv := startApp(t, cfg, t.TempDir())
	defer srv.Stop()
	base := "http://" + srv.Addr()
	rejected, failed, retried := r.Next(t), r.Next(t), r.Next(t)
	require.NotEqual(t, string(rejected.Body), string(failed.Body), "the rejected alarm is not tried again")
	require.Equal(t, string(failed.Body), string(retried.Body), "the failed one is")
	require.Contains(t, string(retried.Body), "(raised)")

	var failures []journal.Notification
	require.Eventually(t, func() bool {
		failures = notes(t, base, url.Values{"kind": {"alarm_delivery_failed"}})
		return len(failures) == 2
	}, 10*time.Second, 50*time.Millisecond)
	var texts []string
	for _, f := range failures {
		texts = append(texts, f.Text)
	}
	all := strings.Join(texts, "\n")
	require.Contains(t, all, "Alarm destination notifiers[0] (slack) rejected 1 alert(s), dropped them: HTTP 404")
	require.Contains(t, all, "Alarm destination notifiers[0] (slack) failed, retrying in 1s: HTTP 503")
	notifytest.NoSecret(t, all, []string{hookURL, notifytest.SecretPath})

	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	self, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Contains(t, string(self), `beamctl_alarm_deliveries_dropped_total{destination="notifiers[0]",integration="slack",reason="rejected"} 1`)
	require.Contains(t, string(self), `beamctl_alarm_deliveries_total{destination="notifiers[0]",integration="slack",result="failed"} 1`)
	notifytest.NoSecret(t, string(self), []string{hookURL, notifytest.SecretPath})
}
