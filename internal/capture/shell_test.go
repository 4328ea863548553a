package capture

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/testnode"
)

// nextCommand waits for the next shell command recorded.
func nextCommand(t *testing.T, events <-chan journal.Notification) journal.Notification {
	t.Helper()
	select {
	case ev, ok := <-events:
		require.True(t, ok, "events ended")
		require.Equal(t, "shell_command", ev.Kind)
		return ev
	case <-time.After(20 * time.Second):
		t.Fatal("no shell command recorded")
	}
	return journal.Notification{}
}

// requireNoShellTracer checks that nothing of beamctl's shell capture is
// left on the node: no tracer process, no trace pattern.
func requireNoShellTracer(t *testing.T, c *dist.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.Eventually(t, func() bool {
		r, err := c.Call(ctx, "erlang", "whereis", etf.Atom(ShellTracerName))
		require.NoError(t, err)
		return r == etf.Atom("undefined")
	}, 5*time.Second, 20*time.Millisecond, "the tracer process is gone")
	r, err := c.Call(ctx, "erlang", "trace_info", ShellTraceMFA, etf.Atom("all"))
	require.NoError(t, err)
	require.Equal(t, fmt.Sprint(etf.Tuple{etf.Atom("all"), etf.False}), fmt.Sprint(r), "no trace pattern of any kind is left on shell:expand_hist/2")
}

// TestTraceShells types commands into a remote shell on a node (a shell
// started from another node, reading that node's stdin, as erl -remsh
// does) and checks they are recorded with where they came from, redacted
// as configured, and that nothing remains on the node after Stop.
func TestTraceShells(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	defer c.Close()
	s, err := TraceShells(ctx, c, ShellOptions{Redact: func() []*regexp.Regexp {
		return []*regexp.Regexp{regexp.MustCompile(`(?i)password\S*`)}
	}})
	require.NoError(t, err)
	require.Equal(t, "meta", s.Mode(), "OTP 25 has no trace sessions")
	events := s.Events(ctx)

	sh := testnode.RemoteShell(t, n, "shellclient")
	sh.Type(t, "Secret = 6 * 7.\nets:new(made_by_hand, [named_table, public]).\n")
	sh.Type(t, "application:set_env(myapp, db, \"password=hunter2\").\n")

	var got []string
	for len(got) < 3 {
		ev := nextCommand(t, events)
		require.Equal(t, sh.Client, ev.Fields["from_node"])
		require.Contains(t, ev.Text, "a remote shell from "+sh.Client)
		require.NotContains(t, ev.Text, "hunter2")
		got = append(got, ev.Fields["command"])
	}
	require.Equal(t, []string{"Secret = 6 * 7", "ets:new(made_by_hand, [named_table, public])",
		"application:set_env(myapp, db, \"[REDACTED]"}, got)

	require.NoError(t, s.Stop(ctx))
	requireNoShellTracer(t, c)
}

// TestShellTraceMode checks how the tracer would trace: a meta pattern
// on OTP 25, a trace session where the node has trace:session_create/3
// (OTP 27+; here a module trace that exports it, compiled onto the node,
// stands for such a release: only the detection is checked).
func TestShellTraceMode(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	defer c.Close()
	m, err := ShellTraceMode(ctx, c)
	require.NoError(t, err)
	require.Equal(t, "meta", m)

	_, err = inspect.Eval(ctx, c, `
{ok, trace, Bin} = compile:forms([{attribute, 1, module, trace}, {attribute, 1, export, [{session_create, 3}]},
    {function, 1, session_create, 3, [{clause, 1, [{var, 1, '_'}, {var, 1, '_'}, {var, 1, '_'}], [], [{atom, 1, ok}]}]}]),
{module, trace} = code:load_binary(trace, "trace.erl", Bin), ok.`)
	require.NoError(t, err)
	m, err = ShellTraceMode(ctx, c)
	require.NoError(t, err)
	require.Equal(t, "session", m)
}

// operatorTracing is an operator's dbg session on a node: a worker
// process whose calls to lists:seq/2 are traced (dbg:tpl) to a dbg
// tracer that tells the worker, which counts them.
const operatorTracing = `
W = spawn(fun() ->
        Loop = fun Loop(N) ->
                   receive
                       {traced, _} -> Loop(N + 1);
                       go -> _ = lists:seq(1, 3), Loop(N);
                       {count, From} -> From ! {count, N}, Loop(N)
                   end
               end,
        Loop(0)
    end),
{ok, _} = dbg:tracer(process, {fun(Msg, S) -> W ! {traced, Msg}, S end, ok}),
{ok, _} = dbg:tpl(lists, seq, 2, []),
{ok, _} = dbg:tpl(shell, expand_hist, 2, []), % the very function beamctl meta-traces
{ok, [{matched, _, 1}]} = dbg:p(W, c),
W.
`

// TestShellCaptureLeavesDbgAlone runs an operator's dbg next to beamctl's
// shell capture: a targeted dbg:p set before beamctl starts, and a
// dbg:p(all, c) while it captures, keep matching and delivering trace
// messages, during the capture and after it stopped (flags still set,
// the tracer still dbg's); the operator's dbg:tpl on the very function
// beamctl traces stays too.
func TestShellCaptureLeavesDbgAlone(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	defer c.Close()

	r, err := inspect.Eval(ctx, c, operatorTracing)
	require.NoError(t, err)
	w := r.(etf.Pid)
	count := func() int64 {
		r, err := inspect.EvalWith(ctx, c, `W ! {count, self()}, receive {count, N} -> N after 5000 -> timeout end.`, map[string]etf.Term{"W": w})
		require.NoError(t, err)
		n, err := etf.ToInt64(r)
		require.NoError(t, err)
		return n
	}
	traced := func(want int64) {
		t.Helper()
		require.NoError(t, c.Send(ctx, w, etf.Atom("go")))
		require.Eventually(t, func() bool { return count() >= want }, 10*time.Second, 20*time.Millisecond, "the operator's trace message arrives")
	}
	traced(1)
	tracerOf := func(pid etf.Term) string {
		r, err := c.Call(ctx, "erlang", "trace_info", pid, etf.Atom("tracer"))
		require.NoError(t, err)
		return fmt.Sprint(r)
	}
	dbgTracer := tracerOf(w)

	s, err := TraceShells(ctx, c, ShellOptions{})
	require.NoError(t, err)
	events := s.Events(ctx)
	traced(2)

	// The operator traces every process while beamctl captures.
	r, err = inspect.Eval(ctx, c, `{ok, [{matched, _, N}]} = dbg:p(all, c), N.`)
	require.NoError(t, err)
	matched, err := etf.ToInt64(r)
	require.NoError(t, err)
	require.Greater(t, matched, int64(10), "dbg:p(all, c) matches the node's processes")
	t.Logf("dbg:p(all, c) while beamctl captures matched %d processes", matched)

	sh := testnode.RemoteShell(t, n, "dbgshell")
	sh.Type(t, "ets:new(typed_next_to_dbg, [named_table, public]).\n")
	require.Equal(t, "ets:new(typed_next_to_dbg, [named_table, public])", nextCommand(t, events).Fields["command"])
	traced(3)

	require.NoError(t, s.Stop(ctx))
	require.Eventually(t, func() bool {
		r, err := c.Call(ctx, "erlang", "whereis", etf.Atom(ShellTracerName))
		require.NoError(t, err)
		return r == etf.Atom("undefined")
	}, 5*time.Second, 20*time.Millisecond, "the tracer process is gone")
	meta, err := c.Call(ctx, "erlang", "trace_info", ShellTraceMFA, etf.Atom("meta"))
	require.NoError(t, err)
	mt, err := etf.ToTuple(meta, 2)
	require.NoError(t, err)
	require.NotContains(t, fmt.Sprintf("%T", mt[1]), "Pid", "beamctl's meta pattern is gone: %v", meta)
	local, err := c.Call(ctx, "erlang", "trace_info", ShellTraceMFA, etf.Atom("traced"))
	require.NoError(t, err)
	require.Equal(t, fmt.Sprint(etf.Tuple{etf.Atom("traced"), etf.Atom("local")}), fmt.Sprint(local),
		"the operator's local pattern on the same function stays")
	traced(4)
	require.Equal(t, dbgTracer, tracerOf(w), "the tracer is still dbg's")
	fl, err := c.Call(ctx, "erlang", "trace_info", w, etf.Atom("flags"))
	require.NoError(t, err)
	require.Contains(t, fmt.Sprint(fl), "call", "the worker's call flag is still set")
	// A process matched by dbg:p(all, c) (the code server) keeps its flag.
	cs, err := c.Call(ctx, "erlang", "whereis", etf.Atom("code_server"))
	require.NoError(t, err)
	fl, err = c.Call(ctx, "erlang", "trace_info", cs, etf.Atom("flags"))
	require.NoError(t, err)
	require.Contains(t, fmt.Sprint(fl), "call", "flags set by dbg:p(all, c) stay")
	require.Equal(t, dbgTracer, tracerOf(cs))
}

// TestTwoShellWatchers subscribes two watchers (as two servers would) to
// one node's shells: both get the commands; when one stops, the other
// still gets those typed afterwards; when it stops too, nothing remains.
func TestTwoShellWatchers(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dial := func() *dist.Conn {
		c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return c
	}
	c1, c2 := dial(), dial()
	s1, err := TraceShells(ctx, c1, ShellOptions{})
	require.NoError(t, err)
	s2, err := TraceShells(ctx, c2, ShellOptions{})
	require.NoError(t, err)
	require.Equal(t, s1.pid, s2.pid, "one tracer, two subscribers")
	e1, e2 := s1.Events(ctx), s2.Events(ctx)

	sh := testnode.RemoteShell(t, n, "twosh")
	sh.Type(t, "first_command.\n")
	require.Equal(t, "first_command", nextCommand(t, e1).Fields["command"])
	require.Equal(t, "first_command", nextCommand(t, e2).Fields["command"])

	require.NoError(t, s1.Stop(ctx))
	sh.Type(t, "after_one_stopped.\n")
	require.Equal(t, "after_one_stopped", nextCommand(t, e2).Fields["command"])

	// A watcher whose server goes away (its connection closes) is
	// unsubscribed by the node; the last one out leaves nothing.
	s3, err := TraceShells(ctx, dial(), ShellOptions{})
	require.NoError(t, err)
	require.Equal(t, s2.pid, s3.pid)
	require.NoError(t, s3.conn.Close())
	sh.Type(t, "after_one_left.\n")
	require.Equal(t, "after_one_left", nextCommand(t, e2).Fields["command"])
	require.NoError(t, s2.Stop(ctx))
	requireNoShellTracer(t, c1)
}

// TestShellTracerLeavesOtherMetaTracer: a function has one meta tracer;
// when another tool's is on shell:expand_hist/2, beamctl says so and
// leaves it.
func TestShellTracerLeavesOtherMetaTracer(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	defer c.Close()
	r, err := inspect.Eval(ctx, c, `
P = spawn(fun() -> receive stop -> ok end end),
{module, shell} = code:ensure_loaded(shell),
1 = erlang:trace_pattern({shell, expand_hist, 2}, true, [{meta, P}]), P.`)
	require.NoError(t, err)
	_, err = TraceShells(ctx, c, ShellOptions{})
	require.Error(t, err)
	require.Contains(t, err.Error(), "meta_traced_by")
	m, err := c.Call(ctx, "erlang", "trace_info", ShellTraceMFA, etf.Atom("meta"))
	require.NoError(t, err)
	require.Equal(t, fmt.Sprint(etf.Tuple{etf.Atom("meta"), r}), fmt.Sprint(m), "the other tool's meta tracer stays")
	w, err := c.Call(ctx, "erlang", "whereis", etf.Atom(ShellTracerName))
	require.NoError(t, err)
	require.Equal(t, etf.Atom("undefined"), w)
}

func TestRedactCommand(t *testing.T) {
	pats := []*regexp.Regexp{regexp.MustCompile(`(?i)password\S*`), regexp.MustCompile(`token=\w+`)}
	for _, tc := range []struct{ in, want string }{
		{"ok", "ok"},
		{`db:connect("PassWord=x")`, `db:connect("[REDACTED]`},
		{"call(token=abc, 1)", "call([REDACTED], 1)"},
	} {
		require.Equal(t, tc.want, RedactCommand(tc.in, pats), tc.in)
	}
	require.False(t, strings.Contains(RedactCommand("password", nil), Redacted))
}
