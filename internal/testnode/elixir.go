package testnode

import (
	"fmt"
	"path/filepath"
	"testing"
)

// ElixirArgs are erl's -pa arguments for Elixir's runtime (Debian's
// elixir package): a node started with them and an Eval that starts the
// elixir application runs Elixir code as `elixir --sname` does. The test
// fails when Elixir is missing.
func ElixirArgs(t testing.TB) []string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/elixir/lib/*/ebin")
	if len(dirs) == 0 {
		t.Fatalf("Elixir not found (/usr/lib/elixir/lib/*/ebin): the Elixir tests need Debian's elixir (make test installs it)")
	}
	var args []string
	for _, d := range dirs {
		args = append(args, "-pa", d)
	}
	return args
}

// ElixirEval is an Eval for Start that starts Elixir and evaluates the
// Elixir code (which must not block).
func ElixirEval(code string) string {
	return `{ok, _} = application:ensure_all_started(elixir), {ok, _} = application:ensure_all_started(logger), ` +
		`'Elixir.Code':eval_string(<<"` + erlBinaryEscape(code) + `"/utf8>>), ok.`
}

func erlBinaryEscape(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '\\' || r == '"' {
			out = append(out, '\\')
		}
		out = append(out, r)
	}
	return string(out)
}

// ElixirFloodedWorker is Elixir code (for ElixirEval) that starts a
// GenServer registered as MyApp.Worker, blocks it on its first message
// (in Process.sleep/1) and sends it messages more that wait in its mailbox.
func ElixirFloodedWorker(messages int) string {
	return fmt.Sprintf(`
defmodule MyApp.Worker do
  use GenServer
  def init(state), do: {:ok, state}
  def handle_info(:block, state) do
    Process.sleep(:infinity)
    {:noreply, state}
  end
end
{:ok, pid} = GenServer.start(MyApp.Worker, nil, name: MyApp.Worker)
send(pid, :block)
for i <- 1..%d, do: send(pid, {:msg, i})
`, messages)
}
