package alarm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Alertmanager delivers alarms to Prometheus Alertmanager (POST
// /api/v2/alerts): every active alarm is sent again each resend interval
// with an endsAt a few intervals ahead, as Prometheus does, so that
// Alertmanager's own dedup, grouping, silences and HA work, and an alarm
// whose beamctl went away resolves by itself; a cleared alarm is sent with
// its clear time as endsAt. A failed post is tried again at the next
// round and counted.
type Alertmanager struct {
	URLs   []string
	Resend time.Duration
	// ExternalURL is beamctl's own URL, for the alerts' generatorURL.
	ExternalURL string
	Logger      *slog.Logger

	Sent, Failed atomic.Uint64

	mu       sync.Mutex
	resolved []Alarm // cleared, not delivered yet
	kick     chan struct{}
}

type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

func (am *Alertmanager) alert(a Alarm, now time.Time) amAlert {
	labels := map[string]string{}
	for k, v := range a.Labels { // the rule's own labels; beamctl's below win
		labels[k] = v
	}
	for k, v := range map[string]string{"alertname": a.Rule, "severity": a.Severity.String(), "cluster": a.Cluster, "source": "beamctl"} {
		labels[k] = v
	}
	if a.Node != "" {
		labels["node"] = a.Node
	}
	if a.Subject != "" {
		labels["subject"] = a.Subject
	}
	ann := map[string]string{}
	for k, v := range a.Annotations {
		ann[k] = v
	}
	ann["description"], ann["value"], ann["beamctl_alarm_id"] = a.Description, strconv.FormatFloat(a.Value, 'g', -1, 64), strconv.FormatInt(a.ID, 10)
	if len(a.Evidence) > 0 {
		ann["evidence"] = strings.Join(a.Evidence, "\n")
	}
	if a.Flapping {
		ann["flapping"] = "true"
	}
	if a.AckedBy != "" {
		ann["acked_by"] = a.AckedBy
	}
	out := amAlert{Labels: labels, Annotations: ann, StartsAt: a.RaisedAt, EndsAt: now.Add(4 * am.Resend)}
	if a.ClearedAt != nil {
		out.EndsAt = *a.ClearedAt
	}
	if am.ExternalURL != "" {
		out.GeneratorURL = strings.TrimSuffix(am.ExternalURL, "/") + "/api/v1/alarms/" + strconv.FormatInt(a.ID, 10)
	}
	return out
}

// Run sends until ctx ends.
func (am *Alertmanager) Run(ctx context.Context, e *Engine) {
	if am.Logger == nil {
		am.Logger = slog.New(slog.DiscardHandler)
	}
	if am.Resend == 0 {
		am.Resend = time.Minute
	}
	am.kick = make(chan struct{}, 1)
	unsubscribe := e.OnChange(func(c Change) {
		am.mu.Lock()
		if !c.Alarm.Active {
			am.resolved = append(am.resolved, c.Alarm)
		}
		am.mu.Unlock()
		select {
		case am.kick <- struct{}{}:
		default:
		}
	})
	defer unsubscribe()
	t := time.NewTicker(am.Resend)
	defer t.Stop()
	for {
		am.round(ctx, e)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-am.kick:
		}
	}
}

func (am *Alertmanager) round(ctx context.Context, e *Engine) {
	now := time.Now()
	am.mu.Lock()
	resolved := am.resolved
	am.mu.Unlock()
	var alerts []amAlert
	for _, a := range e.Active() {
		alerts = append(alerts, am.alert(a, now))
	}
	for _, a := range resolved {
		alerts = append(alerts, am.alert(a, now))
	}
	if len(alerts) == 0 {
		return
	}
	body, err := json.Marshal(alerts)
	if err != nil {
		am.Logger.Error("Cannot encode alerts", "err", err)
		return
	}
	ok := true
	for _, u := range am.URLs {
		if err := postJSON(ctx, strings.TrimSuffix(u, "/")+"/api/v2/alerts", body); err != nil {
			ok = false
			am.Failed.Add(1)
			am.Logger.Warn("Alertmanager did not take the alerts; trying again", "url", u, "err", err)
			continue
		}
		am.Sent.Add(uint64(len(alerts)))
	}
	if ok {
		am.mu.Lock()
		am.resolved = am.resolved[len(resolved):]
		am.mu.Unlock()
	}
}

// postJSON posts a JSON body and wants a 2xx answer (10 s at most); a
// failure carries the answer's first 4 KiB.
func postJSON(ctx context.Context, url string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return nil
}
