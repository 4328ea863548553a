package webhook

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/notify"
	"github.com/beamctl/beamctl/internal/notify/notifytest"
)

func TestConformance(t *testing.T) {
	notifytest.HTTP(t, "webhook", func(t *testing.T, url string) (notify.Notifier, []string) {
		n, err := New(Options{URL: url})
		require.NoError(t, err)
		return n, []string{url, notifytest.SecretPath}
	})
}

// TestMessages posts an alarm's life to a loopback receiver and decodes
// what arrives.
func TestMessages(t *testing.T) {
	r := notifytest.NewReceiver(t)
	n, err := New(Options{URL: r.URL + "/hook"})
	require.NoError(t, err)
	_, err = n.Notify(context.Background(), notifytest.Changes()...)
	require.NoError(t, err)
	var got []map[string]any
	for range notifytest.Changes() {
		req := r.Next(t)
		require.Equal(t, "/hook", req.Path)
		var m map[string]any
		require.NoError(t, json.Unmarshal(req.Body, &m))
		got = append(got, m)
	}
	ev := func(i int) map[string]any { return got[i]["event"].(map[string]any) }
	require.Equal(t, "1", got[0]["version"])
	require.Equal(t, "raised", ev(0)["kind"])
	require.Equal(t, "critical", got[0]["alarm"].(map[string]any)["severity"])
	require.Equal(t, "a@h", got[0]["alarm"].(map[string]any)["node"])
	require.Equal(t, "alice", ev(1)["who"])
	require.Equal(t, "draining it", ev(2)["text"])
	require.Equal(t, "cleared", ev(3)["kind"])
	require.Equal(t, false, got[3]["alarm"].(map[string]any)["active"])
}

func TestNew(t *testing.T) {
	for _, u := range []string{"", "ftp://x/y", "http://", "://secret"} {
		_, err := New(Options{URL: u})
		require.EqualError(t, err, "url is not an http(s) URL", u)
	}
}
