// Package pagerduty sends alarm changes to PagerDuty's Events API v2: a
// raise, a change of severity, flapping or an unack triggers, an ack
// acknowledges and a clear resolves, all with one dedup_key per alarm, so
// that an alarm is one incident. The routing key is a secret.
package pagerduty

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/beamctl/beamctl/internal/notify"
	"github.com/beamctl/beamctl/internal/notify/webhook"
	"github.com/beamctl/beamctl/internal/severity"
)

// DefaultURL is the Events API v2 endpoint.
const DefaultURL = "https://events.pagerduty.com/v2/enqueue"

// Options configure a PagerDuty notifier.
type Options struct {
	URL        string // DefaultURL if empty
	RoutingKey string // the integration key
	Client     *http.Client
}

type notifier struct{ o Options }

// New makes a PagerDuty notifier.
func New(o Options) (notify.Notifier, error) {
	if o.URL == "" {
		o.URL = DefaultURL
	}
	var errs []error
	if err := webhook.CheckURL(o.URL); err != nil {
		errs = append(errs, err)
	}
	if o.RoutingKey == "" {
		errs = append(errs, errors.New("pagerduty needs routing_key"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &notifier{o}, nil
}

// Notify sends each alert in turn as an event, stopping at the first
// failure; a change PagerDuty has no action for (a comment) is skipped.
func (n *notifier) Notify(ctx context.Context, alerts ...notify.Alert) (bool, error) {
	for _, a := range alerts {
		ev, ok := event(a, n.o.RoutingKey)
		if !ok {
			continue
		}
		b, err := json.Marshal(ev)
		if err != nil {
			return false, notify.Redact(fmt.Errorf("encode alarm %d: %w", a.Alarm.ID, err), n.o.RoutingKey)
		}
		if retry, err := notify.Post(ctx, n.o.Client, n.o.URL, "application/json", b, n.o.RoutingKey); err != nil {
			return retry, err
		}
	}
	return false, nil
}

// event is an Events API v2 event; ok is false when there is nothing to say.
func event(x notify.Alert, routingKey string) (ev map[string]any, ok bool) {
	a := x.Alarm
	action := ""
	switch x.Event.Kind {
	case "raised", "escalated", "deescalated", "flapping", "unacked":
		action = "trigger"
	case "acked":
		action = "acknowledge"
	case "cleared", "cleared_by_operator":
		action = "resolve"
	default:
		return nil, false
	}
	ev = map[string]any{"routing_key": routingKey, "event_action": action, "dedup_key": "beamctl-" + strconv.FormatInt(a.ID, 10)}
	if action == "trigger" {
		summary := fmt.Sprintf("[%s] %s: %s", a.Severity, a.Rule, a.Description)
		if len(summary) > 1024 {
			summary = summary[:1024]
		}
		ev["payload"] = map[string]any{"summary": summary, "source": a.Where(), "severity": pdSeverity(a.Severity),
			"component": a.Rule, "group": a.Cluster, "timestamp": a.RaisedAt.UTC().Format(time.RFC3339),
			"custom_details": map[string]any{"value": notify.JSONValue(a.Value), "subject": a.Subject, "evidence": a.Evidence, "beamctl_alarm_id": a.ID}}
	}
	return ev, true
}

// severity maps an alarm's severity to PagerDuty's.
func pdSeverity(l severity.Level) string {
	switch l {
	case severity.Critical:
		return "critical"
	case severity.Major:
		return "error"
	case severity.Minor:
		return "warning"
	}
	return "info"
}
