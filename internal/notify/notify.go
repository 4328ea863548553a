// Package notify delivers alarm changes to the places operators look:
// one package per integration below it (webhook, pagerduty, slack, email,
// alertmanager), each a Notifier, and here the pieces they share: the
// Alert they are given, one delivery loop per destination (a bounded
// queue, retries with backoff that honour Retry-After, no retry of a
// message the receiver rejected), the HTTP post with its retry rules, the
// redaction of secrets and the delivery metrics.
//
// A destination's credentials (a Slack or webhook URL is one, a PagerDuty
// routing key, an SMTP password) never appear in an error, a log line or
// a metric label: destinations are named by their place in the
// configuration ("notifiers[0]"), and every error a notifier returns has
// its secrets replaced (Redact).
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"time"

	"github.com/beamctl/beamctl/internal/redact"
	"github.com/beamctl/beamctl/internal/severity"
)

// Notifier delivers alerts to one destination. Notify returns nil once
// the destination took all of them; otherwise retry tells whether trying
// the same alerts again may succeed (the destination is down, overloaded
// or rate-limiting) or not (it rejected them: a 4xx other than 429, a
// permanent SMTP error). The error never carries the destination's
// secrets. A Notifier is safe for concurrent use.
type Notifier interface {
	Notify(ctx context.Context, alerts ...Alert) (retry bool, err error)
}

// Alert is what a notifier is told: an alarm as it is after one change,
// and the change. The app fills it from the alarm engine's changes, so
// that notifiers depend on nothing of the engine.
type Alert struct {
	Alarm Alarm
	Event Event
}

// Alarm is an alarm's state; its JSON is the alarm's in the HTTP API.
type Alarm struct {
	ID          int64             `json:"id"`
	Rule        string            `json:"rule"`
	Cluster     string            `json:"cluster"`
	Node        string            `json:"node,omitempty"`
	Subject     string            `json:"subject,omitempty"`
	Severity    severity.Level    `json:"severity"` // critical, major, minor or warning
	Active      bool              `json:"active"`
	RaisedAt    time.Time         `json:"raised_at"`
	ClearedAt   *time.Time        `json:"cleared_at,omitempty"`
	Value       float64           `json:"value"`
	Description string            `json:"description"`
	Evidence    []string          `json:"evidence,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Flapping    bool              `json:"flapping,omitempty"`
	AckedBy     string            `json:"acked_by,omitempty"`
	AckedAt     *time.Time        `json:"acked_at,omitempty"`
}

// MarshalJSON writes a value JSON cannot hold (a rule's x/0 is +Inf) as
// null, rather than failing to encode the alarm at all.
func (a Alarm) MarshalJSON() ([]byte, error) {
	type plain Alarm
	return json.Marshal(struct {
		plain
		Value any `json:"value"`
	}{plain(a), JSONValue(a.Value)})
}

// JSONValue is v, or nil when JSON cannot hold it (±Inf, NaN).
func JSONValue(v float64) any {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return nil
	}
	return v
}

// Where is the alarm's node, or its cluster when it is about the whole
// cluster.
func (a Alarm) Where() string {
	if a.Node != "" {
		return a.Node
	}
	return a.Cluster
}

// Event is one change of an alarm.
type Event struct {
	Time time.Time `json:"time"`
	Kind string    `json:"kind"` // raised, escalated, deescalated, flapping, cleared, acked, unacked, commented, cleared_by_operator
	Who  string    `json:"who,omitempty"`
	Text string    `json:"text,omitempty"`
}

// Redacted replaces a secret in error texts.
const Redacted = redact.Redacted

// Redact returns err with every non-empty secret in its text replaced by
// Redacted; nil stays nil. The result still unwraps to err, so that
// errors.As finds an *HTTPError (its Retry-After) in it.
func Redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	text := RedactString(err.Error(), secrets...)
	if text == err.Error() {
		return err
	}
	return &redacted{text: text, err: err}
}

// RedactString replaces every non-empty secret in s by Redacted.
func RedactString(s string, secrets ...string) string { return redact.String(s, secrets...) }

type redacted struct {
	text string
	err  error
}

func (r *redacted) Error() string { return r.text }

// Unwrap gives errors.As the typed error, e.g. an *HTTPError's status
// and Retry-After, never its text.
func (r *redacted) Unwrap() error {
	var h *HTTPError
	if errors.As(r.err, &h) {
		return &HTTPError{StatusCode: h.StatusCode, RetryAfter: h.RetryAfter}
	}
	return nil
}
