package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/alarm"
	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/testnode"
)

// activeOf lists the active alarms of rule.
func activeOf(t *testing.T, base, rule string) []alarm.Alarm {
	t.Helper()
	var out []alarm.Alarm
	for _, x := range alarms(t, base, url.Values{"active": {"true"}}) {
		if x.Rule == rule {
			out = append(out, x)
		}
	}
	return out
}

// TestModuleClashOneAlarm puts the five modules of one application in two
// directories of a real node's code path (as jose is on a stock RabbitMQ):
// one alarm names the count and the directories, not five alarms; it
// clears when one directory leaves the path.
func TestModuleClashOneAlarm(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	root := t.TempDir()
	var dirs []string
	mods := []string{"myapp", "myapp_app", "myapp_sup", "myapp_server", "myapp_util"}
	for _, vsn := range []string{"myapp-1.0", "myapp-1.1"} {
		d := filepath.Join(root, vsn, "ebin")
		require.NoError(t, os.MkdirAll(d, 0o700))
		for _, m := range mods {
			require.NoError(t, os.WriteFile(filepath.Join(d, m+".beam"), nil, 0o600))
		}
		dirs = append(dirs, d)
	}
	c := dialNode(t, n)
	ctx := context.Background()
	for _, d := range []string{dirs[1], dirs[0]} { // dirs[0] first in the path
		_, err := c.Call(ctx, "code", "add_patha", etf.String(d))
		require.NoError(t, err)
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 300ms, collect_timeout: 300ms, discover_interval: 300ms}
clusters:
  - name: clash
    cookie: %s
    nodes: [%s]
alarms:
  interval: 1s
`, n.Cookie, n.Name)), t.TempDir())
	require.NoError(t, err)
	cfg.Clusters[0].Notifications.CodeInterval = config.Duration(100 * time.Millisecond) // release checks every 10 polls: each second
	srv := startApp(t, cfg, t.TempDir())
	defer srv.Stop()
	base := "http://" + srv.Addr()

	require.Eventually(t, func() bool { return len(activeOf(t, base, "module_clash")) > 0 }, 30*time.Second, 100*time.Millisecond)
	as := activeOf(t, base, "module_clash")
	require.Len(t, as, 1, "%+v", as)
	require.Equal(t, n.Name, as[0].Node)
	require.Equal(t, alarm.Minor, as[0].Severity)
	require.Equal(t, 5.0, as[0].Value)
	require.Equal(t, dirs[0]+" "+dirs[1], as[0].Subject)
	require.Equal(t, fmt.Sprintf("5 modules (myapp, myapp_app, myapp_server, myapp_sup, myapp_util) are on %s both in %s and in %s "+
		"of the code path: the copies in %s load.", n.Name, dirs[0], dirs[1], dirs[0]), as[0].Description)

	_, err = c.Call(ctx, "code", "del_path", etf.String(dirs[1]))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(activeOf(t, base, "module_clash")) == 0 }, 30*time.Second, 100*time.Millisecond)
}

// islandsOf reads the islands of connected nodes from the nodes
// themselves (erlang:nodes() on each), as cluster_partitioned names them.
func islandsOf(t *testing.T, conns map[string]*dist.Conn) string {
	t.Helper()
	names := make([]string, 0, len(conns))
	for n := range conns {
		names = append(names, n)
	}
	sort.Strings(names)
	peers := map[string]map[string]bool{}
	for _, n := range names {
		r, err := conns[n].Call(context.Background(), "erlang", "nodes")
		require.NoError(t, err)
		l, err := etf.ToList(r)
		require.NoError(t, err)
		peers[n] = map[string]bool{}
		for _, p := range l {
			peers[n][string(p.(etf.Atom))] = true
		}
	}
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if seen[n] {
			continue
		}
		island, todo := []string{n}, []string{n}
		seen[n] = true
		for len(todo) > 0 {
			x := todo[0]
			todo = todo[1:]
			for _, y := range names {
				if !seen[y] && (peers[x][y] || peers[y][x]) {
					seen[y] = true
					island, todo = append(island, y), append(todo, y)
				}
			}
		}
		sort.Strings(island)
		out = append(out, "["+strings.Join(island, ", ")+"]")
	}
	return strings.Join(out, " ")
}

// TestClusterPartitioned cuts one link of a 3-node mesh with OTP 25's
// default global (prevent_overlapping_partitions true), which then
// disconnects more nodes: cluster_partitioned is raised naming the
// islands the nodes themselves see, partial_netsplit (for the transient
// half-cut) is not left raised, and both are clear after the nodes
// reconnect.
func TestClusterPartitioned(t *testing.T) {
	a := testnode.Start(t, testnode.Options{})
	connect := fmt.Sprintf("net_kernel:connect_node('%s')", a.Name)
	b := testnode.Start(t, testnode.Options{Cookie: a.Cookie, Eval: connect})
	c := testnode.Start(t, testnode.Options{Cookie: a.Cookie, Eval: connect + fmt.Sprintf(", net_kernel:connect_node('%s')", b.Name)})
	conns := map[string]*dist.Conn{a.Name: dialNode(t, a), b.Name: dialNode(t, b), c.Name: dialNode(t, c)}
	ctx := context.Background()
	r, err := conns[a.Name].Call(ctx, "application", "get_env", etf.Atom("kernel"), etf.Atom("prevent_overlapping_partitions"))
	require.NoError(t, err)
	require.True(t, etf.Equal(r, etf.Atom("undefined")) || etf.Equal(r, etf.Tuple{etf.Atom("ok"), etf.True}),
		"OTP 25's default: global prevents overlapping partitions, not %v", r)
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 1s, collect_timeout: 1s, discover_interval: 300ms}
clusters:
  - name: mesh
    cookie: %s
    nodes: [%s, %s, %s]
alarms:
  interval: 1s
  builtin:
    cluster_partitioned: {for: 0s}
`, a.Cookie, a.Name, b.Name, c.Name)), t.TempDir())
	require.NoError(t, err)
	srv := startApp(t, cfg, t.TempDir())
	defer srv.Stop()
	base := "http://" + srv.Addr()

	// The full mesh is read first: six links.
	require.Eventually(t, func() bool {
		res, err := srv.Query(ctx, `count(erlang_vm_dist_connection_info{cluster="mesh",type="normal"})`)
		return err == nil && len(res.Series) == 1 && res.Series[0].Points[0].Value == 6
	}, 30*time.Second, 100*time.Millisecond)
	all := []string{a.Name, b.Name, c.Name}
	sort.Strings(all)
	require.Equal(t, "["+strings.Join(all, ", ")+"]", islandsOf(t, conns))
	require.Empty(t, activeOf(t, base, "cluster_partitioned"))

	r, err = conns[a.Name].Call(ctx, "erlang", "disconnect_node", etf.Atom(b.Name))
	require.NoError(t, err)
	require.Equal(t, etf.True, r)
	desc := regexp.MustCompile(`^Cluster mesh has fallen apart into (\d) islands of connected nodes, all up: (.*)\.$`)
	var seen string
	require.Eventually(t, func() bool {
		as := activeOf(t, base, "cluster_partitioned")
		if len(as) != 1 {
			seen = fmt.Sprintf("%d cluster_partitioned alarms; nodes: %s", len(as), islandsOf(t, conns))
			return false
		}
		m := desc.FindStringSubmatch(as[0].Description)
		if m == nil {
			seen = as[0].Description
			return false
		}
		seen = m[2] + " (nodes: " + islandsOf(t, conns) + ")"
		return as[0].Severity == alarm.Critical && as[0].Node == "" && m[2] == islandsOf(t, conns) && fmt.Sprint(as[0].Value) == m[1]
	}, 90*time.Second, 200*time.Millisecond, "last seen: %s", seen)
	t.Logf("After one link was cut: %s", seen)

	// Reconnected: every pair again.
	for _, p := range [][2]string{{a.Name, b.Name}, {a.Name, c.Name}, {b.Name, c.Name}} {
		r, err := conns[p[0]].Call(ctx, "net_kernel", "connect_node", etf.Atom(p[1]))
		require.NoError(t, err)
		require.Equal(t, etf.True, r, "%s to %s", p[0], p[1])
	}
	require.Eventually(t, func() bool {
		return len(activeOf(t, base, "cluster_partitioned")) == 0 && len(activeOf(t, base, "partial_netsplit")) == 0
	}, 30*time.Second, 100*time.Millisecond)

	// The rules API shows both rules evaluated and healthy.
	resp := get(t, base, "/api/v1/alarm-rules", nil)
	require.Equal(t, "success", resp.Status, resp.Error)
	var rules []struct {
		Name, Type, Health string
		Evaluations        int
	}
	require.NoError(t, json.Unmarshal(resp.Data, &rules))
	health := map[string]string{}
	for _, x := range rules {
		if x.Evaluations > 0 {
			health[x.Name] = x.Type + " " + x.Health
		}
	}
	require.Equal(t, "model ok", health["cluster_partitioned"])
	require.Equal(t, "model ok", health["partial_netsplit"])
}

// TestRuleHealthServed runs a user's PromQL rule that fails at every
// evaluation (label_replace compiles its regular expression then): GET
// /api/v1/rules and /metrics show it failing, with its error.
func TestRuleHealthServed(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 300ms, collect_timeout: 300ms, discover_interval: 300ms}
clusters:
  - name: health
    cookie: %s
    nodes: [%s]
alarms:
  interval: 1s
  rules:
    - {name: broken, expr: 'label_replace(erlang_vm_processes, "x", "$1", "node", "(")', severity: major}
`, n.Cookie, n.Name)), t.TempDir())
	require.NoError(t, err)
	srv := startApp(t, cfg, t.TempDir())
	defer srv.Stop()
	base := "http://" + srv.Addr()
	type status struct {
		Name, Type, Query, Health string
		LastError                 string    `json:"last_error"`
		LastEvaluation            time.Time `json:"last_evaluation"`
		EvaluationSeconds         float64   `json:"evaluation_seconds"`
		Evaluations, Failures     int
	}
	rule := func(name string) status {
		resp := get(t, base, "/api/v1/alarm-rules", nil)
		require.Equal(t, "success", resp.Status, resp.Error)
		var rules []status
		require.NoError(t, json.Unmarshal(resp.Data, &rules))
		for _, r := range rules {
			if r.Name == name {
				return r
			}
		}
		t.Fatalf("no rule %s in %s", name, resp.Data)
		return status{}
	}
	require.Eventually(t, func() bool { return rule("broken").Failures >= 2 }, 30*time.Second, 100*time.Millisecond)
	br := rule("broken")
	require.Equal(t, "query", br.Type)
	require.Equal(t, `label_replace(erlang_vm_processes, "x", "$1", "node", "(")`, br.Query)
	require.Equal(t, "err", br.Health)
	require.Contains(t, br.LastError, "invalid regular expression")
	require.Equal(t, br.Evaluations, br.Failures)
	require.WithinDuration(t, time.Now(), br.LastEvaluation, 10*time.Second)
	require.Equal(t, "ok", rule("process_limit").Health)

	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Regexp(t, `(?m)^beamctl_rule_evaluation_failures_total\{rule="broken"\} [1-9]`, string(body))
	require.Regexp(t, `(?m)^beamctl_rule_evaluation_failures_total\{rule="process_limit"\} 0$`, string(body))
	require.Regexp(t, `(?m)^beamctl_rule_healthy\{rule="broken"\} 0$`, string(body))
	require.Regexp(t, `(?m)^beamctl_rule_last_evaluation_timestamp_seconds\{rule="broken"\} \d`, string(body))
	require.Regexp(t, `(?m)^beamctl_rule_last_evaluation_duration_seconds\{rule="broken"\} \d`, string(body))
}

// anySeverity makes waitSeverity wait for an alarm raised at any
// severity.
const anySeverity alarm.Severity = -1
