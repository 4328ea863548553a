package pagerduty

import (
	"context"
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/notify"
	"github.com/beamctl/beamctl/internal/notify/notifytest"
)

const routingKey = "R0UT1NGKEY0123456789"

func TestConformance(t *testing.T) {
	notifytest.HTTP(t, "pagerduty", func(t *testing.T, url string) (notify.Notifier, []string) {
		n, err := New(Options{URL: url, RoutingKey: routingKey})
		require.NoError(t, err)
		return n, []string{url, notifytest.SecretPath, routingKey}
	})
}

// TestEvents sends an alarm's life to a loopback receiver, as to the
// Events API v2: trigger, acknowledge, resolve under one dedup_key; the
// comment is not sent.
func TestEvents(t *testing.T) {
	r := notifytest.NewReceiver(t)
	n, err := New(Options{URL: r.URL + "/v2/enqueue", RoutingKey: routingKey})
	require.NoError(t, err)
	_, err = n.Notify(context.Background(), notifytest.Changes()...)
	require.NoError(t, err)
	var got []map[string]any
	for range 3 {
		var m map[string]any
		require.NoError(t, json.Unmarshal(r.Next(t).Body, &m))
		got = append(got, m)
	}
	require.Empty(t, r.Got, "nothing for the comment")
	require.Equal(t, []any{"trigger", "acknowledge", "resolve"}, []any{got[0]["event_action"], got[1]["event_action"], got[2]["event_action"]})
	require.Equal(t, routingKey, got[0]["routing_key"])
	require.Equal(t, "beamctl-7", got[0]["dedup_key"])
	require.Equal(t, got[0]["dedup_key"], got[2]["dedup_key"], "one incident per alarm")
	payload := got[0]["payload"].(map[string]any)
	require.Equal(t, "critical", payload["severity"])
	require.Equal(t, "a@h", payload["source"])
	require.Equal(t, "[critical] scripted: value critical", payload["summary"])
	require.Equal(t, "2026-12-02T10:00:00Z", payload["timestamp"])
	require.Nil(t, got[2]["payload"])
}

func TestNew(t *testing.T) {
	_, err := New(Options{URL: "nope"})
	require.EqualError(t, err, "url is not an http(s) URL\npagerduty needs routing_key")
	n, err := New(Options{RoutingKey: routingKey})
	require.NoError(t, err)
	require.Equal(t, DefaultURL, n.(*notifier).o.URL)
}

// TestInfiniteValue: a +Inf value (a rule's x/0) still triggers.
func TestInfiniteValue(t *testing.T) {
	r := notifytest.NewReceiver(t)
	n, err := New(Options{URL: r.URL, RoutingKey: routingKey})
	require.NoError(t, err)
	a := notifytest.Alert(1)
	a.Alarm.Value = math.Inf(1)
	_, err = n.Notify(context.Background(), a)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Next(t).Body, &m))
	details := m["payload"].(map[string]any)["custom_details"].(map[string]any)
	require.Contains(t, details, "value")
	require.Nil(t, details["value"])
}
