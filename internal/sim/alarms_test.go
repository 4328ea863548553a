package sim

import (
	"context"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAlarmsOnSimulatedNodes: serve's alarms work on simulated nodes as on
// real ones. Healthy replayed nodes raise no node alarm; a node killed as
// a crashed VM dies (Server.Kill) raises node_down; a slow node is still
// collected.
func TestAlarmsOnSimulatedNodes(t *testing.T) {
	srv, replay := replayServer(t, "alarms")
	var names []string
	for i, backend := range []Backend{replay, replay, Slow{Backend: replay, Latency: 200 * time.Millisecond}} {
		n, err := srv.AddNode("simalarm"+strconv.Itoa(i+1), backend)
		require.NoError(t, err)
		names = append(names, string(n.Name))
	}
	t.Setenv("ERL_EPMD_PORT", strconv.Itoa(srv.EpmdPort()))
	a, err := StartServe(context.Background(), ServeOptions{
		Nodes: names, Cookie: "alarms", Storage: t.TempDir(),
		CollectInterval: 2 * time.Second, FastInterval: time.Second, CollectTimeout: 2 * time.Second,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Stop() })

	var up struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
		} `json:"result"`
	}
	require.Eventually(t, func() bool {
		apiGet(t, a, "/api/v1/query", url.Values{"query": {`erlang_vm_processes{cluster="sim"}`}}, &up)
		return len(up.Result) == len(names)
	}, 60*time.Second, 500*time.Millisecond, "every node collected, the slow one too")

	type alarm struct {
		Rule, Node string
		Active     bool
	}
	active := func() []alarm {
		var as []alarm
		apiGet(t, a, "/api/v1/alarms", url.Values{"active": {"true"}}, &as)
		return as
	}
	time.Sleep(5 * time.Second) // a few evaluations over the collected nodes
	for _, x := range active() {
		require.Empty(t, x.Node, "a healthy simulated node raised %s", x.Rule)
	}

	require.True(t, srv.Kill("simalarm2"))
	require.Eventually(t, func() bool {
		for _, x := range active() {
			if x.Rule == "node_down" && x.Node == names[1] {
				return true
			}
		}
		return false
	}, 90*time.Second, time.Second, "node_down for the killed node")
}
