package capture

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/testnode"
)

// TestSysmon provokes large_heap and long_gc events on a real node and
// checks they are counted and recorded, that the slot is given back, and
// that another owner's slot is not taken.
func TestSysmon(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	defer c.Close()
	o := DefaultSysmon
	o.Record, o.LargeHeapWords, o.LongGC = true, 100_000, 1
	s, err := StartSysmon(ctx, c, o)
	require.NoError(t, err)
	events := s.Events(ctx)
	// A process whose heap grows past 100,000 words.
	_, err = inspect.EvalWith(ctx, c, `spawn(fun() -> L = lists:seq(1, 300000), timer:sleep(200), length(L) end), ok.`, nil)
	require.NoError(t, err)
	select {
	case ev := <-events:
		require.Contains(t, []string{"sysmon_large_heap", "sysmon_long_gc"}, ev.Kind)
		require.Contains(t, ev.Fields["who"], "<0.")
		require.NotEmpty(t, ev.Fields["info"])
	case <-time.After(10 * time.Second):
		t.Fatal("no system_monitor event")
	}
	require.Eventually(t, func() bool { return s.Counts()["large_heap"] >= 1 }, 10*time.Second, 50*time.Millisecond, "counted")

	// Someone else cannot get the slot while beamctl has it; beamctl's
	// second monitor does not steal from its first.
	_, err = StartSysmon(ctx, c, o)
	require.True(t, IsTaken(err), "%v", err)

	require.NoError(t, s.Stop(ctx))
	require.Eventually(t, func() bool {
		r, err := c.Call(ctx, "erlang", "system_monitor")
		require.NoError(t, err)
		return r == etf.Atom("undefined")
	}, 5*time.Second, 20*time.Millisecond, "the slot is given back")
}

// TestSysmonLeavesOtherOwner: another process holds the node's
// system_monitor slot; beamctl says it is taken and leaves it; once the
// other lets it go, beamctl takes it and records events; when the other
// takes it back, beamctl sees it has lost it.
func TestSysmonLeavesOtherOwner(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	defer c.Close()
	r, err := inspect.Eval(ctx, c, `
Self = self(),
P = spawn(fun() ->
        erlang:system_monitor(self(), [{long_gc, 1000}]),
        Self ! {self(), ready},
        Loop = fun Loop() ->
                   receive
                       release -> erlang:system_monitor(undefined), Loop();
                       take -> erlang:system_monitor(self(), [{long_gc, 1000}]), Loop()
                   end
               end,
        Loop()
    end),
receive {P, ready} -> P end.`)
	require.NoError(t, err)
	other := r.(etf.Pid)
	owner := func() etf.Term {
		r, err := c.Call(ctx, "erlang", "system_monitor")
		require.NoError(t, err)
		if t, err := etf.ToTuple(r, 2); err == nil {
			return t[0]
		}
		return r
	}

	o := DefaultSysmon
	o.Record, o.LargeHeapWords = true, 100_000
	_, err = StartSysmon(ctx, c, o)
	require.True(t, IsTaken(err), "%v", err)
	require.Contains(t, err.Error(), "system_monitor is owned by <0.")
	require.Equal(t, other, owner(), "the other owner keeps the slot")

	require.NoError(t, c.Send(ctx, other, etf.Atom("release")))
	require.Eventually(t, func() bool { return owner() == etf.Atom("undefined") }, 5*time.Second, 20*time.Millisecond)
	s, err := StartSysmon(ctx, c, o)
	require.NoError(t, err)
	holds, err := s.Holds(ctx)
	require.NoError(t, err)
	require.True(t, holds)
	events := s.Events(ctx)
	_, err = inspect.EvalWith(ctx, c, `spawn(fun() -> L = lists:seq(1, 300000), timer:sleep(200), length(L) end), ok.`, nil)
	require.NoError(t, err)
	select {
	case ev := <-events:
		require.Contains(t, []string{"sysmon_large_heap", "sysmon_long_gc"}, ev.Kind)
	case <-time.After(20 * time.Second):
		t.Fatal("no system_monitor event")
	}

	require.NoError(t, c.Send(ctx, other, etf.Atom("take")))
	require.Eventually(t, func() bool { return owner() == other }, 5*time.Second, 20*time.Millisecond)
	holds, err = s.Holds(ctx)
	require.NoError(t, err)
	require.False(t, holds)
	require.NoError(t, s.Stop(ctx))
	// A plain loop, not require.Never: Never returns with its last check
	// still running, which then calls the node after the deferred Close.
	for i := 0; i < 20; i++ {
		require.Equal(t, other, owner(), "stopping does not take the slot from its owner")
		time.Sleep(50 * time.Millisecond)
	}
}
