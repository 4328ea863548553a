package cli

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/testnode"
)

// troubledNode starts a node with known trouble: a process registered as
// victim with 50,000 queued messages, one (busy) burning reductions, and
// one (binholder) holding a 10 MB refc binary.
func troubledNode(t *testing.T) *testnode.Node {
	t.Helper()
	return testnode.Start(t, testnode.Options{Eval: `
		V = spawn(fun() -> receive never -> ok end end), register(victim, V),
		[V ! {msg, I} || I <- lists:seq(1, 50000)],
		B = spawn(fun Loop() -> _ = lists:seq(1, 100), Loop() end), register(busy, B),
		H = spawn(fun() -> Bin = binary:copy(<<1>>, 10000000), receive release -> Bin end end), register(binholder, H)`})
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
	t.Run("top by binary memory finds the holder", func(t *testing.T) {
		var top topJSON
		runJSON(t, &top, cookie, "top", n.Name, "--by", "binary_memory", "-n", "1")
		require.Equal(t, "binholder", top.Processes[0].Name)
		require.Equal(t, int64(10000000), top.Processes[0].Value)
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
	t.Run("agent remove", func(t *testing.T) {
		var r struct {
			Removed bool `json:"removed"`
		}
		runJSON(t, &r, cookie, "agent", "remove", n.Name)
		require.True(t, r.Removed, "top loaded the agent")
		runJSON(t, &r, cookie, "agent", "remove", n.Name)
		require.False(t, r.Removed)
		code, stdout, _ := run(t, cookie, "rpc", n.Name, "code", "is_loaded", "[beamctl_agent]")
		require.Zero(t, code)
		require.Equal(t, "false\n", stdout)
	})
}
