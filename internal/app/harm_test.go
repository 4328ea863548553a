package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/testnode"
)

// The tests of issue 12's "do no harm" items that go through the HTTP API
// of a running server (docs/security.md).

// nodeInt runs erlang:F(Args...) on the node and returns an integer.
func nodeInt(t *testing.T, c *dist.Conn, f string, args ...etf.Term) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := c.Call(ctx, "erlang", f, args...)
	require.NoError(t, err)
	n, err := etf.ToInt64(r)
	require.NoError(t, err)
	return n
}

func atomCount(t *testing.T, c *dist.Conn) int64 {
	return nodeInt(t, c, "system_info", etf.Atom("atom_count"))
}

// settledAtoms is the node's atom count once the server's first-time work
// there is done (the variable names of its erl_eval expressions, the
// modules it makes the node load): unchanged for 2 s.
func settledAtoms(t *testing.T, c *dist.Conn) int64 {
	t.Helper()
	last, since := atomCount(t, c), time.Now()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if n := atomCount(t, c); n != last {
			last, since = n, time.Now()
		} else if time.Since(since) > 2*time.Second {
			break
		}
	}
	return last
}

// agentLoaded reports code:is_loaded(beamctl_agent) on the node.
func agentLoaded(t *testing.T, c *dist.Conn) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := c.Call(ctx, "code", "is_loaded", etf.Atom("beamctl_agent"))
	require.NoError(t, err)
	return r != etf.False
}

// harmConfig is a server of one node that captures nothing (so that the
// node's atoms and processes change only by what the test does).
func harmConfig(t *testing.T, n *testnode.Node, extra string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 2s, fast_interval: 1s, collect_timeout: 2s, discover_interval: 1s}
clusters:
  - name: harm
    cookie: %s
    nodes: [%s]
    notifications: {shell_commands: false, system_monitor: off, log_level: none, code_interval: 1s}
%s`, n.Cookie, n.Name, extra)), t.TempDir())
	require.NoError(t, err)
	return cfg
}

// waitTool waits until the server runs tool on node.
func waitTool(t *testing.T, base, node, tool string, q url.Values) {
	t.Helper()
	require.Eventually(t, func() bool {
		return get(t, base, "/api/v1/nodes/"+node+"/"+tool, q).Status == "success"
	}, 30*time.Second, 100*time.Millisecond, "the server does not run %s on %s", tool, node)
}

// TestAPINoAtomsFromNames sends 10,000 fresh registered names to pi, and
// pids and node names no node has: the node's atom table does not grow
// (before the fix, each name was an atom on the node: erlang:whereis).
func TestAPINoAtomsFromNames(t *testing.T) {
	const calls = 10000
	n := testnode.Start(t, testnode.Options{})
	probe := dialNode(t, n)
	srv := startApp(t, harmConfig(t, n, ""), t.TempDir())
	base := "http://" + srv.Addr()
	waitTool(t, base, n.Name, "pi", url.Values{"pid": {"code_server"}})
	// The first calls load modules on the node (erpc, ...), whose atoms
	// are not the test's: warm up with each kind of request.
	stamp := time.Now().UnixNano()
	var before int64
	for i := range calls + 200 {
		if i == 200 {
			before = settledAtoms(t, probe)
		}
		var path string
		q := url.Values{}
		want := "no process is registered as"
		switch {
		case i%100 == 1: // an unknown node in the URL: refused before any dial
			path = fmt.Sprintf("/api/v1/nodes/fresh_%d_%d@%s/memory", stamp, i, n.Host)
			want = "is not managed by this server"
		case i%100 == 2: // a pid of another node
			path = "/api/v1/nodes/" + n.Name + "/pi"
			q.Set("pid", fmt.Sprintf("<'fresh_%d_%d@nohost'.1.0>", stamp, i))
			want = "is not a process of"
		case i%2 == 0:
			path = "/api/v1/nodes/" + n.Name + "/pi"
			q.Set("pid", fmt.Sprintf("fresh_%d_%d", stamp, i))
		default:
			path = "/api/v1/nodes/" + n.Name + "/pi"
			q.Set("pid", fmt.Sprintf("'Fresh name %d %d'", stamp, i))
		}
		r := get(t, base, path, q)
		require.Equal(t, "error", r.Status, path+"?"+q.Encode())
		require.Contains(t, r.Error, want)
	}
	after := atomCount(t, probe)
	t.Logf("%d requests with fresh names: the node's atom count went from %d to %d", calls, before, after)
	require.LessOrEqual(t, after-before, int64(dist.NameSlots), "atoms created on the node by names in requests")
}

// TestAPIAgentFalse runs every tool of the API, and the server's
// collectors and capture, on a node whose cluster says agent: false:
// beamctl_agent is never loaded there; top scans with erl_eval and the tools
// that need the agent say so.
func TestAPIAgentFalse(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	probe := dialNode(t, n)
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 300ms, fast_interval: 300ms, collect_timeout: 300ms, discover_interval: 300ms}
clusters:
  - name: noagent
    cookie: %s
    nodes: [%s]
    agent: false
`, n.Cookie, n.Name)), t.TempDir()) // capture on, as by default
	require.NoError(t, err)
	srv := startApp(t, cfg, t.TempDir())
	base := "http://" + srv.Addr()
	waitTool(t, base, n.Name, "memory", nil)
	// Several collection rounds (every collector, the capture set up).
	rounds := func() time.Time {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		if info := srv.nodes[nodeKey{"noagent", n.Name}]; info != nil {
			return info.lastCollect
		}
		return time.Time{}
	}
	last, count := rounds(), 0
	require.Eventually(t, func() bool {
		if r := rounds(); r != last {
			last = r
			count++
		}
		return count >= 5
	}, 30*time.Second, 20*time.Millisecond)

	tests := []struct {
		tool    string
		q       url.Values
		wantErr string
	}{
		{tool: "top"},
		{tool: "top", q: url.Values{"window": {"200ms"}, "by": {"memory"}}},
		{tool: "ets", wantErr: "agent: false"},
		{tool: "alloc", wantErr: "agent: false"},
		{tool: "memory"},
		{tool: "apps"},
		{tool: "pi", q: url.Values{"pid": {"code_server"}}},
	}
	for _, tc := range tests {
		t.Run(tc.tool, func(t *testing.T) {
			r := get(t, base, "/api/v1/nodes/"+n.Name+"/"+tc.tool, tc.q)
			if tc.wantErr != "" {
				require.Equal(t, "error", r.Status)
				require.Contains(t, r.Error, tc.wantErr)
			} else {
				require.Equal(t, "success", r.Status, r.Error)
			}
			if tc.tool == "top" {
				var top struct{ Processes []json.RawMessage }
				require.NoError(t, json.Unmarshal(r.Data, &top))
				require.NotEmpty(t, top.Processes, "top scans with erl_eval")
			}
			require.False(t, agentLoaded(t, probe), "beamctl_agent is loaded on a node with agent: false")
		})
	}
	require.False(t, agentLoaded(t, probe), "beamctl_agent is loaded on a node with agent: false")
}

// beamctlWork counts the processes on the node doing work a beamctl call
// started: a call process of erpc, a scan of beamctl_agent or of erl_eval,
// a sleep of a window; and rex's monitors (its call workers). The
// scheduler_wall_time holder of the scheduler collector (swt_loop), which
// lives as long as the server's connection by design, is not counted.
const beamctlWork = `
Self = self(),
Busy = [P || P <- erlang:processes(), P =/= Self,
             case {erlang:process_info(P, current_function), erlang:process_info(P, initial_call)} of
                 {{current_function, {beamctl_agent, swt_loop, 1}}, _} -> false;
                 {{current_function, {beamctl_agent, _, _}}, _} -> true;
                 {{current_function, {timer, sleep, 1}}, _} -> true;
                 {_, {initial_call, {erpc, execute_call, 4}}} -> true;
                 _ -> false
             end],
{monitors, RexMons} = erlang:process_info(whereis(rex), monitors),
{length(Busy), length(RexMons), erlang:system_info(process_count)}.`

// TestAPITopWindowDeadline asks the API for top over a 60 s window and
// gives up after 2 s: the scan ends on the node then (before the fix, rex's
// worker slept on for the whole window).
func TestAPITopWindowDeadline(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	probe := dialNode(t, n)
	srv := startApp(t, harmConfig(t, n, ""), t.TempDir())
	base := "http://" + srv.Addr()
	waitTool(t, base, n.Name, "top", nil) // the agent loaded
	work := func() (busy, rexMons, procs int64) {
		t.Helper()
		r, err := evalProbe(probe, beamctlWork)
		require.NoError(t, err)
		tu, err := etf.ToTuple(r, 3)
		require.NoError(t, err)
		b, _ := etf.ToInt64(tu[0])
		m, _ := etf.ToInt64(tu[1])
		p, _ := etf.ToInt64(tu[2])
		return b, m, p
	}
	for _, agentless := range []string{"false", "true"} {
		t.Run("agentless="+agentless, func(t *testing.T) {
			// The baseline, once the node is quiet (no collection running)
			// and the server's capture has set up its processes (the
			// process count holds for two seconds).
			var busy0, rex0, procs0 int64
			var last int64 = -1
			require.Eventually(t, func() bool {
				busy0, rex0, procs0 = work()
				stable := busy0 == 0 && procs0 == last
				last = procs0
				return stable
			}, 60*time.Second, 2*time.Second)
			client := &http.Client{Timeout: 2 * time.Second}
			q := url.Values{"window": {"60s"}, "agentless": {agentless}}
			resp, err := client.Get(base + "/api/v1/nodes/" + n.Name + "/top?" + q.Encode())
			if err == nil {
				resp.Body.Close()
			}
			require.Error(t, err, "the request gave up after 2s")
			// Nothing of it remains: polled well within the 60 s window.
			var busy, rexMons, procs int64
			ok := func() bool {
				busy, rexMons, procs = work()
				return busy == 0 && rexMons <= rex0 && procs <= procs0
			}
			deadline := time.Now().Add(20 * time.Second)
			for !ok() && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			require.True(t, ok(), "still on the node: %d busy processes, rex monitors %d (was %d), %d processes (was %d)",
				busy, rexMons, rex0, procs, procs0)
		})
	}
}

// evalProbe evaluates expressions through the probe connection (rex; the
// probe's own call is not counted as beamctl work: it is self()).
func evalProbe(c *dist.Conn, expr string) (etf.Term, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return inspect.EvalWith(ctx, c, expr, nil)
}

// TestServerNameStable cuts the server's connection to a node 40 times:
// the server comes back every time under the same node name, so the
// node's atom table does not grow by more than the first-time atoms of
// what the server runs there (variable names of its erl_eval expressions;
// a warm-up of three cuts comes first). Before, every connection was a
// new random name: one atom each.
func TestServerNameStable(t *testing.T) {
	const cuts, warmUp = 40, 3
	n := testnode.Start(t, testnode.Options{})
	probe := dialNode(t, n)
	srv := startApp(t, harmConfig(t, n, ""), t.TempDir())
	_ = srv
	server := func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r, err := probe.Call(ctx, "erlang", "nodes", etf.Atom("hidden"))
		require.NoError(t, err)
		l, _ := etf.ToList(r)
		for _, x := range l {
			if a, ok := x.(etf.Atom); ok && string(a) != probe.Self() {
				return string(a)
			}
		}
		return ""
	}
	var name string
	require.Eventually(t, func() bool { name = server(); return name != "" }, 30*time.Second, 50*time.Millisecond)
	t.Logf("the server is %s", name)
	var before int64
	for i := range cuts + warmUp {
		if i == warmUp {
			before = settledAtoms(t, probe)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := probe.Call(ctx, "erlang", "disconnect_node", etf.Atom(name))
		cancel()
		require.NoError(t, err)
		var again string
		require.Eventually(t, func() bool { again = server(); return again != "" }, 30*time.Second, 50*time.Millisecond,
			"the server did not reconnect")
		require.Equal(t, name, again, "the server reconnected under another name")
	}
	after := settledAtoms(t, probe)
	t.Logf("%d reconnections: the node's atom count went from %d to %d", cuts, before, after)
	require.LessOrEqual(t, after-before, int64(dist.NameSlots))
}

// TestAPIAdminTools: the tools that change something on a node for a while
// (msacc's flag, leaks' garbage collections) run by POST only (admin in
// the route table), within a bound of their own time, and msacc puts the
// node's flag back.
func TestAPIAdminTools(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	probe := dialNode(t, n)
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 1s, discover_interval: 300ms}
clusters:
  - name: admintools
    cookie: %s
    nodes: [%s]
`, n.Cookie, n.Name)), t.TempDir())
	require.NoError(t, err)
	srv := startApp(t, cfg, t.TempDir())
	base := "http://" + srv.Addr()
	waitTool(t, base, n.Name, "memory", nil)
	post := func(tool string, form url.Values) apiResponse {
		resp, err := http.PostForm(base+"/api/v1/nodes/"+n.Name+"/"+tool, form)
		require.NoError(t, err)
		defer resp.Body.Close()
		var r apiResponse
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&r))
		return r
	}
	// The flag's value: system_flag returns the previous one, which is
	// then put back.
	flag := func() etf.Term {
		ctx := context.Background()
		prev, err := probe.Call(ctx, "erlang", "system_flag", etf.Atom("microstate_accounting"), etf.True)
		require.NoError(t, err)
		_, err = probe.Call(ctx, "erlang", "system_flag", etf.Atom("microstate_accounting"), prev)
		require.NoError(t, err)
		return prev
	}
	require.Equal(t, etf.False, flag(), "msacc is off before")

	for _, tc := range []struct {
		name, tool string
		form       url.Values
		wantErr    string
	}{
		{"msacc", "msacc", url.Values{"duration": {"300ms"}}, ""},
		{"leaks", "leaks", url.Values{"n": {"3"}}, ""},
		{"too long", "msacc", url.Values{"duration": {"2m"}}, "msacc would run for 2m0s on the node; the API allows 1m0s"},
		{"read-only tools are GET", "memory", nil, `no tool "memory" on the API by POST`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(tc.tool, tc.form)
			if tc.wantErr != "" {
				require.Equal(t, "error", r.Status)
				require.Contains(t, r.Error, tc.wantErr)
				return
			}
			require.Equal(t, "success", r.Status, r.Error)
			require.NotEqual(t, "null", string(r.Data))
		})
	}
	require.Equal(t, etf.False, flag(), "msacc's flag is put back")
	r := get(t, base, "/api/v1/nodes/"+n.Name+"/msacc", url.Values{"duration": {"300ms"}})
	require.Equal(t, "error", r.Status)
	require.Contains(t, r.Error, `no tool "msacc" on the API by GET`)
}
