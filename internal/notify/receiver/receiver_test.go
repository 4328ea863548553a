package receiver

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/config"
)

func TestBuild(t *testing.T) {
	cfg := config.Alarms{
		Alertmanager: []string{"http://am1:9093", "http://am2:9093"},
		Notifiers: []config.Notifier{
			{URL: "https://hooks.example.com/t0ken"},
			{Format: "slack", URL: "https://hooks.slack.com/services/T/B/s3cret"},
			{Format: "pagerduty", URL: "https://events.pagerduty.com/v2/enqueue", RoutingKey: "R0UT1NG"},
			{Format: "email", SMTP: "mail:25", From: "a@b", To: []string{"c@d"}, Username: "u", Password: "pw"},
		},
	}
	ds, err := Build(cfg, "http://beamctl:9464")
	require.NoError(t, err)
	var names, integrations []string
	for _, d := range ds {
		names = append(names, d.Options.Name)
		integrations = append(integrations, d.Options.Integration)
	}
	require.Equal(t, []string{"alertmanager[0]", "alertmanager[1]", "notifiers[0]", "notifiers[1]", "notifiers[2]", "notifiers[3]"}, names)
	require.Equal(t, []string{"alertmanager", "alertmanager", "webhook", "slack", "pagerduty", "email"}, integrations)
	require.Positive(t, ds[0].Options.Resend, "Alertmanager is sent state")
	require.Zero(t, ds[2].Options.Resend)
	require.Contains(t, ds[3].Options.Secrets, "https://hooks.slack.com/services/T/B/s3cret")
	require.Contains(t, ds[4].Options.Secrets, "R0UT1NG")
	require.Contains(t, ds[5].Options.Secrets, "pw")
	again, err := Build(cfg, "http://beamctl:9464")
	require.NoError(t, err)
	require.Equal(t, ds[3].Key, again[3].Key, "same configuration, same key: it keeps running over a reload")
	cfg.Notifiers[1].URL += "x"
	changed, err := Build(cfg, "http://beamctl:9464")
	require.NoError(t, err)
	require.NotEqual(t, ds[3].Key, changed[3].Key)
}

// TestBuildErrors: every destination that cannot be built, one sentence
// each, none repeating a secret.
func TestBuildErrors(t *testing.T) {
	cfg := config.Alarms{
		Alertmanager: []string{"am1:9093"},
		Notifiers: []config.Notifier{
			{URL: "hooks.example.com/t0ken"},
			{Format: "pagerduty", URL: "https://events.pagerduty.com/v2/enqueue"},
			{Format: "email", SMTP: "mail", Password: "pw"},
			{Format: "teams", URL: "https://x/t0ken"},
			{Format: "slack", URL: "https://hooks.slack.com/services/T/B/s3cret"},
		},
	}
	ds, err := Build(cfg, "")
	require.EqualError(t, err, `alarms.alertmanager[0]: url is not an http(s) URL
alarms.notifiers[0]: url is not an http(s) URL
alarms.notifiers[1]: pagerduty needs routing_key
alarms.notifiers[2]: email needs smtp as host:port
email needs from and to
alarms.notifiers[3]: format must be webhook, pagerduty, slack or email, not "teams"`)
	require.Len(t, ds, 1, "the good one is built")
	require.Equal(t, "notifiers[4]", ds[0].Options.Name)
}
