// Package alertmanager sends alarms to Prometheus Alertmanager (POST
// /api/v2/alerts). It is given state, not changes (notify.Options.Resend):
// every active alarm is sent again each resend interval with an endsAt a
// few intervals ahead, as Prometheus does, so that Alertmanager's own
// dedup, grouping, silences and HA work, and an alarm whose beamctl went
// away resolves by itself; a cleared alarm is sent with its clear time as
// endsAt.
package alertmanager

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/beamctl/beamctl/internal/notify"
	"github.com/beamctl/beamctl/internal/notify/webhook"
)

// Options configure an Alertmanager notifier.
type Options struct {
	URL string // Alertmanager's base URL, e.g. http://localhost:9093
	// Resend is how often the alarms are sent again; endsAt is four of
	// them ahead.
	Resend time.Duration
	// ExternalURL is beamctl's own URL, for the alerts' generatorURL.
	ExternalURL string
	Client      *http.Client
}

type notifier struct{ o Options }

// New makes an Alertmanager notifier.
func New(o Options) (notify.Notifier, error) {
	if err := webhook.CheckURL(o.URL); err != nil {
		return nil, err
	}
	if o.Resend <= 0 {
		o.Resend = time.Minute
	}
	return &notifier{o}, nil
}

// Alert is an alert in Alertmanager's API.
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Notify posts all the alerts in one request.
func (n *notifier) Notify(ctx context.Context, alerts ...notify.Alert) (bool, error) {
	now := time.Now()
	out := make([]Alert, 0, len(alerts))
	for _, a := range alerts {
		out = append(out, n.alert(a.Alarm, now))
	}
	b, err := json.Marshal(out)
	if err != nil {
		return false, fmt.Errorf("encode alerts: %w", err)
	}
	return notify.Post(ctx, n.o.Client, strings.TrimSuffix(n.o.URL, "/")+"/api/v2/alerts", "application/json", b, n.o.URL)
}

func (n *notifier) alert(a notify.Alarm, now time.Time) Alert {
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
	out := Alert{Labels: labels, Annotations: ann, StartsAt: a.RaisedAt, EndsAt: now.Add(4 * n.o.Resend)}
	if a.ClearedAt != nil {
		out.EndsAt = *a.ClearedAt
	}
	if n.o.ExternalURL != "" {
		out.GeneratorURL = strings.TrimSuffix(n.o.ExternalURL, "/") + "/api/v1/alarms/" + strconv.FormatInt(a.ID, 10)
	}
	return out
}
