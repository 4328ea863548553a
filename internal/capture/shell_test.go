package capture

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/testnode"
)

// TestTraceShells types commands into a remote shell on a node (a shell
// started from another node, reading that node's stdin, as erl -remsh
// does) and checks they are recorded with where they came from.
func TestTraceShells(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	defer c.Close()
	s, err := TraceShells(ctx, c)
	require.NoError(t, err)
	events := s.Events(ctx)

	sh := testnode.RemoteShell(t, n, "shellclient")
	sh.Type(t, "Secret = 6 * 7.\nets:new(made_by_hand, [named_table, public]).\n")

	var got []string
	for len(got) < 2 {
		select {
		case ev, ok := <-events:
			require.True(t, ok, "events ended: conn %v, ctx %v", c.Err(), ctx.Err())
			require.Equal(t, "shell_command", ev.Kind)
			require.Equal(t, sh.Client, ev.Fields["from_node"])
			require.Contains(t, ev.Text, "a remote shell from "+sh.Client)
			got = append(got, ev.Fields["command"])
		case <-time.After(10 * time.Second):
			t.Fatalf("commands recorded: %q", got)
		}
	}
	require.Equal(t, []string{"Secret = 6 * 7", "ets:new(made_by_hand, [named_table, public])"}, got)

	require.NoError(t, s.Stop(ctx))
	require.Eventually(t, func() bool {
		r, err := c.Call(ctx, "erlang", "trace_info", etf.Tuple{etf.Atom("shell"), etf.Atom("shell_cmd"), int64(6)}, etf.Atom("traced"))
		require.NoError(t, err)
		return fmt.Sprint(r) == fmt.Sprint(etf.Tuple{etf.Atom("traced"), etf.False})
	}, 5*time.Second, 20*time.Millisecond, "tracing is off again")
}
