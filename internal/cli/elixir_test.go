package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/testnode"
)

// TestElixirNode: on a real Elixir node (Debian's elixir runtime), the
// GenServer with a flooded mailbox is the first of top by
// message_queue_len, and pi opens it by its Elixir name (MyApp.Worker),
// by :atom and by #PID<...>; rpc takes Elixir's module spellings.
func TestElixirNode(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{Args: testnode.ElixirArgs(t), Eval: testnode.ElixirEval(testnode.ElixirFloodedWorker(5000))})
	cookie := "--cookie=" + n.Cookie

	var top struct {
		Processes []struct {
			Pid    string `json:"pid"`
			Value  int64  `json:"value"`
			Name   string `json:"registered_name"`
			Elixir struct {
				Pid             string `json:"pid"`
				Name            string `json:"registered_name"`
				CurrentFunction string `json:"current_function"`
			} `json:"elixir"`
		} `json:"processes"`
	}
	runJSON(t, &top, cookie, "top", n.Name, "--by", "message_queue_len", "-n", "3")
	require.NotEmpty(t, top.Processes)
	first := top.Processes[0]
	require.Equal(t, "Elixir.MyApp.Worker", first.Name)
	// The JSON has Elixir's spelling beside Erlang's.
	require.Equal(t, "MyApp.Worker", first.Elixir.Name)
	require.Equal(t, "#PID"+first.Pid, first.Elixir.Pid)
	require.Equal(t, "Process.sleep/1", first.Elixir.CurrentFunction)
	require.GreaterOrEqual(t, first.Value, int64(5000))

	type pi struct {
		Pid             string `json:"pid"`
		RegisteredName  string `json:"registered_name"`
		MessageQueueLen int64  `json:"message_queue_len"`
	}
	elixirPid := "#PID" + first.Pid
	for _, name := range []string{"MyApp.Worker", elixirPid, first.Pid} {
		var got pi
		runJSON(t, &got, cookie, "pi", n.Name, name)
		require.Equal(t, first.Pid, got.Pid, name)
		require.Equal(t, "Elixir.MyApp.Worker", got.RegisteredName, name)
		require.GreaterOrEqual(t, got.MessageQueueLen, int64(5000), name)
	}
	code, _, stderr := run(t, cookie, "pi", n.Name, "MyApp.NoSuchWorker")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "MyApp.NoSuchWorker")

	tests := []struct {
		args []string
		want string
	}{
		{[]string{"Enum", "count", "[[1, 2, 3]]"}, "3"},
		{[]string{":erlang", "system_info", "[otp_release]"}, `"25"`},
		{[]string{"String", "upcase", `[<<"beam">>]`}, `"BEAM"`}, // an Elixir module's reply prints as Elixir's
		{[]string{"--syntax", "erlang", "String", "upcase", `[<<"beam">>]`}, `<<"BEAM">>`},
		{[]string{"Map", "new", `[[{user_id, 42}, {<<"k">>, [1, 2]}]]`}, `%{user_id: 42, "k" => [1, 2]}`},
		{[]string{"--syntax", "elixir", "lists", "reverse", `[[{a, 1}]]`}, `[a: 1]`},
		{[]string{":lists", ":reverse", "[[1, 2]]"}, "[2,1]"},
	}
	for _, tt := range tests {
		global, mfa := tt.args[:len(tt.args)-3], tt.args[len(tt.args)-3:] // e.g. --syntax erlang, then M F A
		args := append(append(append([]string{cookie}, global...), "rpc", n.Name), mfa...)
		code, out, stderr := run(t, args...)
		require.Zero(t, code, stderr)
		require.Equal(t, tt.want, strings.TrimSpace(out), strings.Join(tt.args, " "))
	}
	// Tables in Elixir's spelling: the process's pid, name and MFAs.
	code, out, stderr := run(t, cookie, "top", n.Name, "--by", "message_queue_len", "-n", "3")
	require.Zero(t, code, stderr)
	require.Contains(t, out, "#PID"+first.Pid)
	require.Contains(t, out, "MyApp.Worker ")
	require.Contains(t, out, "Process.sleep/1")
	code, out, stderr = run(t, cookie, "pi", n.Name, "MyApp.Worker")
	require.Zero(t, code, stderr)
	require.Contains(t, out, "Process #PID"+first.Pid+" (MyApp.Worker):")
	require.Contains(t, out, "Initial call is MyApp.Worker.init/1")
	require.Contains(t, out, "Current location is Process.sleep/1 (lib/process.ex:")
	require.Contains(t, out, `:"$initial_call" = {MyApp.Worker, :init, 1}`, "the dictionary's terms in Elixir's syntax")
	code, out, _ = run(t, cookie, "--syntax", "erlang", "pi", n.Name, "MyApp.Worker")
	require.Zero(t, code)
	require.Contains(t, out, "Process "+first.Pid+" (Elixir.MyApp.Worker):")

	// Elixir's logger application's tree, in Elixir's spelling.
	code, out, stderr = run(t, cookie, "suptree", n.Name, "--app", "logger")
	require.Zero(t, code, stderr)
	t.Logf("suptree --app logger:\n%s", out)
	require.Contains(t, out, "Logger.")
	require.Contains(t, out, "#PID<")
	require.NotContains(t, out, "Elixir.")

	// apps lists Elixir's own applications next to OTP's.
	code, out, stderr = run(t, cookie, "apps", n.Name)
	require.Zero(t, code, stderr)
	require.Regexp(t, `(?m)^elixir\s+1\.14`, out)

	var rpc struct {
		MFA        string `json:"mfa"`
		Text       string `json:"text"`
		TextElixir string `json:"text_elixir"`
	}
	code, out, _ = run(t, cookie, "-o", "json", "rpc", n.Name, "String", "upcase", `[<<"x">>]`)
	require.Zero(t, code)
	require.NoError(t, json.Unmarshal([]byte(out), &rpc))
	require.Equal(t, "Elixir.String:upcase/1", rpc.MFA)
	require.Equal(t, `<<"X">>`, rpc.Text, "JSON keeps both")
	require.Equal(t, `"X"`, rpc.TextElixir)
}
