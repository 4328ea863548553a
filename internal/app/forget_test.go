package app

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/alarm"
	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/erlnode"
	"github.com/beamctl/beamctl/internal/testnode"
)

// TestForgetLeftNode stops a node found through epmd and a node listed in
// the configuration: once down and not found for forget_after, the
// discovered one is forgotten (no longer known, its series ended, its
// node_down alarm cleared because it left the cluster, a notification);
// the listed one stays, down, with its alarm.
func TestForgetLeftNode(t *testing.T) {
	prefix := erlnode.RandomName("fg")
	stays := testnode.Start(t, testnode.Options{Name: prefix + "x1", Cookie: "forgetcookie"})
	leaves := testnode.Start(t, testnode.Options{Name: prefix + "x2", Cookie: "forgetcookie"})
	listed := testnode.Start(t, testnode.Options{Cookie: "forgetcookie"})
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 300ms, collect_timeout: 300ms, discover_interval: 300ms, forget_after: 2s}
clusters:
  - name: f
    cookie: forgetcookie
    nodes: [%s]
    epmd: {hosts: [%s], name_pattern: "^%s"}
alarms:
  interval: 1s
  builtin:
    node_down: {for: 0s}
`, listed.Name, stays.Host, prefix)), t.TempDir())
	require.NoError(t, err)
	srv := startApp(t, cfg, t.TempDir())
	defer srv.Stop()
	base := "http://" + srv.Addr()
	state := func() map[string]string {
		out := map[string]string{}
		for _, n := range srv.Nodes() {
			out[n.Node] = n.State
		}
		return out
	}
	require.Eventually(t, func() bool {
		s := state()
		return s[stays.Name] == "up" && s[leaves.Name] == "up" && s[listed.Name] == "up" && srv.Evaluating()
	}, 20*time.Second, 100*time.Millisecond)

	raised := func(node string) bool {
		for _, x := range srv.alarms.Active() {
			if x.Rule == "node_down" && x.Node == node {
				return true
			}
		}
		return false
	}
	leaves.Kill()
	listed.Kill()
	require.Eventually(t, func() bool { return raised(leaves.Name) && raised(listed.Name) }, 10*time.Second, 50*time.Millisecond)

	require.Eventually(t, func() bool { _, known := state()[leaves.Name]; return !known }, 20*time.Second, 100*time.Millisecond,
		"the node that left epmd is forgotten")
	s := state()
	require.Equal(t, "up", s[stays.Name])
	require.NotEqual(t, "up", s[listed.Name], "the listed node is kept, down")
	require.False(t, raised(leaves.Name))
	require.True(t, raised(listed.Name))

	ctx := context.Background()
	as, err := srv.alarms.List(ctx, alarm.Filter{Node: leaves.Name})
	require.NoError(t, err)
	require.Len(t, as, 1)
	got, err := srv.alarms.Get(ctx, as[0].ID)
	require.NoError(t, err)
	require.False(t, got.Active)
	last := got.History[len(got.History)-1]
	require.Equal(t, alarm.Cleared, last.Kind)
	require.Equal(t, "left the cluster", last.Text)

	left := notes(t, base, url.Values{"kind": {"node_left"}})
	require.Len(t, left, 1)
	require.Equal(t, leaves.Name, left[0].Node)
	require.Contains(t, left[0].Text, "left the cluster")

	series := func(node string) int {
		r, err := srv.Query(ctx, fmt.Sprintf(`beamctl_node_up{node=%q}`, node))
		require.NoError(t, err)
		return len(r.Series)
	}
	require.Zero(t, series(leaves.Name), "its series ended")
	require.Equal(t, 1, series(listed.Name))

	// It stays forgotten: discovery does not find it again.
	require.Never(t, func() bool { _, known := state()[leaves.Name]; return known }, 3*time.Second, 300*time.Millisecond)
	require.Len(t, notes(t, base, url.Values{"kind": {"node_left"}}), 1)
}

// TestForgetAfterReload reloads a changed cluster (its pool is kept) after
// a discovered node left epmd: the new discovery still knows the node, and
// forgets it.
func TestForgetAfterReload(t *testing.T) {
	prefix := erlnode.RandomName("fr")
	stays := testnode.Start(t, testnode.Options{Name: prefix + "x1", Cookie: "forgetcookie"})
	leaves := testnode.Start(t, testnode.Options{Name: prefix + "x2", Cookie: "forgetcookie"})
	conf := func(family string) *config.Config {
		cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 300ms, collect_timeout: 300ms, discover_interval: 300ms, forget_after: 2s}
clusters:
  - name: f
    cookie: forgetcookie
    family: %s
    epmd: {hosts: [%s], name_pattern: "^%s"}
`, family, stays.Host, prefix)), t.TempDir())
		require.NoError(t, err)
		return cfg
	}
	srv := startApp(t, conf("one"), t.TempDir())
	defer srv.Stop()
	known := func(node string) bool {
		for _, n := range srv.Nodes() {
			if n.Node == node {
				return true
			}
		}
		return false
	}
	require.Eventually(t, func() bool { return known(leaves.Name) && upSince(srv, leaves.Name) != time.Time{} }, 20*time.Second, 100*time.Millisecond)
	leaves.Kill()
	require.Eventually(t, func() bool {
		names, err := dist.Names(context.Background(), leaves.Host, 0)
		require.NoError(t, err)
		for _, n := range names {
			if n.Name+"@"+leaves.Host == leaves.Name {
				return false
			}
		}
		return true
	}, 10*time.Second, 50*time.Millisecond, "gone from epmd")
	require.NoError(t, srv.Reload(conf("two")))
	require.Eventually(t, func() bool { return !known(leaves.Name) }, 20*time.Second, 100*time.Millisecond, "forgotten after the reload")
	require.True(t, known(stays.Name))
}
