package sim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
)

// TestFaults injects each fault into simulated nodes and checks that
// beamctl's own client (dist.Pool, what serve uses) sees it as it would
// see it on a real node: a slow reply arrives late or times out, a
// dropped connection is reconnected, a killed node is unreachable.
func TestFaults(t *testing.T) {
	srv, replay := replayServer(t, "faults")
	slow, err := srv.AddNode("slow", Slow{Backend: replay, Latency: 300 * time.Millisecond})
	require.NoError(t, err)
	flaky, err := srv.AddNode("flaky", replay)
	require.NoError(t, err)
	doomed, err := srv.AddNode("doomed", replay)
	require.NoError(t, err)
	pool := dist.NewPool(dist.PoolOptions{Options: dist.Options{Cookie: "faults", EpmdPort: srv.EpmdPort()},
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	t.Cleanup(func() { pool.Close() })
	ctx := context.Background()
	call := func(ctx context.Context, n *Node) (etf.Term, error) {
		return pool.Call(ctx, string(n.Name), "erlang", "memory")
	}

	t.Run("slow", func(t *testing.T) {
		start := time.Now()
		v, err := call(ctx, slow)
		require.NoError(t, err)
		require.IsType(t, etf.List{}, v)
		require.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "the reply came before the injected latency")
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err = call(short, slow)
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
	t.Run("dropped", func(t *testing.T) {
		before, err := pool.Conn(ctx, string(flaky.Name))
		require.NoError(t, err)
		require.Equal(t, 1, srv.Drop(flaky.Alive))
		select {
		case <-before.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("the client did not see its connection close")
		}
		require.Eventually(t, func() bool {
			c, err := pool.Conn(ctx, string(flaky.Name))
			if err != nil || c == before {
				return false
			}
			_, err = call(ctx, flaky)
			return err == nil
		}, 10*time.Second, 20*time.Millisecond, "no new connection")
	})
	t.Run("killed", func(t *testing.T) {
		_, err := call(ctx, doomed)
		require.NoError(t, err)
		require.True(t, srv.Kill(doomed.Alive))
		require.Eventually(t, func() bool {
			short, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			_, err := call(short, doomed)
			var unreachable *dist.UnreachableError
			return errors.As(err, &unreachable)
		}, 10*time.Second, 50*time.Millisecond)
		require.False(t, srv.Kill(doomed.Alive))
	})
}

// TestToolsOnSimulatedNode: the inspection tools the web UI runs work on a
// simulated node answering from the committed recording, as on the node
// it was recorded from.
func TestToolsOnSimulatedNode(t *testing.T) {
	srv, replay := replayServer(t, "tools")
	n, err := srv.AddNode("simtools", replay)
	require.NoError(t, err)
	ctx := context.Background()
	c, err := dist.Dial(ctx, string(n.Name), dist.Options{Cookie: "tools", EpmdPort: srv.EpmdPort(), RPC: dist.RPCSpawn})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, RunTools(ctx, c))
}

// replayServer is a simulator (closed when the test ends) whose nodes
// take cookie, and a Replay of the committed recording for them.
func replayServer(t *testing.T, cookie string) (*Server, *Replay) {
	t.Helper()
	rec, err := ReadRecording(recordingFile)
	require.NoError(t, err)
	replay, err := NewReplay(rec)
	require.NoError(t, err)
	srv, err := Listen(Options{Cookie: cookie})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	return srv, replay
}
