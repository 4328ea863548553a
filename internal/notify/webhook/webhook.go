// Package webhook posts each alarm change to a URL as generic JSON:
// {"version": "1", "event": {...}, "alarm": {...}}, the alarm as the
// HTTP API shows it. The URL may hold a token, so it is a secret.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/beamctl/beamctl/internal/notify"
)

// Options configure a webhook notifier.
type Options struct {
	URL    string
	Client *http.Client // http.DefaultClient if nil
}

type notifier struct{ o Options }

// New makes a webhook notifier; an error never repeats the URL.
func New(o Options) (notify.Notifier, error) {
	if err := CheckURL(o.URL); err != nil {
		return nil, err
	}
	return &notifier{o}, nil
}

// CheckURL wants an http(s) URL; its error does not repeat the URL, which
// may be a credential.
func CheckURL(u string) error {
	if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return errors.New("url is not an http(s) URL")
	}
	return nil
}

// Message is what the webhook receives.
type Message struct {
	Version string       `json:"version"`
	Event   notify.Event `json:"event"`
	Alarm   notify.Alarm `json:"alarm"`
}

// Notify posts each alert in turn, stopping at the first failure.
func (n *notifier) Notify(ctx context.Context, alerts ...notify.Alert) (bool, error) {
	for _, a := range alerts {
		b, err := json.Marshal(Message{Version: "1", Event: a.Event, Alarm: a.Alarm})
		if err != nil {
			return false, fmt.Errorf("encode alarm %d: %w", a.Alarm.ID, err)
		}
		if retry, err := notify.Post(ctx, n.o.Client, n.o.URL, "application/json", b); err != nil {
			return retry, err
		}
	}
	return false, nil
}
