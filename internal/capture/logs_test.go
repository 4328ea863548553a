package capture

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/testnode"
)

func handlerIDs(t *testing.T, c *dist.Conn) []etf.Term {
	t.Helper()
	r, err := c.Call(context.Background(), "logger", "get_handler_ids")
	require.NoError(t, err)
	l, err := etf.ToList(r)
	require.NoError(t, err)
	return l
}

func TestForwardLogs(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	defer c.Close()
	f, err := ForwardLogs(ctx, c, "warning")
	require.NoError(t, err)
	require.Contains(t, handlerIDs(t, c), HandlerID(c.Self()))
	events := f.Events(ctx)

	_, err = c.Call(ctx, "logger", "warning", etf.String("hello ~p"), etf.List{int64(42)})
	require.NoError(t, err)
	_, err = c.Call(ctx, "logger", "info", etf.String("below the level"))
	require.NoError(t, err)
	// A gen_server (OTP's pg) that crashes on an unexpected call.
	_, err = c.Call(ctx, "gen_server", "start", etf.Tuple{etf.Atom("local"), etf.Atom("capture_test_pg")}, etf.Atom("pg"),
		etf.List{etf.Atom("capture_test_pg")}, etf.List{})
	require.NoError(t, err)
	_, err = c.Call(ctx, "gen_server", "call", etf.Atom("capture_test_pg"), etf.Atom("unexpected"))
	require.Error(t, err, "the call crashes the server")

	var got []journal.Notification
	timeout := time.After(10 * time.Second)
	for len(got) < 3 {
		select {
		case n := <-events:
			got = append(got, n)
		case <-timeout:
			t.Fatalf("got only %d events: %+v", len(got), got)
		}
	}
	require.Equal(t, "log", got[0].Kind)
	require.Equal(t, journal.Warning, got[0].Severity)
	require.Equal(t, "hello 42", got[0].Text)
	require.Equal(t, n.Name, got[0].Node)
	require.WithinDuration(t, time.Now(), got[0].Time, 10*time.Second, "the event's own time")
	require.Contains(t, got[0].Fields["pid"], "<0.")

	var crash, terminate *journal.Notification
	for i := range got[1:] {
		switch e := &got[1+i]; e.Kind {
		case "crash_report":
			crash = e
		case "log":
			terminate = e
		}
	}
	require.NotNil(t, terminate, "%+v", got)
	require.Contains(t, terminate.Text, "capture_test_pg terminating")
	require.Equal(t, journal.Error, terminate.Severity)
	require.NotNil(t, crash, "%+v", got)
	require.Contains(t, crash.Text, "initial call: pg:init/1")
	require.Regexp(t, `badarg|bad argument`, crash.Text, "the reason")
	require.Contains(t, crash.Text, "\n    pid: <0.", "its lines kept")
	require.NotEmpty(t, crash.Fields["mfa"])

	require.NoError(t, f.Remove(ctx))
	require.NotContains(t, handlerIDs(t, c), HandlerID(c.Self()))
}

// TestLogHandlerGoneWithBeamctl checks that a handler whose beamctl went
// away is removed (by its forwarder, which sees the disconnection) and does
// not disturb the node.
func TestLogHandlerGoneWithBeamctl(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	id := HandlerID(c.Self())
	_, err = ForwardLogs(ctx, c, "warning")
	require.NoError(t, err)
	require.NoError(t, c.Close())

	other, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	defer other.Close()
	require.Eventually(t, func() bool {
		r, err := other.Call(ctx, "erlang", "nodes", etf.Atom("hidden"))
		require.NoError(t, err)
		l, _ := etf.ToList(r)
		return len(l) == 1 // only other: the first connection is gone
	}, 10*time.Second, 20*time.Millisecond)
	_, err = other.Call(ctx, "logger", "error", etf.String("an event after beamctl left"))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		for _, h := range handlerIDs(t, other) {
			if h == id {
				return false
			}
		}
		return true
	}, 5*time.Second, 20*time.Millisecond, "removed by its forwarder")
}
