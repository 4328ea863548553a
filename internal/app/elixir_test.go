package app

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/testnode"
)

// crasherCode is an Elixir GenServer that raises on a call.
const crasherCode = `
defmodule MyApp.Crasher do
  use GenServer
  def init(state), do: {:ok, state}
  def handle_call(:boom, _from, _state), do: raise "boom in MyApp.Crasher"
end
{:ok, _} = GenServer.start(MyApp.Crasher, nil, name: MyApp.Crasher)
`

// TestElixirLogs: on a real Elixir node, the metadata of a Logger call
// (user_id: 42) and of an Erlang logger call (#{order => 17}) are kept as
// fields, a multi-line message keeps its lines, and a GenServer's crash is
// captured as a crash report.
func TestElixirLogs(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{Args: testnode.ElixirArgs(t), Eval: testnode.ElixirEval(crasherCode)})
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 1s, discover_interval: 1s, collect_timeout: 1s}
clusters:
  - name: ex
    cookie: %s
    nodes: [%s]
`, n.Cookie, n.Name)), t.TempDir())
	require.NoError(t, err)
	srv := startApp(t, cfg, t.TempDir())
	base := "http://" + srv.Addr()
	ctx := context.Background()
	c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	defer c.Close()
	require.Eventually(t, func() bool { // the log handler is in place
		r, err := c.Call(ctx, "logger", "get_handler_ids")
		return err == nil && strings.Contains(fmt.Sprint(r), "beamctl_")
	}, 20*time.Second, 50*time.Millisecond)

	elixir := func(code string) {
		_, err := c.Call(ctx, "Elixir.Code", "eval_string", []byte(code))
		require.NoError(t, err)
	}
	elixir(`require Logger; Logger.error("payment failed\nfor order 17", user_id: 42, region: "eu-west")`)
	elixir(`:logger.error(~c"stock low", [], %{order: 17, sku: ~c"AB-1"})`)
	elixir(`spawn(fn -> GenServer.call(MyApp.Crasher, :boom) end)`)

	find := func(q url.Values, match func(journal.Notification) bool) *journal.Notification {
		var found *journal.Notification
		require.Eventually(t, func() bool {
			for _, x := range notes(t, base, q) {
				if match(x) {
					found = &x
					return true
				}
			}
			return false
		}, 20*time.Second, 100*time.Millisecond, "%v", q)
		return found
	}
	pay := find(url.Values{"grep": {"payment"}}, func(x journal.Notification) bool { return x.Kind == "log" })
	require.Equal(t, "payment failed\nfor order 17", pay.Text, "its lines kept")
	require.Equal(t, "42", pay.Fields["user_id"])
	require.Equal(t, `<<"eu-west">>`, pay.Fields["region"])
	require.Equal(t, journal.Error, pay.Severity)
	require.NotContains(t, pay.Fields, "gl", "not the group leader")

	stock := find(url.Values{"grep": {"stock"}}, func(x journal.Notification) bool { return x.Kind == "log" })
	require.Equal(t, "17", stock.Fields["order"])
	require.Equal(t, `"AB-1"`, stock.Fields["sku"])

	crash := find(url.Values{"kind": {"crash_report"}}, func(x journal.Notification) bool {
		return strings.Contains(x.Text, "MyApp.Crasher")
	})
	require.Contains(t, crash.Text, "boom in MyApp.Crasher")
	require.Contains(t, crash.Text, "\n", "the report's lines kept")
}
