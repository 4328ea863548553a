package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/testnode"
)

// The tests of issue 12's "do no harm" items for the command line
// (docs/security.md).

// probe is a connection of the test's own to look at the node.
func probe(t testing.TB, n *testnode.Node) *dist.Conn {
	t.Helper()
	c, err := dist.Dial(context.Background(), n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func probeCall(t testing.TB, c *dist.Conn, m, f string, args ...etf.Term) etf.Term {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := c.Call(ctx, m, f, args...)
	require.NoError(t, err)
	return r
}

func atoms(t *testing.T, c *dist.Conn) int64 {
	t.Helper()
	n, err := etf.ToInt64(probeCall(t, c, "erlang", "system_info", etf.Atom("atom_count")))
	require.NoError(t, err)
	return n
}

// TestCLINoAtoms runs 10,000 commands in-process, each under beamctl's own
// name and with a fresh process name (pi), a few hundred of them at once,
// and 200 real beamctl processes, 8 at a time: the node's atom table grows
// by at most dist.NameSlots (beamctl's names), where before every command
// added its random node name and pi its process name. More commands run at
// once than there are names, so some wait for one: their --timeout (2m)
// covers that wait on a loaded machine (other tests take names too).
func TestCLINoAtoms(t *testing.T) {
	const calls, parallel, processes = 10000, 24, 200
	n := testnode.Start(t, testnode.Options{})
	c := probe(t, n)
	stamp := time.Now().UnixNano()
	pi := func(i int) (int, string, string) {
		var stdout, stderr strings.Builder
		code := Run(context.Background(), []string{"--cookie", n.Cookie, "--timeout", "2m", "pi", n.Name, fmt.Sprintf("fresh_%d_%d", stamp, i)},
			&stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	for i := range 20 { // warm-up: the modules the calls load on the node
		code, _, _ := pi(-i - 1)
		require.Equal(t, 1, code)
	}
	before := atoms(t, c)
	var wg sync.WaitGroup
	errs := make(chan string, calls)
	for w := range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < calls; i += parallel {
				code, _, stderr := pi(i)
				if code != 1 || !strings.Contains(stderr, "no process is registered as") {
					errs <- fmt.Sprintf("pi %d: exit %d: %s", i, code, stderr)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		require.Fail(t, e)
	}
	mid := atoms(t, c)
	t.Logf("%d in-process commands, %d at a time: the node's atom count went from %d to %d", calls, parallel, before, mid)
	require.LessOrEqual(t, mid-before, int64(dist.NameSlots))

	// Real processes: the test binary runs the command line (TestMain).
	sem := make(chan struct{}, 8)
	perrs := make(chan string, processes)
	for i := range processes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cmd := exec.Command(os.Args[0], "--cookie-file", cookieFile(t, n.Cookie), "--timeout", "2m", "ping", n.Name)
			cmd.Env = append(os.Environ(), "BEAMCTL_CLI_MAIN=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				perrs <- fmt.Sprintf("process %d: %v: %s", i, err, out)
			}
		}()
	}
	wg.Wait()
	close(perrs)
	for e := range perrs {
		require.Fail(t, e)
	}
	after := atoms(t, c)
	t.Logf("then %d beamctl processes, 8 at a time: %d", processes, after)
	require.LessOrEqual(t, after-before, int64(dist.NameSlots))
}

var cookieFiles sync.Map

// cookieFile writes the cookie to a 0600 file once (not on command lines).
func cookieFile(t testing.TB, cookie string) string {
	if p, ok := cookieFiles.Load(cookie); ok {
		return p.(string)
	}
	p := t.TempDir() + "/cookie"
	require.NoError(t, os.WriteFile(p, []byte(cookie), 0o600))
	cookieFiles.Store(cookie, p)
	return p
}

// TestCLIAtomsFromArguments: the arguments that name something on the
// node (a registered name, a pid's node, an application of app_env or
// suptree) are looked up
// without creating atoms.
func TestCLIAtomsFromArguments(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	c := probe(t, n)
	stamp := time.Now().UnixNano()
	cases := []struct {
		args    func(i int) []string
		wantErr string
	}{
		{args: func(i int) []string { return []string{"pi", n.Name, fmt.Sprintf("'Fresh %d %d'", stamp, i)} },
			wantErr: "no process is registered as"},
		{args: func(i int) []string {
			return []string{"pi", n.Name, fmt.Sprintf("<'fresh_%d_%d@nohost'.1.0>", stamp, i)}
		},
			wantErr: "is not a process of"},
	}
	for _, tc := range cases {
		code, _, stderr := run(t, append([]string{"--cookie", n.Cookie}, tc.args(-1)...)...)
		require.Equal(t, 1, code)
		require.Contains(t, stderr, tc.wantErr)
	}
	// app_env is not a command: its tool through the registry.
	appEnv, suptree := inspect.MustLookup("app_env"), inspect.MustLookup("suptree")
	before := atoms(t, c)
	for i := range 500 {
		for _, tc := range cases {
			code, _, stderr := run(t, append([]string{"--cookie", n.Cookie}, tc.args(i)...)...)
			require.Equal(t, 1, code)
			require.Contains(t, stderr, tc.wantErr)
		}
		a, err := appEnv.Parse(map[string]string{"app": fmt.Sprintf("fresh_app_%d_%d", stamp, i)})
		require.NoError(t, err)
		_, err = appEnv.Run(context.Background(), c, a)
		require.ErrorContains(t, err, "is loaded on") // no application ... is loaded on NODE
		a, err = suptree.Parse(map[string]string{"app": fmt.Sprintf("fresh_app_%d_%d", stamp, i)})
		require.NoError(t, err)
		_, err = suptree.Run(context.Background(), c, a)
		require.ErrorContains(t, err, "is loaded on")
	}
	after := atoms(t, c)
	t.Logf("2,000 fresh names: the node's atom count went from %d to %d", before, after)
	require.LessOrEqual(t, after-before, int64(dist.NameSlots))
}

// TestCLINoAgent runs every command that would load beamctl_agent with
// --no-agent: it stays unloaded; top scans with erl_eval, the others say
// why they cannot run.
func TestCLINoAgent(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	c := probe(t, n)
	tests := []struct {
		args    []string
		wantErr string // "" for success
	}{
		{args: []string{"top", n.Name, "-n", "1000"}},
		{args: []string{"top", n.Name, "-n", "1000", "--window", "100ms"}},
		{args: []string{"ets", n.Name}, wantErr: "--no-agent"},
		{args: []string{"alloc", n.Name}, wantErr: "--no-agent"},
		{args: []string{"leaks", n.Name, "--no-gc"}, wantErr: "--no-agent"},
		{args: []string{"stat", n.Name, "--count", "1", "--interval", "100ms"}, wantErr: "--no-agent"},
		{args: []string{"metrics", n.Name}},
		{args: []string{"memory", n.Name}},
		{args: []string{"suptree", n.Name}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args[:1], " "), func(t *testing.T) {
			code, stdout, stderr := run(t, append([]string{"--cookie", n.Cookie, "--no-agent"}, tc.args...)...)
			if tc.wantErr == "" {
				require.Zero(t, code, stderr)
				if tc.args[0] == "top" || tc.args[0] == "suptree" {
					require.Contains(t, stdout, "code_server", "%s lists the node's processes", tc.args[0])
				}
			} else {
				require.Equal(t, 1, code, stdout)
				require.Contains(t, stderr, tc.wantErr)
			}
			require.Equal(t, etf.False, probeCall(t, c, "code", "is_loaded", etf.Atom("beamctl_agent")),
				"beamctl_agent was loaded by %v", tc.args)
		})
	}
}

// TestCLITopWindowCancelled interrupts `beamctl top --window 60s` after 2s
// (as Ctrl-C does): nothing of it remains on the node.
func TestCLITopWindowCancelled(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	c := probe(t, n)
	busy := func() int64 {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r, err := inspect.EvalWith(ctx, c, `Self = self(),
length([P || P <- erlang:processes(), P =/= Self,
             case {erlang:process_info(P, current_function), erlang:process_info(P, initial_call)} of
                 {{current_function, {beamctl_agent, swt_loop, 1}}, _} -> false;
                 {{current_function, {beamctl_agent, _, _}}, _} -> true;
                 {{current_function, {timer, sleep, 1}}, _} -> true;
                 {_, {initial_call, {erpc, execute_call, 4}}} -> true;
                 _ -> false
             end]).`, nil)
		require.NoError(t, err)
		v, _ := etf.ToInt64(r)
		return v
	}
	procs := func() int64 {
		v, _ := etf.ToInt64(probeCall(t, c, "erlang", "system_info", etf.Atom("process_count")))
		return v
	}
	for _, agentless := range []bool{false, true} {
		t.Run(fmt.Sprint("agentless=", agentless), func(t *testing.T) {
			require.Zero(t, busy())
			procs0 := procs()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			args := []string{"--cookie", n.Cookie, "top", n.Name, "--window", "60s"}
			if agentless {
				args = append(args, "--agentless")
			}
			go func() {
				var stdout, stderr strings.Builder
				Run(ctx, args, &stdout, &stderr)
				close(done)
			}()
			require.Eventually(t, func() bool { return busy() > 0 }, 30*time.Second, 20*time.Millisecond, "top is running")
			cancel()
			<-done
			var b, p int64
			ok := func() bool { b, p = busy(), procs(); return b == 0 && p <= procs0 }
			deadline := time.Now().Add(20 * time.Second)
			for !ok() && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			require.True(t, ok(), "still on the node: %d busy processes, %d processes (was %d)", b, p, procs0)
		})
	}
}
