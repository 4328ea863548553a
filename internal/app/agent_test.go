package app

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/testnode"
)

// TestAgentRefusedBacksOff collects a node that refuses beamctl_agent (an
// older one is loaded there and sticky, so no new code loads, from the
// precompiled file or from source): beamctl tries once, records it once,
// and does not ask again every round. The node counts the calls of
// code:load_binary (call_count tracing).
func TestAgentRefusedBacksOff(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	c := dialNode(t, n)
	// An older beamctl_agent, sticky (as a module of a sticky code
	// directory): code:load_binary answers sticky_directory.
	evalOn(t, c, `
{ok, M, Old} = compile:forms([{attribute, 1, module, beamctl_agent}, {attribute, 2, export, [{version, 0}]},
                              {function, 3, version, 0, [{clause, 3, [], [], [{integer, 3, 0}]}]}], [binary]),
{module, M} = code:load_binary(M, "beamctl_agent.erl", Old),
true = code:stick_mod(M),
erlang:trace_pattern({code, load_binary, 3}, true, [call_count]).`)
	loads := func() int64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r, err := c.Call(ctx, "erlang", "trace_info", etf.Tuple{etf.Atom("code"), etf.Atom("load_binary"), int64(3)}, etf.Atom("call_count"))
		require.NoError(t, err)
		tu, err := etf.ToTuple(r, 2)
		require.NoError(t, err)
		v, err := etf.ToInt64(tu[1])
		require.NoError(t, err)
		return v
	}
	require.Zero(t, loads())
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 2s, fast_interval: 300ms, collect_timeout: 2s, discover_interval: 300ms}
clusters:
  - name: sticky
    cookie: %s
    nodes: [%s]
    notifications: {shell_commands: false, system_monitor: off}
`, n.Cookie, n.Name)), t.TempDir())
	require.NoError(t, err)
	srv := startApp(t, cfg, t.TempDir())
	defer srv.Stop()
	base := "http://" + srv.Addr()
	require.Eventually(t, func() bool { return len(notes(t, base, url.Values{"kind": {"agent_refused"}})) == 1 },
		20*time.Second, 100*time.Millisecond, "the refusal is recorded")
	first := loads()
	require.Positive(t, first)
	require.LessOrEqual(t, first, int64(2), "one attempt: the precompiled module, then from source")

	// Ten more collection rounds: no attempt, nothing recorded again.
	rounds := func() time.Time {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		if info := srv.nodes[nodeKey{"sticky", n.Name}]; info != nil {
			return info.lastCollect
		}
		return time.Time{}
	}
	start := rounds()
	count := 0
	require.Eventually(t, func() bool {
		if r := rounds(); r != start {
			start = r
			count++
		}
		return count >= 10
	}, 20*time.Second, 20*time.Millisecond)
	require.Equal(t, first, loads())
	require.Len(t, notes(t, base, url.Values{"kind": {"agent_refused"}}), 1)
	got := notes(t, base, url.Values{"kind": {"agent_refused"}})[0]
	require.Contains(t, got.Text, "sticky_directory")
}
