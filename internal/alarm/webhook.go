package alarm

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Webhook delivers every alarm change to a URL as a generic JSON webhook,
// a PagerDuty Events API v2 event (trigger, acknowledge, resolve with a
// dedup_key per alarm) or a Slack incoming-webhook message, or by e-mail
// through an SMTP server. Changes wait
// in a bounded queue; a post that fails is retried with backoff (1 s to
// 1 min) until it succeeds, each failure counted and reported to
// OnFailure, so a broken notifier is never silent.
type Webhook struct {
	Format     string // webhook (default), pagerduty, slack or email
	URL        string
	RoutingKey string // PagerDuty integration key
	// SMTP (host:port), From and To are the e-mail format's; Username and
	// Password, if set, authenticate (PLAIN, which net/smtp allows only
	// over TLS or to localhost).
	SMTP, From         string
	To                 []string
	Username, Password string
	Logger             *slog.Logger
	// OnFailure is told about each failed attempt (e.g. to record a
	// notification).
	OnFailure func(err error)

	Sent, Failed, Dropped atomic.Uint64
	queue                 chan Change
}

// Run delivers until ctx ends.
func (w *Webhook) Run(ctx context.Context, e *Engine) {
	if w.Logger == nil {
		w.Logger = slog.New(slog.DiscardHandler)
	}
	w.queue = make(chan Change, 1000)
	unsubscribe := e.OnChange(func(c Change) {
		select {
		case w.queue <- c:
		default:
			w.Dropped.Add(1)
		}
	})
	defer unsubscribe()
	for {
		select {
		case <-ctx.Done():
			return
		case c := <-w.queue:
			body, ok, err := w.payload(c)
			if err != nil {
				w.Logger.Error("Cannot encode an alarm", "url", w.URL, "err", err)
				continue
			}
			if !ok {
				continue // nothing to say in this format
			}
			backoff := time.Second
			for {
				err := w.deliver(ctx, body)
				if err == nil {
					w.Sent.Add(1)
					break
				}
				w.Failed.Add(1)
				w.Logger.Warn("Alarm notifier failed; retrying", "format", w.Format, "url", w.URL, "err", err, "in", backoff)
				if w.OnFailure != nil {
					w.OnFailure(fmt.Errorf("%s %s: %w", w.format(), w.URL+w.SMTP, err))
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, time.Minute)
			}
		}
	}
}

func (w *Webhook) format() string {
	if w.Format == "" {
		return "webhook"
	}
	return w.Format
}

// payload encodes a change; ok is false when the format has nothing to
// say about it (a comment for PagerDuty or Slack).
func (w *Webhook) payload(c Change) (b []byte, ok bool, err error) {
	a := c.Alarm
	switch w.format() {
	case "pagerduty":
		action := ""
		switch c.Event.Kind.String() {
		case "raised", "escalated", "deescalated", "flapping", "unacked":
			action = "trigger"
		case "acked":
			action = "acknowledge"
		case "cleared", "cleared_by_operator":
			action = "resolve"
		default:
			return nil, false, nil
		}
		ev := map[string]any{"routing_key": w.RoutingKey, "event_action": action, "dedup_key": "beamctl-" + strconv.FormatInt(a.ID, 10)}
		if action == "trigger" {
			source := a.Node
			if source == "" {
				source = a.Cluster
			}
			summary := fmt.Sprintf("[%s] %s: %s", a.Severity, a.Rule, a.Description)
			if len(summary) > 1024 {
				summary = summary[:1024]
			}
			ev["payload"] = map[string]any{"summary": summary, "source": source, "severity": pagerDutySeverity(a.Severity),
				"component": a.Rule, "group": a.Cluster, "timestamp": a.RaisedAt.UTC().Format(time.RFC3339),
				"custom_details": map[string]any{"value": a.Value, "subject": a.Subject, "evidence": a.Evidence, "beamctl_alarm_id": a.ID}}
		}
		b, err = json.Marshal(ev)
	case "slack":
		if c.Event.Kind == Commented && c.Event.Text == "" {
			return nil, false, nil
		}
		where := a.Node
		if where == "" {
			where = a.Cluster
		}
		text := fmt.Sprintf("%s *[%s] %s* on %s: %s (%s", slackIcon(a, c.Event.Kind.String()), strings.ToUpper(a.Severity.String()), a.Rule, where,
			a.Description, c.Event.Kind)
		if c.Event.Who != "" {
			text += " by " + c.Event.Who
		}
		if c.Event.Kind == Commented {
			text += ": " + c.Event.Text
		}
		b, err = json.Marshal(map[string]string{"text": text + ")"})
	case "webhook":
		b, err = json.Marshal(map[string]any{"version": "1", "event": c.Event, "alarm": a})
	case "email":
		b = w.mail(c)
	default:
		return nil, false, fmt.Errorf("notifier format %q is not webhook, pagerduty, slack or email", w.Format)
	}
	return b, err == nil, err
}

func pagerDutySeverity(s Severity) string {
	switch s {
	case Critical:
		return "critical"
	case Major:
		return "error"
	case Minor:
		return "warning"
	}
	return "info"
}

func slackIcon(a Alarm, kind string) string {
	switch {
	case kind == "cleared" || kind == "cleared_by_operator":
		return ":large_green_circle:"
	case a.Severity == Critical || a.Severity == Major:
		return ":red_circle:"
	}
	return ":large_yellow_circle:"
}

// mail writes an e-mail (RFC 5322) about a change.
func (w *Webhook) mail(c Change) []byte {
	a := c.Alarm
	where := a.Node
	if where == "" {
		where = a.Cluster
	}
	subject := fmt.Sprintf("[beamctl] %s %s on %s: %s", strings.ToUpper(a.Severity.String()), a.Rule, where, c.Event.Kind)
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <beamctl-alarm-%d-%d@beamctl>\r\n",
		w.From, strings.Join(w.To, ", "), mime.QEncoding.Encode("utf-8", subject), c.Event.Time.Format(time.RFC1123Z), a.ID, c.Event.Time.UnixNano())
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	fmt.Fprintf(&b, "%s\r\n\r\nAlarm %d: %s, %s, %s on %s (cluster %s).\r\nValue: %g\r\nRaised at: %s\r\n",
		a.Description, a.ID, c.Event.Kind, a.Severity, a.Rule, where, a.Cluster, a.Value, a.RaisedAt.Format(time.RFC3339))
	if c.Event.Who != "" {
		fmt.Fprintf(&b, "By: %s\r\n", c.Event.Who)
	}
	if c.Event.Text != "" {
		fmt.Fprintf(&b, "Note: %s\r\n", c.Event.Text)
	}
	for _, e := range a.Evidence {
		fmt.Fprintf(&b, "Evidence: %s\r\n", e)
	}
	return []byte(b.String())
}

func (w *Webhook) deliver(ctx context.Context, body []byte) error {
	if w.format() != "email" {
		return postJSON(ctx, w.URL, body)
	}
	var auth smtp.Auth
	if w.Username != "" {
		host, _, _ := net.SplitHostPort(w.SMTP)
		auth = smtp.PlainAuth("", w.Username, w.Password, host)
	}
	done := make(chan error, 1)
	go func() { done <- smtp.SendMail(w.SMTP, auth, w.From, w.To, body) }() // net/smtp takes no context
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		return fmt.Errorf("smtp %s: no answer in 30s", w.SMTP)
	case <-ctx.Done():
		return ctx.Err()
	}
}
