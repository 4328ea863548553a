package testnode

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
)

func TestStartKillRestart(t *testing.T) {
	t.Parallel()
	n := Start(t, Options{})
	names, err := EpmdNames()
	if err != nil || !names[n.Alive] {
		t.Fatalf("node %s not in epmd (%v): %v", n.Alive, names, err)
	}
	n.Kill()
	n.Restart()
	names, err = EpmdNames()
	if err != nil || !names[n.Alive] {
		t.Fatalf("restarted node %s not in epmd (%v): %v", n.Alive, names, err)
	}
}

func TestEval(t *testing.T) {
	t.Parallel()
	out := Eval(t, `io:format("~p", [lists:seq(1, 3)])`)
	if strings.TrimSpace(out) != "[1,2,3]" {
		t.Fatalf("Eval printed %q, want [1,2,3]", out)
	}
}

// TestStartAfterSetUp checks that Start returns with the node's set-up
// done: a process the set-up registers after a delay is registered when
// Start returns.
func TestStartAfterSetUp(t *testing.T) {
	t.Parallel()
	n := Start(t, Options{Eval: `timer:sleep(1500), register(late_setup, spawn(timer, sleep, [infinity]))`})
	c, err := dist.Dial(context.Background(), n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := c.Call(ctx, "erlang", "whereis", etf.Atom("late_setup"))
	require.NoError(t, err)
	require.IsType(t, etf.Pid{}, r, "late_setup is not registered when Start returns: %v", r)
}
