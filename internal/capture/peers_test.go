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

// TestWatchPeers connects a hidden node (a second Go client) and a
// visible one (a remote shell's node) to a node, and checks each
// connection and disconnection is recorded with the peer's name and type,
// the watcher's own connection never, and that nothing is left after
// Stop.
func TestWatchPeers(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	defer c.Close()
	w, err := WatchPeers(ctx, c)
	require.NoError(t, err)
	events := w.Events(ctx)
	next := func(kind, peer string) journal.Notification {
		t.Helper()
		for {
			select {
			case ev := <-events:
				require.NotEqual(t, c.Self(), ev.Fields["peer"], "the watcher's own connection is left out")
				if ev.Kind == kind && ev.Fields["peer"] == peer {
					return ev
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("no %s of %s", kind, peer)
			}
		}
	}

	other, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie, Name: "othertool@" + testnode.ShortHost()})
	require.NoError(t, err)
	ev := next("peer_connected", other.Self())
	require.Equal(t, "hidden", ev.Fields["peer_type"])
	require.Equal(t, "Hidden node "+other.Self()+" connected to "+n.Name+".", ev.Text)
	require.NoError(t, other.Close())
	ev = next("peer_disconnected", other.Self())
	require.Equal(t, "hidden", ev.Fields["peer_type"])
	require.NotEmpty(t, ev.Fields["reason"])

	sh := testnode.RemoteShell(t, n, "peersh")
	ev = next("peer_connected", sh.Client)
	require.Equal(t, "visible", ev.Fields["peer_type"])

	require.NoError(t, w.Stop(ctx))
	require.Eventually(t, func() bool {
		r, err := c.Call(ctx, "erlang", "is_process_alive", w.Pid())
		require.NoError(t, err)
		return r == etf.False
	}, 5*time.Second, 20*time.Millisecond, "the watching process is gone")
}
