package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/audit"
	"github.com/beamctl/beamctl/internal/testnode"
)

// troubledNode starts a node with known trouble: a process registered as
// victim with 50,000 queued messages, one (busy) burning reductions, one
// (binholder) holding a 10 MB refc binary, one (leaker) whose 20 MB binary
// is garbage not yet collected, and an ETS table bigtab of 100,000 rows.
func troubledNode(t *testing.T) *testnode.Node {
	t.Helper()
	n := testnode.Start(t, testnode.Options{Eval: `
		V = spawn(fun() -> receive never -> ok end end), register(victim, V),
		[V ! {msg, I} || I <- lists:seq(1, 50000)],
		B = spawn(fun Loop() -> _ = lists:seq(1, 100), Loop() end), register(busy, B),
		H = spawn(fun() -> Bin = binary:copy(<<1>>, 10000000), receive release -> Bin end end), register(binholder, H),
		L = spawn(fun() -> _ = binary:copy(<<2>>, 20000000), receive stop -> ok end end), register(leaker, L),
		Self = self(),
		spawn(fun() -> ets:new(bigtab, [named_table, public]), ets:insert(bigtab, [{I, I} || I <- lists:seq(1, 100000)]),
		               Self ! ready, receive stop -> ok end end),
		receive ready -> ok end,
		register(troubled_ready, spawn(fun() -> receive stop -> ok end end))`})
	// testnode.Start returns once the set-up has run: the precondition
	// holds at once.
	code, stdout, stderr := run(t, "--cookie", n.Cookie, "rpc", n.Name, "erlang", "whereis", "[troubled_ready]")
	require.Zero(t, code, stderr)
	require.True(t, strings.HasPrefix(stdout, "<"), "the set-up has not run: troubled_ready is %s", stdout)
	return n
}

func runJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	code, stdout, stderr := run(t, append([]string{"-o", "json"}, args...)...)
	require.Zero(t, code, "stderr: %s", stderr)
	require.NoError(t, json.Unmarshal([]byte(stdout), v), stdout)
}

type topJSON struct {
	Node      string `json:"node"`
	By        string `json:"by"`
	Processes []struct {
		Pid             string `json:"pid"`
		Value           int64  `json:"value"`
		Name            string `json:"registered_name"`
		CurrentFunction string `json:"current_function"`
		InitialCall     string `json:"initial_call"`
	} `json:"processes"`
}

func TestInspect(t *testing.T) {
	t.Parallel()
	n := troubledNode(t)
	cookie := "--cookie=" + n.Cookie

	t.Run("agentless top agrees", func(t *testing.T) {
		for _, args := range [][]string{
			{"--by", "message_queue_len", "-n", "3"},
			{"--by", "binary_memory", "-n", "2"},
			{"--by", "reductions", "--window", "300ms", "-n", "1"},
		} {
			var top topJSON
			runJSON(t, &top, append([]string{cookie, "top", n.Name, "--agentless"}, args...)...)
			require.NotEmpty(t, top.Processes)
			require.Contains(t, []string{"victim", "leaker", "busy"}, top.Processes[0].Name, "%v", args)
		}
		code, stdout, _ := run(t, cookie, "rpc", n.Name, "code", "is_loaded", "[beamctl_agent]")
		require.Zero(t, code)
		require.Equal(t, "false\n", stdout, "--agentless loads nothing")
	})
	t.Run("top finds the longest queue", func(t *testing.T) {
		var top topJSON
		runJSON(t, &top, cookie, "top", n.Name, "--by", "message_queue_len", "-n", "3")
		require.Len(t, top.Processes, 3)
		require.Equal(t, "victim", top.Processes[0].Name)
		require.Equal(t, int64(50000), top.Processes[0].Value)
	})
	t.Run("top over a window finds the busy process", func(t *testing.T) {
		var top topJSON
		runJSON(t, &top, cookie, "top", n.Name, "--by", "reductions", "--window", "300ms", "-n", "1")
		require.Len(t, top.Processes, 1)
		require.Equal(t, "busy", top.Processes[0].Name)
		require.Positive(t, top.Processes[0].Value)
	})
	t.Run("top by binary memory finds the holders", func(t *testing.T) {
		var top topJSON
		runJSON(t, &top, cookie, "top", n.Name, "--by", "binary_memory", "-n", "2")
		require.Equal(t, "leaker", top.Processes[0].Name)
		require.Equal(t, int64(20000000), top.Processes[0].Value)
		require.Equal(t, "binholder", top.Processes[1].Name)
		require.Equal(t, int64(10000000), top.Processes[1].Value)
	})
	t.Run("top table", func(t *testing.T) {
		code, stdout, stderr := run(t, cookie, "top", n.Name, "--by", "message_queue_len", "-n", "2")
		require.Zero(t, code, stderr)
		require.Regexp(t, `(?m)^PID\s+NAME OR INITIAL CALL\s+MESSAGE_QUEUE_LEN\s+CURRENT FUNCTION\n<0\.\d+\.0>\s+victim\s+50000\s+`, stdout)
	})
	t.Run("pi shows the queue", func(t *testing.T) {
		var pi struct {
			Pid             string `json:"pid"`
			RegisteredName  string `json:"registered_name"`
			MessageQueueLen int64  `json:"message_queue_len"`
			CurrentFunction string `json:"current_function"`
			MemoryBytes     int64  `json:"memory_bytes"`
			Stack           []struct {
				MFA string `json:"mfa"`
			} `json:"stacktrace"`
		}
		runJSON(t, &pi, cookie, "pi", n.Name, "victim")
		require.Equal(t, "victim", pi.RegisteredName)
		require.Equal(t, int64(50000), pi.MessageQueueLen)
		require.Positive(t, pi.MemoryBytes)
		require.NotEmpty(t, pi.Stack)

		code, stdout, stderr := run(t, cookie, "pi", n.Name, pi.Pid)
		require.Zero(t, code, stderr)
		require.Contains(t, stdout, "Process "+pi.Pid+" (victim):")
		require.Contains(t, stdout, "Message queue length is 50000")
		require.Contains(t, stdout, "Current stack depth is")
	})
	t.Run("pi of a missing name", func(t *testing.T) {
		code, _, stderr := run(t, cookie, "pi", n.Name, "nosuchname")
		require.Equal(t, 1, code)
		require.Contains(t, stderr, "no process is registered as nosuchname")
	})
	t.Run("pi of a dead pid", func(t *testing.T) {
		code, _, stderr := run(t, cookie, "pi", n.Name, "0.9999.0")
		require.Equal(t, 1, code)
		require.Contains(t, stderr, "is not alive")
	})
	t.Run("memory", func(t *testing.T) {
		var rep struct {
			Memory []struct {
				Kind  string `json:"kind"`
				Bytes int64  `json:"bytes"`
			} `json:"memory"`
			Resources []struct {
				Name  string `json:"name"`
				Count int64  `json:"count"`
				Limit int64  `json:"limit"`
			} `json:"resources"`
		}
		runJSON(t, &rep, cookie, "memory", n.Name)
		require.Equal(t, "total", rep.Memory[0].Kind)
		require.Greater(t, rep.Memory[0].Bytes, int64(10<<20), "the 10 MB binary counts")
		require.Len(t, rep.Resources, 4)
		for _, r := range rep.Resources {
			require.Positive(t, r.Count, r.Name)
			require.Greater(t, r.Limit, r.Count, r.Name)
		}
	})
	t.Run("ets finds the big table", func(t *testing.T) {
		var r struct {
			Tables []struct {
				Name        string `json:"name"`
				Size        int64  `json:"size"`
				MemoryBytes int64  `json:"memory_bytes"`
				Owner       string `json:"owner"`
			} `json:"tables"`
		}
		runJSON(t, &r, cookie, "ets", n.Name, "-n", "3")
		require.Len(t, r.Tables, 3)
		require.Equal(t, "bigtab", r.Tables[0].Name)
		require.Equal(t, int64(100000), r.Tables[0].Size)
		require.Greater(t, r.Tables[0].MemoryBytes, int64(100000*8))
		runJSON(t, &r, cookie, "ets", n.Name, "--sort", "size", "--match", "code")
		for _, tab := range r.Tables {
			require.Contains(t, tab.Name, "code")
		}
		require.NotEmpty(t, r.Tables)
	})
	t.Run("msacc sees the busy loop and restores the flag", func(t *testing.T) {
		var rep struct {
			States []string `json:"states"`
			Types  []struct {
				Type    string             `json:"type"`
				Percent map[string]float64 `json:"percent"`
			} `json:"types"`
			WasEnabled bool `json:"was_enabled"`
		}
		runJSON(t, &rep, cookie, "msacc", n.Name, "--duration", "300ms")
		require.False(t, rep.WasEnabled)
		require.Contains(t, rep.States, "emulator")
		found := false
		for _, ty := range rep.Types {
			if ty.Type == "scheduler" {
				found = true
				require.Greater(t, ty.Percent["emulator"], 1.0, "the busy process keeps a scheduler in the emulator")
			}
		}
		require.True(t, found)
		// system_flag returns the previous value: off, as it was found.
		code, stdout, _ := run(t, cookie, "rpc", n.Name, "erlang", "system_flag", "[microstate_accounting, false]")
		require.Zero(t, code)
		require.Equal(t, "false\n", stdout)
		// A measurement already running on the node is left running.
		run(t, cookie, "rpc", n.Name, "erlang", "system_flag", "[microstate_accounting, true]")
		runJSON(t, &rep, cookie, "msacc", n.Name, "--duration", "100ms")
		require.True(t, rep.WasEnabled)
		code, stdout, _ = run(t, cookie, "rpc", n.Name, "erlang", "system_flag", "[microstate_accounting, false]")
		require.Zero(t, code)
		require.Equal(t, "true\n", stdout)
	})
	t.Run("apps", func(t *testing.T) {
		var r struct {
			Applications []struct {
				Name    string `json:"name"`
				Version string `json:"version"`
				Running bool   `json:"running"`
			} `json:"applications"`
		}
		runJSON(t, &r, cookie, "apps", n.Name)
		require.NotEmpty(t, r.Applications)
		require.Equal(t, "kernel", r.Applications[0].Name)
		require.True(t, r.Applications[0].Running)
		require.Regexp(t, `^\d+\.\d+`, r.Applications[0].Version)
		var env struct {
			Env []struct {
				Key   string `json:"key"`
				Value string `json:"value"`
			} `json:"env"`
		}
		runJSON(t, &env, cookie, "apps", n.Name, "--env", "kernel")
		require.NotEmpty(t, env.Env)
	})
	t.Run("stat under load", func(t *testing.T) {
		code, stdout, stderr := run(t, cookie, "-o", "json", "stat", n.Name, "--count", "2", "--interval", "200ms")
		require.Zero(t, code, stderr)
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		require.Len(t, lines, 2)
		for _, l := range lines {
			var s struct {
				Node          string  `json:"node"`
				Reductions    float64 `json:"reductions_per_sec"`
				SchedUtil     float64 `json:"scheduler_util_percent"`
				MsgQueueTotal int64   `json:"msgq_total"`
				MsgQueueMax   int64   `json:"msgq_max"`
				Processes     int64   `json:"processes"`
			}
			require.NoError(t, json.Unmarshal([]byte(l), &s))
			require.Equal(t, n.Name, s.Node)
			require.Greater(t, s.Reductions, 1e5, "the busy process burns reductions")
			require.Greater(t, s.SchedUtil, 10.0)
			require.GreaterOrEqual(t, s.MsgQueueTotal, int64(50000))
			require.Equal(t, int64(50000), s.MsgQueueMax)
		}
		// The VM's scheduler_wall_time flag is off again.
		code, stdout, _ = run(t, cookie, "rpc", n.Name, "erlang", "system_flag", "[scheduler_wall_time, false]")
		require.Zero(t, code)
		require.Equal(t, "false\n", stdout)
		code, stdout, _ = run(t, cookie, "stat", n.Name, "--count", "1", "--interval", "100ms", "--no-queues")
		require.Zero(t, code)
		require.Regexp(t, `(?m)^time\s+node\s+procs\s+msgq`, stdout)
	})
	t.Run("alloc", func(t *testing.T) {
		var rep struct {
			Types []struct {
				Type           string  `json:"type"`
				AllocatedBytes int64   `json:"allocated_bytes"`
				UsedBytes      int64   `json:"used_bytes"`
				UtilPercent    float64 `json:"util_percent"`
				Strategy       string  `json:"strategy"`
			} `json:"types"`
			Total struct {
				AllocatedBytes int64 `json:"allocated_bytes"`
				UsedBytes      int64 `json:"used_bytes"`
			} `json:"total"`
			Instances  []any `json:"instances"`
			Fragmented []any `json:"fragmented"`
		}
		runJSON(t, &rep, cookie, "alloc", n.Name)
		types := map[string]bool{}
		for _, ty := range rep.Types {
			types[ty.Type] = true
			require.GreaterOrEqual(t, ty.AllocatedBytes, ty.UsedBytes, ty.Type)
			require.GreaterOrEqual(t, ty.UtilPercent, 0.0)
			require.LessOrEqual(t, ty.UtilPercent, 100.0)
		}
		require.True(t, types["eheap_alloc"] && types["binary_alloc"] && types["ets_alloc"], "%v", types)
		require.Greater(t, rep.Total.AllocatedBytes, rep.Total.UsedBytes)
		require.Greater(t, rep.Total.UsedBytes, int64(1<<20))
		require.Greater(t, len(rep.Instances), len(rep.Types), "per-scheduler instances")
		code, stdout, stderr := run(t, cookie, "alloc", n.Name, "--instances")
		require.Zero(t, code, stderr)
		require.Regexp(t, `Allocator\s+% util\s+Allocated\s+Used\s+Free\s+Blocks\s+Avg Size\s+Strategy`, stdout)
		require.Contains(t, stdout, "eheap_alloc[1]")
	})
	t.Run("leaks: GC frees the garbage, not what is held", func(t *testing.T) {
		var r struct {
			Processes []struct {
				Name   string `json:"registered_name"`
				Before struct {
					BinaryBytes int64 `json:"binary_bytes"`
				} `json:"before"`
				After struct {
					BinaryBytes int64 `json:"binary_bytes"`
				} `json:"after"`
			} `json:"processes"`
		}
		runJSON(t, &r, cookie, "leaks", n.Name, "-n", "2", "--no-gc")
		require.Equal(t, "leaker", r.Processes[0].Name)
		require.Equal(t, int64(20000000), r.Processes[0].After.BinaryBytes, "--no-gc collects nothing")
		runJSON(t, &r, cookie, "leaks", n.Name, "-n", "2")
		require.Len(t, r.Processes, 2)
		require.Equal(t, "leaker", r.Processes[0].Name)
		require.Equal(t, int64(20000000), r.Processes[0].Before.BinaryBytes)
		require.Zero(t, r.Processes[0].After.BinaryBytes, "the leaker's garbage binary is gone after GC")
		require.Equal(t, "binholder", r.Processes[1].Name)
		require.Equal(t, int64(10000000), r.Processes[1].After.BinaryBytes, "a binary still referenced stays")
		code, stdout, stderr := run(t, cookie, "leaks", n.Name, "-n", "1")
		require.Zero(t, code, stderr)
		require.Contains(t, stdout, "binholder")
		require.Contains(t, stdout, "9.54MB (9.54MB)")
	})
	t.Run("agent remove", func(t *testing.T) {
		var r struct {
			Removed     bool     `json:"removed"`
			LogHandlers []string `json:"removed_log_handlers"`
		}
		// The metrics command installs the agent's log counter handler.
		code, _, stderr := run(t, cookie, "metrics", n.Name)
		require.Zero(t, code, stderr)
		runJSON(t, &r, cookie, "agent", "remove", n.Name)
		require.True(t, r.Removed, "top loaded the agent")
		require.Equal(t, []string{"beamctl_log_counter"}, r.LogHandlers)
		runJSON(t, &r, cookie, "agent", "remove", n.Name)
		require.False(t, r.Removed)
		code, stdout, _ := run(t, cookie, "rpc", n.Name, "code", "is_loaded", "[beamctl_agent]")
		require.Zero(t, code)
		require.Equal(t, "false\n", stdout)
	})
}

func TestEval(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	cookie := "--cookie=" + n.Cookie

	code, stdout, stderr := run(t, cookie, "eval", n.Name, "X = lists:seq(1, 5), lists:sum(X).", "--yes")
	require.Zero(t, code, stderr)
	require.Equal(t, "15\n", stdout)

	code, _, stderr = run(t, cookie, "eval", n.Name, "X = .", "--yes")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "parse: syntax error before: '.'")

	code, _, stderr = run(t, cookie, "eval", n.Name, "1 + 1.")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "pass --yes")

	recs, err := audit.Read(filepath.Join(state, "beamctl", "audit.log"), audit.Filter{})
	require.NoError(t, err)
	require.Len(t, recs, 4, "both evals that ran were logged, before and after; the unconfirmed one was not")
	first := recs[3]
	require.Equal(t, "eval", first.Action)
	require.Equal(t, n.Name, first.Node)
	require.Equal(t, audit.Started, first.Outcome)
	require.Equal(t, "X = lists:seq(1, 5), lists:sum(X).", first.Args["expression"])
	require.NotEmpty(t, first.Who)
	require.NotZero(t, first.Time)
	require.Equal(t, audit.OK, recs[2].Outcome)
	require.Equal(t, "error: parse: syntax error before: '.' (at 1)", recs[0].Outcome)
}

func TestTopWatch(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second) // then "Ctrl-C"
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := Run(ctx, []string{"--cookie", n.Cookie, "top", n.Name, "--watch", "--interval", "200ms", "-n", "3"}, &stdout, &stderr)
	require.Zero(t, code, stderr.String())
	screens := strings.Count(stdout.String(), "\033[H\033[2J")
	require.GreaterOrEqual(t, screens, 2, "it refreshed in place until interrupted")
	require.Equal(t, screens, strings.Count(stdout.String(), "PID  "), "one table per refresh")
}
