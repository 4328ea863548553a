// Package slack posts alarm changes to a Slack incoming webhook, one line
// each: an icon by severity (green once cleared), the severity, rule,
// node, description and what happened. The webhook URL is the credential.
package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/beamctl/beamctl/internal/notify"
	"github.com/beamctl/beamctl/internal/notify/webhook"
	"github.com/beamctl/beamctl/internal/severity"
)

// Options configure a Slack notifier.
type Options struct {
	URL    string // the incoming webhook's URL
	Client *http.Client
}

type notifier struct{ o Options }

// New makes a Slack notifier; an error never repeats the URL.
func New(o Options) (notify.Notifier, error) {
	if err := webhook.CheckURL(o.URL); err != nil {
		return nil, err
	}
	return &notifier{o}, nil
}

// Notify posts each alert in turn, stopping at the first failure; an
// empty comment is skipped.
func (n *notifier) Notify(ctx context.Context, alerts ...notify.Alert) (bool, error) {
	for _, a := range alerts {
		if a.Event.Kind == "commented" && a.Event.Text == "" {
			continue
		}
		b, err := json.Marshal(map[string]string{"text": Text(a)})
		if err != nil {
			return false, fmt.Errorf("encode alarm %d: %w", a.Alarm.ID, err)
		}
		if retry, err := notify.Post(ctx, n.o.Client, n.o.URL, "application/json", b); err != nil {
			return retry, err
		}
	}
	return false, nil
}

// Text is the message about an alert.
func Text(x notify.Alert) string {
	a := x.Alarm
	text := fmt.Sprintf("%s *[%s] %s* on %s: %s (%s", icon(x), strings.ToUpper(a.Severity.String()), a.Rule, a.Where(), a.Description, x.Event.Kind)
	if x.Event.Who != "" {
		text += " by " + x.Event.Who
	}
	if x.Event.Kind == "commented" {
		text += ": " + x.Event.Text
	}
	return text + ")"
}

func icon(x notify.Alert) string {
	switch {
	case x.Event.Kind == "cleared" || x.Event.Kind == "cleared_by_operator":
		return ":large_green_circle:"
	case x.Alarm.Severity >= severity.Major:
		return ":red_circle:"
	}
	return ":large_yellow_circle:"
}
