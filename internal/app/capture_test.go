package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/capture"
	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/testnode"
)

// holdSysmon makes a process on the node take its system_monitor slot;
// it lets it go when sent release.
const holdSysmon = `
Self = self(),
P = spawn(fun() ->
        erlang:system_monitor(self(), [{long_gc, 1000}]),
        Self ! {self(), ready},
        receive release -> erlang:system_monitor(undefined) end,
        receive never -> ok end
    end),
receive {P, ready} -> P end.
`

// erlEvalProcesses lists the node's processes that run interpreted code
// (what beamctl's capture spawns is built with erl_eval: spawned funs
// start in erlang:apply/2 and wait in prim_eval or erl_eval).
const erlEvalProcesses = `
[P || P <- processes(), P =/= self(),
      case erlang:process_info(P, [initial_call, current_function]) of
          [{initial_call, {erlang, apply, 2}}, {current_function, {M, _, _}}] -> M =:= prim_eval orelse M =:= erl_eval;
          _ -> false
      end].
`

// TestCaptureCoexists runs a server against a node where another process
// holds the system_monitor slot, and checks: the server says the slot is
// taken and leaves it, takes it within one poll once it is freed, and
// records events; a shell command holding a secret is stored and
// exported redacted; the nodes that connect to and disconnect from the
// node are recorded with their type; and when the server stops, nothing
// of its capture is left on the node.
func TestCaptureCoexists(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	c := dialNode(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r, err := inspect.Eval(ctx, c, holdSysmon)
	require.NoError(t, err)
	holder := r.(etf.Pid)
	before, err := inspect.Eval(ctx, c, erlEvalProcesses) // the holder
	require.NoError(t, err)

	var exportedMu sync.Mutex
	var exported strings.Builder
	otlp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		exportedMu.Lock()
		exported.Write(b)
		exportedMu.Unlock()
	}))
	defer otlp.Close()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 300ms, collect_timeout: 300ms, discover_interval: 300ms}
capture: {redact_shell: ['(?i)password\S*']}
clusters:
  - name: cc
    cookie: %s
    nodes: [%s]
    notifications: {code_interval: 1s, system_monitor: record, log_level: warning}
exports:
  - {format: otlp, url: "%s/v1/logs", min_severity: info}
`, n.Cookie, n.Name, otlp.URL)), t.TempDir())
	require.NoError(t, err)
	srv := startApp(t, cfg, t.TempDir())
	find := func(kind, grep string) []journal.Notification {
		ns, err := srv.Recorder().Store().Query(ctx, journal.Filter{Cluster: "cc", Node: n.Name, Kind: kind, Grep: grep})
		require.NoError(t, err)
		return ns
	}
	waitFor := func(kind, grep string) journal.Notification {
		t.Helper()
		var got []journal.Notification
		require.Eventually(t, func() bool { got = find(kind, grep); return len(got) > 0 }, 30*time.Second, 50*time.Millisecond,
			"a %s notification (%s)", kind, grep)
		return got[0]
	}
	owner := func() etf.Term {
		r, err := c.Call(ctx, "erlang", "system_monitor")
		require.NoError(t, err)
		if t, err := etf.ToTuple(r, 2); err == nil {
			return t[0]
		}
		return r
	}

	// The slot is taken: said once, and left to its owner.
	taken := waitFor("system_monitor_taken", "")
	require.Contains(t, taken.Text, "system_monitor is owned by")
	require.Equal(t, holder, owner())
	// Freed: taken back within one poll (code_interval: 1s).
	require.NoError(t, c.Send(ctx, holder, etf.Atom("release")))
	waitFor("system_monitor_acquired", "")
	require.NotEqual(t, holder, owner())
	_, err = inspect.Eval(ctx, c, `spawn(fun() -> L = lists:seq(1, 3000000), timer:sleep(200), length(L) end), ok.`)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(find("sysmon_large_heap", ""))+len(find("sysmon_long_gc", "")) > 0 },
		30*time.Second, 50*time.Millisecond, "events captured once the slot is beamctl's")
	require.Len(t, find("system_monitor_taken", ""), 1, "said once")

	// A secret typed in a remote shell is stored and exported redacted.
	sh := testnode.RemoteShell(t, n, "capsh")
	sh.Type(t, "application:set_env(myapp, db, \"password=hunter2\").\n")
	cmd := waitFor("shell_command", "set_env")
	require.Equal(t, `application:set_env(myapp, db, "[REDACTED]`, cmd.Fields["command"])
	require.NotContains(t, cmd.Text, "hunter2")
	require.Empty(t, find("", "hunter2"), "the secret is in no stored notification")
	require.Eventually(t, func() bool {
		exportedMu.Lock()
		defer exportedMu.Unlock()
		return strings.Contains(exported.String(), "REDACTED")
	}, 30*time.Second, 50*time.Millisecond, "the command is exported")
	exportedMu.Lock()
	require.NotContains(t, exported.String(), "hunter2")
	exportedMu.Unlock()

	// Who else connects: the remote shell's node (visible), another tool
	// (hidden), and its disconnection.
	up := waitFor("peer_connected", sh.Client)
	require.Equal(t, "visible", up.Fields["peer_type"])
	other, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie, Name: "othertool@" + testnode.ShortHost()})
	require.NoError(t, err)
	up = waitFor("peer_connected", "othertool")
	require.Equal(t, "hidden", up.Fields["peer_type"])
	require.Equal(t, other.Self(), up.Fields["peer"])
	require.NoError(t, other.Close())
	waitFor("peer_disconnected", "othertool")
	srvConn, err := srv.Conn(ctx, n.Name)
	require.NoError(t, err)
	require.Empty(t, find("peer_connected", srvConn.Self()), "the server's own connection is left out")

	// Nothing of the capture is left once the server stops.
	during, err := inspect.Eval(ctx, c, erlEvalProcesses)
	require.NoError(t, err)
	require.NotEqual(t, fmt.Sprint(before), fmt.Sprint(during), "the check sees the capture's processes")
	hs, err := c.Call(ctx, "logger", "get_handler_ids")
	require.NoError(t, err)
	require.Contains(t, fmt.Sprint(hs), string(capture.HandlerID(srvConn.Self())), "the check sees the log handler")
	require.NoError(t, srv.Stop())
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		w, err := c.Call(ctx, "erlang", "whereis", etf.Atom(capture.ShellTracerName))
		require.NoError(t, err)
		left, err := inspect.Eval(ctx, c, erlEvalProcesses)
		require.NoError(t, err)
		sm := owner()
		hs, err := c.Call(ctx, "logger", "get_handler_ids")
		require.NoError(t, err)
		if w == etf.Atom("undefined") && sm == etf.Atom("undefined") && fmt.Sprint(left) == fmt.Sprint(before) &&
			!strings.Contains(fmt.Sprint(hs), string(capture.HandlerID(srvConn.Self()))) { // the agent's log counter stays with the agent
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("left on the node: shell tracer %v, system_monitor %v, interpreted processes %v (before: %v), logger handlers %v",
				w, sm, left, before, hs)
		}
	}
	tr, err := c.Call(ctx, "erlang", "trace_info", capture.ShellTraceMFA, etf.Atom("all"))
	require.NoError(t, err)
	require.Equal(t, fmt.Sprint(etf.Tuple{etf.Atom("all"), etf.False}), fmt.Sprint(tr))
}

// TestTwoServersOneNode runs two servers watching one node: each records
// shell commands; when the first stops, the second still records the
// commands typed afterwards, and takes the system_monitor slot the first
// held within one poll; when the shell tracer is killed, it subscribes
// again.
func TestTwoServersOneNode(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	c := dialNode(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	conf := func() *config.Config {
		cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 300ms, collect_timeout: 300ms, discover_interval: 300ms}
clusters:
  - name: two
    cookie: %s
    nodes: [%s]
    notifications: {code_interval: 1s, system_monitor: count, log_level: none}
`, n.Cookie, n.Name)), t.TempDir())
		require.NoError(t, err)
		return cfg
	}
	waitFor := func(srv *App, kind, grep string) {
		t.Helper()
		require.Eventually(t, func() bool {
			ns, err := srv.Recorder().Store().Query(ctx, journal.Filter{Cluster: "two", Node: n.Name, Kind: kind, Grep: grep})
			require.NoError(t, err)
			return len(ns) > 0
		}, 30*time.Second, 50*time.Millisecond, "a %s notification (%s)", kind, grep)
	}
	first := startApp(t, conf(), t.TempDir())
	waitFor(first, "node_first_seen", "")
	require.Eventually(t, func() bool {
		w, err := c.Call(ctx, "erlang", "whereis", etf.Atom(capture.ShellTracerName))
		require.NoError(t, err)
		return w != etf.Atom("undefined")
	}, 30*time.Second, 50*time.Millisecond, "the first server traces shells")
	second := startApp(t, conf(), t.TempDir())
	waitFor(second, "system_monitor_taken", "") // the first holds it

	sh := testnode.RemoteShell(t, n, "twosrv")
	sh.Type(t, "typed_for_both.\n")
	waitFor(first, "shell_command", "typed_for_both")
	waitFor(second, "shell_command", "typed_for_both")

	require.NoError(t, first.Stop())
	sh.Type(t, "typed_after_first_stopped.\n")
	waitFor(second, "shell_command", "typed_after_first_stopped")
	waitFor(second, "system_monitor_acquired", "")

	// The tracer killed by someone: the server subscribes again within a
	// poll (a new tracer takes over the dead one's meta pattern).
	killed, err := inspect.Eval(ctx, c, `P = whereis(beamctl_shell_tracer), exit(P, kill), P.`)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		w, err := c.Call(ctx, "erlang", "whereis", etf.Atom(capture.ShellTracerName))
		require.NoError(t, err)
		_, isPid := w.(etf.Pid)
		return isPid && w != killed
	}, 30*time.Second, 50*time.Millisecond, "a new tracer")
	sh.Type(t, "typed_after_tracer_killed.\n")
	waitFor(second, "shell_command", "typed_after_tracer_killed")
}
