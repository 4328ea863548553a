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
)

// receiver is a local endpoint that decodes what arrives; it fails the
// first request, so that retries are exercised.
type receiver struct {
	mu     sync.Mutex
	got    []map[string]any
	failed bool
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.failed {
		r.failed = true
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	var m map[string]any
	if err := json.NewDecoder(req.Body).Decode(&m); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.got = append(r.got, m)
}

func (r *receiver) messages() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.got...)
}

// TestWebhooks raises, acknowledges and clears an alarm and checks what a
// generic webhook, a PagerDuty Events v2 endpoint and a Slack incoming
// webhook receive.
func TestWebhooks(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, err := Open(ctx, Options{Dir: t.TempDir()})
	require.NoError(t, err)
	defer e.Close()
	r := &scripted{}
	e.SetRules([]Rule{r})
	recv := map[string]*receiver{"webhook": {}, "pagerduty": {}, "slack": {}}
	hooks := map[string]*Webhook{}
	var failures []error
	var fmu sync.Mutex
	for format, rc := range recv {
		srv := httptest.NewServer(rc)
		defer srv.Close()
		w := &Webhook{Format: format, URL: srv.URL, RoutingKey: "R0UT1NG", OnFailure: func(err error) {
			fmu.Lock()
			failures = append(failures, err)
			fmu.Unlock()
		}}
		hooks[format] = w
		go w.Run(ctx, e)
	}
	time.Sleep(50 * time.Millisecond) // subscribed
	r.obs = holds(Critical, 7)
	e.Evaluate(ctx, time.Now())
	id := e.Active()[0].ID
	_, err = e.Ack(ctx, id, "alice")
	require.NoError(t, err)
	r.obs = nil
	e.Evaluate(ctx, time.Now())
	for format, rc := range recv {
		require.Eventually(t, func() bool { return len(rc.messages()) == 3 }, 10*time.Second, 20*time.Millisecond, format)
	}

	wh := recv["webhook"].messages()
	require.Equal(t, "raised", wh[0]["event"].(map[string]any)["kind"])
	require.Equal(t, "critical", wh[0]["alarm"].(map[string]any)["severity"])
	require.Equal(t, "alice", wh[1]["event"].(map[string]any)["who"])
	require.Equal(t, "cleared", wh[2]["event"].(map[string]any)["kind"])

	pd := recv["pagerduty"].messages()
	require.Equal(t, []any{"trigger", "acknowledge", "resolve"}, []any{pd[0]["event_action"], pd[1]["event_action"], pd[2]["event_action"]})
	require.Equal(t, "R0UT1NG", pd[0]["routing_key"])
	require.Equal(t, pd[0]["dedup_key"], pd[2]["dedup_key"], "one incident per alarm")
	payload := pd[0]["payload"].(map[string]any)
	require.Equal(t, "critical", payload["severity"])
	require.Equal(t, "a@h", payload["source"])
	require.Equal(t, "[critical] scripted: value critical", payload["summary"])

	sl := recv["slack"].messages()
	require.Equal(t, ":red_circle: *[CRITICAL] scripted* on a@h: value critical (raised)", sl[0]["text"])
	require.Equal(t, ":red_circle: *[CRITICAL] scripted* on a@h: value critical (acked by alice)", sl[1]["text"])
	require.Equal(t, ":large_green_circle: *[CRITICAL] scripted* on a@h: value critical (cleared)", sl[2]["text"])

	for format, w := range hooks {
		require.Equal(t, uint64(1), w.Failed.Load(), "%s: the first post failed and was retried", format)
		require.Eventually(t, func() bool { return w.Sent.Load() == 3 }, 5*time.Second, 10*time.Millisecond, "%s: counted once answered", format)
	}
	fmu.Lock()
	require.Len(t, failures, 3, "each failure reported")
	fmu.Unlock()
}
