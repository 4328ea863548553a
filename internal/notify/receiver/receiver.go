// Package receiver builds the alarm destinations of a configuration: one
// notify.Options per Alertmanager and per notifier, each with its
// integration's Notifier. It is the one place that knows every
// integration.
package receiver

import (
	"errors"
	"fmt"
	"time"

	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/notify"
	"github.com/beamctl/beamctl/internal/notify/alertmanager"
	"github.com/beamctl/beamctl/internal/notify/email"
	"github.com/beamctl/beamctl/internal/notify/pagerduty"
	"github.com/beamctl/beamctl/internal/notify/slack"
	"github.com/beamctl/beamctl/internal/notify/webhook"
	"github.com/beamctl/beamctl/internal/redact"
)

// Destination is one configured destination. Its Options lack what the
// app adds (Logger, OnFailure and, with Resend, Active).
type Destination struct {
	// Key is the destination's whole configuration: a destination whose
	// key did not change keeps running over a reload. It holds secrets;
	// never print it.
	Key     string
	Options notify.Options
}

// Build makes the destinations of cfg: the Alertmanagers
// ("alertmanager[i]") first, then the notifiers ("notifiers[i]").
// externalURL is beamctl's own URL, for Alertmanager's generatorURL. The
// error joins one sentence per destination that cannot be built, and
// repeats no secret.
func Build(cfg config.Alarms, externalURL string) ([]Destination, error) {
	var out []Destination
	var errs []error
	resend := time.Duration(cfg.ResendInterval)
	if resend <= 0 {
		resend = time.Minute
	}
	for i, u := range cfg.Alertmanager {
		n, err := alertmanager.New(alertmanager.Options{URL: u, Resend: resend, ExternalURL: externalURL})
		if err != nil {
			errs = append(errs, fmt.Errorf("alarms.alertmanager[%d]: %w", i, err))
			continue
		}
		out = append(out, Destination{Key: fmt.Sprintf("alertmanager %q %v %q", u, resend, externalURL),
			Options: notify.Options{Name: fmt.Sprintf("alertmanager[%d]", i), Integration: "alertmanager", URL: u, Notifier: n,
				Secrets: redact.URLSecrets(u), Resend: resend}})
	}
	for i, c := range cfg.Notifiers {
		integration := c.Format
		if integration == "" {
			integration = "webhook"
		}
		var n notify.Notifier
		var err error
		secrets, shown := redact.URLSecrets(c.URL), c.URL
		switch integration {
		case "webhook":
			n, err = webhook.New(webhook.Options{URL: c.URL})
		case "slack":
			n, err = slack.New(slack.Options{URL: c.URL})
		case "pagerduty":
			n, err = pagerduty.New(pagerduty.Options{URL: c.URL, RoutingKey: c.RoutingKey})
			secrets = append(secrets, c.RoutingKey)
		case "email":
			n, err = email.New(email.Options{SMTP: c.SMTP, From: c.From, To: c.To, Username: c.Username, Password: c.Password})
			secrets, shown = []string{c.Password}, "smtp://"+c.SMTP
		default:
			err = fmt.Errorf("format must be webhook, pagerduty, slack or email, not %q", c.Format)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("alarms.notifiers[%d]: %w", i, err))
			continue
		}
		out = append(out, Destination{Key: fmt.Sprintf("notifier %d %+v", i, c),
			Options: notify.Options{Name: fmt.Sprintf("notifiers[%d]", i), Integration: integration, URL: shown, Notifier: n, Secrets: secrets}})
	}
	return out, errors.Join(errs...)
}
