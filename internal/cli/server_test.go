package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/app"
	"github.com/beamctl/beamctl/internal/config"
)

// TestServerMode runs the inspection commands through a beamctl server
// (--server) instead of a direct connection: no cookie on the client.
func TestServerMode(t *testing.T) {
	t.Parallel()
	n := troubledNode(t)
	cfg, err := config.Parse([]byte(fmt.Sprintf("global: {collect_interval: 1s, collect_timeout: 1s}\nclusters:\n  - name: t\n    cookie: %s\n    nodes: [%s]\n",
		n.Cookie, n.Name)), t.TempDir())
	require.NoError(t, err)
	srv, err := app.New(app.Options{Config: cfg, StoragePath: t.TempDir(), Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	require.NoError(t, srv.Start(context.Background()))
	defer srv.Stop()
	server := "--server=http://" + srv.Addr()
	require.Eventually(t, func() bool {
		for _, node := range srv.Nodes() {
			if node.Node == n.Name && node.State == "up" {
				return true
			}
		}
		return false
	}, 20*time.Second, 50*time.Millisecond)

	var top topJSON
	runJSON(t, &top, server, "top", n.Name, "--by", "message_queue_len", "-n", "1")
	require.Equal(t, "victim", top.Processes[0].Name)
	require.Equal(t, int64(50000), top.Processes[0].Value)

	code, stdout, stderr := run(t, server, "pi", n.Name, "victim")
	require.Zero(t, code, stderr)
	require.Contains(t, stdout, "Message queue length is 50000")

	for _, args := range [][]string{{"memory", n.Name}, {"alloc", n.Name}, {"ets", n.Name, "-n", "1"}, {"apps", n.Name}} {
		code, stdout, stderr := run(t, append([]string{server, "-o", "json"}, args...)...)
		require.Zero(t, code, "%v: %s", args, stderr)
		require.True(t, json.Valid([]byte(stdout)), args)
	}
	var ets struct {
		Tables []struct {
			Name string `json:"name"`
		} `json:"tables"`
	}
	runJSON(t, &ets, server, "ets", n.Name, "-n", "1")
	require.Equal(t, "bigtab", ets.Tables[0].Name)

	code, _, stderr = run(t, server, "top", "nosuch@nohost")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "server: node nosuch@nohost is not managed by this server")
}
