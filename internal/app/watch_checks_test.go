package app

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/capture"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/testnode"
)

// TestCheckBatch fetches checks from a real node: fetched calls are
// answered without a round trip, once, with what the node answers
// directly; a call not fetched goes to the node; a batch with a call that
// raises answers nothing, and each call then goes to the node on its own.
func TestCheckBatch(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	conn := dialNode(t, n)
	ctx := context.Background()
	initPid, err := conn.Call(ctx, "erlang", "whereis", etf.Atom("init"))
	require.NoError(t, err)
	monitor := capture.Check{Module: "erlang", Function: "system_monitor"}
	alive := capture.Check{Module: "erlang", Function: "is_process_alive", Args: []etf.Term{initPid}}
	raises := capture.Check{Module: "no_such_module_here", Function: "f"}
	tests := []struct {
		name    string
		checks  []capture.Check
		fetched int // round trips of the fetch
		calls   int // round trips of answering every check once
	}{
		{"two checks in one round trip", []capture.Check{monitor, alive}, 1, 0},
		{"one check alone is not fetched", []capture.Check{alive}, 0, 1},
		{"a call that raises sends each on its own", []capture.Check{monitor, alive, raises}, 1, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &checkBatch{conn: conn}
			for _, c := range tt.checks {
				b.add(c)
			}
			f0 := conn.Stats().FramesIn
			b.fetch(ctx)
			f1 := conn.Stats().FramesIn
			require.Equal(t, tt.fetched, int(f1-f0), "round trips to fetch")
			for _, c := range tt.checks {
				got, err := b.Call(ctx, c.Module, c.Function, c.Args...)
				direct, derr := conn.Call(ctx, c.Module, c.Function, c.Args...)
				if derr != nil {
					require.Error(t, err, "%s:%s raises on the node", c.Module, c.Function)
					continue
				}
				require.NoError(t, err)
				require.Equal(t, direct, got, "%s:%s", c.Module, c.Function)
			}
			direct := len(tt.checks) // the test's own direct calls
			require.Equal(t, tt.calls, int(conn.Stats().FramesIn-f1)-direct, "round trips to answer the checks")
			// Answered once: the same call again goes to the node.
			f2 := conn.Stats().FramesIn
			_, err := b.Call(ctx, alive.Module, alive.Function, alive.Args...)
			require.NoError(t, err)
			require.Equal(t, uint64(1), conn.Stats().FramesIn-f2)
		})
	}
}
