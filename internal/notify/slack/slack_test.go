package slack

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/notify"
	"github.com/beamctl/beamctl/internal/notify/notifytest"
)

func TestConformance(t *testing.T) {
	notifytest.HTTP(t, "slack", func(t *testing.T, url string) (notify.Notifier, []string) {
		n, err := New(Options{URL: url})
		require.NoError(t, err)
		return n, []string{url, notifytest.SecretPath}
	})
}

// TestMessages posts an alarm's life to a loopback receiver, as to a
// Slack incoming webhook, and reads the lines.
func TestMessages(t *testing.T) {
	r := notifytest.NewReceiver(t)
	n, err := New(Options{URL: r.URL + notifytest.SecretPath})
	require.NoError(t, err)
	changes := notifytest.Changes()
	empty := changes[2]
	empty.Event.Text = ""
	_, err = n.Notify(context.Background(), append(changes, empty)...)
	require.NoError(t, err)
	var got []string
	for range changes { // the empty comment is not posted
		var m map[string]string
		require.NoError(t, json.Unmarshal(r.Next(t).Body, &m))
		got = append(got, m["text"])
	}
	require.Equal(t, []string{
		":red_circle: *[CRITICAL] scripted* on a@h: value critical (raised)",
		":red_circle: *[CRITICAL] scripted* on a@h: value critical (acked by alice)",
		":red_circle: *[CRITICAL] scripted* on a@h: value critical (commented by alice: draining it)",
		":large_green_circle: *[CRITICAL] scripted* on a@h: value critical (cleared)",
	}, got)
	require.Empty(t, r.Got)
}
