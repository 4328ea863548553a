package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/beamctl/beamctl/internal/alarm"
	"github.com/beamctl/beamctl/internal/capture"
	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/erlnode"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/testnode"
	"github.com/beamctl/beamctl/internal/web"
)

type apiResponse struct {
	Status string          `json:"status"`
	Data   json.RawMessage `json:"data"`
	Error  string          `json:"error"`
}

func get(t *testing.T, base, path string, q url.Values) apiResponse {
	t.Helper()
	resp, err := http.Get(base + path + "?" + q.Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	var r apiResponse
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&r))
	return r
}

type vector struct {
	ResultType string `json:"resultType"`
	Result     []struct {
		Metric map[string]string `json:"metric"`
		Value  []any             `json:"value"`
	} `json:"result"`
}

func startApp(t *testing.T, cfg *config.Config, dir string) *App {
	t.Helper()
	a, err := New(Options{Config: cfg, StoragePath: dir, Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	// Stopped also when the test fails before it stops the server itself:
	// a store left running writes into the removed temporary directory.
	t.Cleanup(func() { _ = a.Stop() })
	require.NoError(t, a.Start(context.Background()))
	return a
}

func TestServe(t *testing.T) {
	a := testnode.Start(t, testnode.Options{})
	b := testnode.Start(t, testnode.Options{Cookie: a.Cookie, Eval: fmt.Sprintf("net_kernel:connect_node('%s')", a.Name)})
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 300ms, collect_timeout: 300ms, discover_interval: 300ms}
clusters:
  - name: test
    cookie: %s
    seeds: [%s]
`, a.Cookie, a.Name)), t.TempDir())
	require.NoError(t, err)
	dir := t.TempDir()
	goroutines := runtime.NumGoroutine()
	srv := startApp(t, cfg, dir)
	base := "http://" + srv.Addr()

	// Discovery from one seed finds both nodes, and both are collected.
	var v vector
	require.Eventually(t, func() bool {
		r := get(t, base, "/api/v1/query", url.Values{"query": {`erlang_vm_processes{cluster="test"}`}})
		return r.Status == "success" && json.Unmarshal(r.Data, &v) == nil && len(v.Result) == 2
	}, 20*time.Second, 100*time.Millisecond)
	nodes := map[string]bool{}
	for _, s := range v.Result {
		nodes[s.Metric["node"]] = true
		require.NotEqual(t, "0", s.Value[1])
	}
	require.Equal(t, map[string]bool{a.Name: true, b.Name: true}, nodes)

	// The model: each node's family (its release), OTP release and uptime,
	// and the families.
	var model []web.Node
	require.NoError(t, json.Unmarshal(get(t, base, "/api/v1/nodes", nil).Data, &model))
	require.Len(t, model, 2)
	for _, n := range model {
		require.Equal(t, "Erlang/OTP 25", n.Family, n.Node)
		require.Equal(t, "25", n.OTPRelease, n.Node)
		require.Greater(t, n.UptimeSeconds, 0.0, n.Node)
	}
	var fams []web.Family
	require.NoError(t, json.Unmarshal(get(t, base, "/api/v1/families", nil).Data, &fams))
	require.Equal(t, []web.Family{{Cluster: "test", Family: "Erlang/OTP 25", Nodes: sortedNames(a.Name, b.Name), OTPReleases: []string{"25"}}}, fams)

	// promtool, Prometheus's own client, reads the API.
	promtool, err := exec.LookPath("promtool")
	require.NoError(t, err, "promtool not found: install the prometheus package (make test does)")
	out, err := exec.Command(promtool, "query", "instant", base, `erlang_vm_memory_bytes{kind="total"}`).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), `node="`+a.Name+`"`)
	require.Contains(t, string(out), `node="`+b.Name+`"`)
	now := time.Now()
	out, err = exec.Command(promtool, "query", "range", "--start", now.Add(-time.Minute).Format(time.RFC3339),
		"--end", now.Add(2*time.Second).Format(time.RFC3339), "--step", "1s", base, `erlang_vm_processes`).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), `node="`+a.Name+`"`)

	// Bad queries get Prometheus's error shape.
	r := get(t, base, "/api/v1/query", url.Values{"query": {"rate("}})
	require.Equal(t, "error", r.Status)
	require.Contains(t, r.Error, "parse error")
	r = get(t, base, "/api/v1/query_range", url.Values{"query": {"up"}, "start": {"x"}, "end": {"1"}, "step": {"1"}})
	require.Equal(t, "error", r.Status)
	r = get(t, base, "/api/v1/label/node/values", nil)
	require.Equal(t, "success", r.Status)
	require.Contains(t, string(r.Data), a.Name)

	r = get(t, base, "/api/v1/series", url.Values{"match[]": {`erlang_vm_memory_bytes{kind="total"}`}})
	require.Equal(t, "success", r.Status)
	var series []map[string]string
	require.NoError(t, json.Unmarshal(r.Data, &series))
	require.Len(t, series, 2)
	r = get(t, base, "/api/v1/metadata", url.Values{"metric": {"erlang_vm_statistics_reductions_total"}})
	require.Equal(t, "success", r.Status)
	require.Contains(t, string(r.Data), `"type":"counter"`)
	out, err = exec.Command(promtool, "query", "series", base, "--match", `erlang_vm_processes`).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), b.Name)

	// A node that joins the cluster later is found by the next discovery.
	c := testnode.Start(t, testnode.Options{Cookie: a.Cookie, Eval: fmt.Sprintf("net_kernel:connect_node('%s')", a.Name)})
	require.Eventually(t, func() bool {
		r := get(t, base, "/api/v1/query", url.Values{"query": {`erlang_vm_processes{node="` + c.Name + `"}`}})
		return r.Status == "success" && json.Unmarshal(r.Data, &v) == nil && len(v.Result) == 1
	}, 20*time.Second, 100*time.Millisecond)

	// beamctl's own metrics, and federation of the managed nodes' samples.
	body := func(path string) string {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(b)
	}
	self := body("/metrics")
	require.Contains(t, self, "go_goroutines ")
	require.Contains(t, self, `beamctl_managed_nodes{cluster="test",state="up"} 3`)
	fed := body("/federate?" + url.Values{"match[]": {`erlang_vm_processes`}}.Encode())
	require.Contains(t, fed, "# TYPE erlang_vm_processes gauge\n")
	require.Contains(t, fed, `erlang_vm_processes{cluster="test",node="`+a.Name+`"} `)
	lint := exec.Command(promtool, "check", "metrics")
	lint.Stdin = strings.NewReader(fed)
	lintOut, err := lint.CombinedOutput()
	require.NoError(t, err, "%s", lintOut)

	// kill -9 a node: its state goes down, and comes back up after restart.
	state := func(node string) string {
		var ns []struct {
			Node  string `json:"node"`
			State string `json:"state"`
		}
		r := get(t, base, "/api/v1/nodes", nil)
		require.NoError(t, json.Unmarshal(r.Data, &ns))
		for _, n := range ns {
			if n.Node == node {
				return n.State
			}
		}
		return ""
	}
	require.Equal(t, "up", state(b.Name))
	b.Kill()
	require.Eventually(t, func() bool { return state(b.Name) == "down" }, 20*time.Second, 100*time.Millisecond)
	r = get(t, base, "/api/v1/query", url.Values{"query": {`beamctl_node_up{node="` + b.Name + `"}`}})
	require.Eventually(t, func() bool {
		r = get(t, base, "/api/v1/query", url.Values{"query": {`beamctl_node_up{node="` + b.Name + `"}`}})
		return json.Unmarshal(r.Data, &v) == nil && len(v.Result) == 1 && v.Result[0].Value[1] == "0"
	}, 20*time.Second, 100*time.Millisecond)
	b.Restart()
	require.Eventually(t, func() bool { return state(b.Name) == "up" }, 30*time.Second, 100*time.Millisecond)

	// Restart the server: samples from before are still there (WAL replay).
	before := time.Now()
	require.NoError(t, srv.Stop())
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= goroutines+5 }, 10*time.Second, 50*time.Millisecond,
		"no collector goroutine outlives Stop")
	srv = startApp(t, cfg, dir)
	defer srv.Stop()
	r = get(t, "http://"+srv.Addr(), "/api/v1/query", url.Values{
		"query": {`erlang_vm_processes{node="` + a.Name + `"}`}, "time": {fmt.Sprintf("%.3f", float64(before.UnixMilli())/1000)},
	})
	require.Equal(t, "success", r.Status)
	require.NoError(t, json.Unmarshal(r.Data, &v))
	require.Len(t, v.Result, 1, "samples stored before the restart")
	require.False(t, strings.Contains(string(r.Data), a.Cookie), "the cookie never appears in the API")
}

func sortedNames(names ...string) []string {
	sort.Strings(names)
	return names
}

// TestCollectorIntervals checks that the fast set runs at the fast
// interval, a collector at its own interval, a disabled one not at all,
// and that a configured family names the node's family.
func TestCollectorIntervals(t *testing.T) {
	a := testnode.Start(t, testnode.Options{})
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 3s, fast_interval: 200ms, collect_timeout: 2s}
clusters:
  - name: test
    cookie: %s
    nodes: [%s]
    family: chat
    collectors:
      ets: false
      os: {interval: 1s}
`, a.Cookie, a.Name)), t.TempDir())
	require.NoError(t, err)
	srv := startApp(t, cfg, t.TempDir())
	defer srv.Stop()
	base := "http://" + srv.Addr()
	count := func(q string) int {
		var v vector
		r := get(t, base, "/api/v1/query", url.Values{"query": {q}})
		require.Equal(t, "success", r.Status, r.Error)
		require.NoError(t, json.Unmarshal(r.Data, &v))
		if len(v.Result) == 0 {
			return 0
		}
		n, err := strconv.Atoi(v.Result[0].Value[1].(string))
		require.NoError(t, err)
		return n
	}
	// Judged by the samples' timestamps, not by counts after a sleep: a
	// busy machine delays rounds (gaps grow), but a collector never runs
	// more often than its interval (less half a tick of slack).
	gaps := func(series string) []time.Duration {
		r := get(t, base, "/api/v1/query", url.Values{"query": {series + "[1m]"}})
		require.Equal(t, "success", r.Status, r.Error)
		var m struct {
			Result []struct {
				Values [][]any `json:"values"`
			} `json:"result"`
		}
		require.NoError(t, json.Unmarshal(r.Data, &m))
		require.Len(t, m.Result, 1, series)
		var ts []float64
		for _, v := range m.Result[0].Values {
			ts = append(ts, v[0].(float64))
		}
		var out []time.Duration
		for i := 1; i < len(ts); i++ {
			out = append(out, time.Duration((ts[i]-ts[i-1])*float64(time.Second)))
		}
		slices.Sort(out)
		return out
	}
	const fast, own, slow = `erlang_vm_memory_bytes{kind="total"}`, `erlang_vm_os_open_fds`, `erlang_vm_processes`
	require.Eventually(t, func() bool { return count("count_over_time("+slow+"[1m])") >= 2 }, 30*time.Second, 50*time.Millisecond,
		"two rounds of the system collector")
	slowGaps, ownGaps, fastGaps := gaps(slow), gaps(own), gaps(fast)
	require.GreaterOrEqual(t, slowGaps[0], 2800*time.Millisecond, "system every 3s: %v", slowGaps)
	require.GreaterOrEqual(t, ownGaps[0], 800*time.Millisecond, "os every 1s: %v", ownGaps)
	require.Less(t, ownGaps[len(ownGaps)/2], 2*time.Second, "os every 1s, not at the normal 3s: %v", ownGaps)
	require.GreaterOrEqual(t, len(fastGaps), 2*len(ownGaps), "fast set every 200ms: %v", fastGaps)
	require.Less(t, fastGaps[len(fastGaps)/2], 600*time.Millisecond, "fast set every 200ms, not at os's 1s: %v", fastGaps)
	require.Equal(t, 0, count(`count(erlang_vm_ets_tables)`), "ets is disabled")
	require.Greater(t, count(`count(erlang_vm_scheduler_utilization_ratio)`), 0)
	var model []web.Node
	require.NoError(t, json.Unmarshal(get(t, base, "/api/v1/nodes", nil).Data, &model))
	require.Len(t, model, 1)
	require.Equal(t, "chat", model[0].Family)
}

// TestTLSCluster watches a node that runs TLS distribution only, with the
// certificates named in the config.
func TestTLSCluster(t *testing.T) {
	files := testnode.MakeTLS(t)
	n := testnode.Start(t, testnode.Options{Args: testnode.TLSDistArgs(t, files)})
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 300ms, collect_timeout: 300ms, discover_interval: 300ms}
clusters:
  - name: tls
    cookie: %s
    nodes: [%s]
    tls: {cert_file: %s, key_file: %s, ca_file: %s}
`, n.Cookie, n.Name, files.ClientCert, files.ClientKey, files.CACert)), t.TempDir())
	require.NoError(t, err)
	srv := startApp(t, cfg, t.TempDir())
	defer srv.Stop()
	require.Eventually(t, func() bool {
		var v vector
		r := get(t, "http://"+srv.Addr(), "/api/v1/query", url.Values{"query": {`erlang_vm_processes{cluster="tls"}`}})
		return r.Status == "success" && json.Unmarshal(r.Data, &v) == nil && len(v.Result) == 1
	}, 20*time.Second, 100*time.Millisecond, "collected over TLS")
}

func TestEpmdDiscovery(t *testing.T) {
	prefix := erlnode.RandomName("ed")
	a := testnode.Start(t, testnode.Options{Name: prefix + "x1", Cookie: "epmdcookie"})
	b := testnode.Start(t, testnode.Options{Name: prefix + "x2", Cookie: "epmdcookie"})
	other := testnode.Start(t, testnode.Options{Cookie: "epmdcookie"}) // does not match the pattern
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 300ms, collect_timeout: 300ms, discover_interval: 300ms}
clusters:
  - name: scanned
    cookie: epmdcookie
    epmd: {hosts: [%s], name_pattern: "^%s"}
`, a.Host, prefix)), t.TempDir())
	require.NoError(t, err)
	srv := startApp(t, cfg, t.TempDir())
	defer srv.Stop()
	require.Eventually(t, func() bool {
		found := map[string]bool{}
		for _, n := range srv.Nodes() {
			if n.State == "up" {
				found[n.Node] = true
			}
		}
		return found[a.Name] && found[b.Name] && !found[other.Name]
	}, 20*time.Second, 100*time.Millisecond)
}

func TestReload(t *testing.T) {
	a := testnode.Start(t, testnode.Options{})
	b := testnode.Start(t, testnode.Options{Cookie: a.Cookie})
	dir := t.TempDir()
	file := filepath.Join(dir, "beamctl.yml")
	write := func(nodes string) {
		require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(`
global: {collect_interval: 300ms, collect_timeout: 300ms, discover_interval: 300ms}
clusters:
  - name: r
    cookie: %s
    nodes: [%s]
`, a.Cookie, nodes)), 0o600))
	}
	write(a.Name)
	cfg, err := config.Load(file)
	require.NoError(t, err)
	srv, err := New(Options{Config: cfg, ConfigFile: file, StoragePath: t.TempDir(), Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	require.NoError(t, srv.Start(context.Background()))
	defer srv.Stop()
	since := func(node string) time.Time {
		for _, n := range srv.Nodes() {
			if n.Node == node && n.State == "up" {
				return n.Since
			}
		}
		return time.Time{}
	}
	require.Eventually(t, func() bool { return !since(a.Name).IsZero() }, 20*time.Second, 50*time.Millisecond)
	upSince := since(a.Name)

	// POST /-/reload with a second node: it is collected, and the first
	// node's connection is not dropped.
	write(a.Name + ", " + b.Name)
	resp, err := http.Post("http://"+srv.Addr()+"/-/reload", "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Eventually(t, func() bool { return !since(b.Name).IsZero() }, 20*time.Second, 50*time.Millisecond)
	require.Equal(t, upSince, since(a.Name), "the unchanged node kept its connection")

	// An invalid file is refused and changes nothing.
	require.NoError(t, os.WriteFile(file, []byte("clusters: []\n"), 0o600))
	resp, err = http.Post("http://"+srv.Addr()+"/-/reload", "", nil)
	require.NoError(t, err)
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, string(msg), "clusters must list at least one cluster")
	require.Equal(t, upSince, since(a.Name))
	require.False(t, since(b.Name).IsZero())
}

// TestDNSDiscovery resolves "localhost" (A records) to hosts and finds the
// long-name node registered there, as a headless service's pod IPs would.
func TestDNSDiscovery(t *testing.T) {
	prefix := erlnode.RandomName("dn")
	n := testnode.Start(t, testnode.Options{Name: prefix, LongName: true, Cookie: "dnscookie"})
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 300ms, collect_timeout: 300ms, discover_interval: 300ms}
clusters:
  - name: dns
    cookie: dnscookie
    dns: {names: [localhost], name_pattern: "^%s$"}
`, prefix)), t.TempDir())
	require.NoError(t, err)
	srv := startApp(t, cfg, t.TempDir())
	defer srv.Stop()
	require.Eventually(t, func() bool {
		for _, node := range srv.Nodes() {
			if node.Node == n.Name && node.State == "up" {
				return true
			}
		}
		return false
	}, 20*time.Second, 100*time.Millisecond)
}

// notes queries the server's notifications.
func notes(t *testing.T, base string, q url.Values) []journal.Notification {
	t.Helper()
	r := get(t, base, "/api/v1/notifications", q)
	require.Equal(t, "success", r.Status, r.Error)
	var ns []journal.Notification
	require.NoError(t, json.Unmarshal(r.Data, &ns))
	return ns
}

const loadModule = `
Forms = [begin {ok, T, _} = erl_scan:string(S), {ok, F} = erl_parse:parse_form(T), F end
         || S <- ["-module(beamctl_test_mod).", "-export([v/0]).", "v() -> " ++ V ++ "."]],
{ok, M, Bin} = compile:forms(Forms, [binary]),
code:load_binary(M, "beamctl_test_mod.erl", Bin).`

// TestNotifications checks what the server records about a node: its
// lifecycle, logs and crash reports, code loaded by hand (also while the
// server was stopped), and a log burst that is rate limited.
func TestNotifications(t *testing.T) {
	a := testnode.Start(t, testnode.Options{})
	var exportedMu sync.Mutex
	exported := map[string]int{} // kind -> records, as an OTLP endpoint received them
	otlp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ResourceLogs []struct {
				ScopeLogs []struct {
					LogRecords []struct {
						Attributes []struct {
							Key   string
							Value struct{ StringValue string }
						}
					}
				}
			}
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		exportedMu.Lock()
		defer exportedMu.Unlock()
		for _, rl := range body.ResourceLogs {
			for _, sl := range rl.ScopeLogs {
				for _, lr := range sl.LogRecords {
					for _, at := range lr.Attributes {
						if at.Key == "beamctl.kind" {
							exported[at.Value.StringValue]++
						}
					}
				}
			}
		}
	}))
	defer otlp.Close()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 300ms, collect_timeout: 300ms, discover_interval: 300ms}
clusters:
  - name: test
    cookie: %s
    nodes: [%s]
    notifications: {code_interval: 1s, system_monitor: record}
exports:
  - {format: otlp, url: "%s/v1/logs", min_severity: warning}
`, a.Cookie, a.Name, otlp.URL)), t.TempDir())
	require.NoError(t, err)
	dir := t.TempDir()
	srv := startApp(t, cfg, dir)
	base := "http://" + srv.Addr()
	ctx := context.Background()
	c, err := dist.Dial(ctx, a.Name, dist.Options{Cookie: a.Cookie})
	require.NoError(t, err)
	defer c.Close()
	has := func(q url.Values, match func(journal.Notification) bool) func() bool {
		return func() bool {
			for _, n := range notes(t, base, q) {
				if match(n) {
					return true
				}
			}
			return false
		}
	}
	any := func(journal.Notification) bool { return true }
	require.Eventually(t, has(url.Values{"kind": {"node_first_seen"}, "node": {a.Name}}, any), 10*time.Second, 50*time.Millisecond)
	// The log handler is in place once the node is watched.
	require.Eventually(t, func() bool {
		r, err := c.Call(ctx, "logger", "get_handler_ids")
		require.NoError(t, err)
		return strings.Contains(fmt.Sprint(r), "beamctl_")
	}, 10*time.Second, 50*time.Millisecond)

	// A crashing gen_server: its crash report with mfa and reason.
	_, err = c.Call(ctx, "gen_server", "start", etf.Tuple{etf.Atom("local"), etf.Atom("notif_test_pg")}, etf.Atom("pg"),
		etf.List{etf.Atom("notif_test_pg")}, etf.List{})
	require.NoError(t, err)
	_, _ = c.Call(ctx, "gen_server", "call", etf.Atom("notif_test_pg"), etf.Atom("unexpected"))
	require.Eventually(t, has(url.Values{"kind": {"crash_report"}, "grep": {"notif_test_pg"}}, func(n journal.Notification) bool {
		return n.Severity == journal.Error && strings.Contains(n.Text, "pg:init/1") && strings.Contains(n.Text, "bad argument") && n.Fields["mfa"] != ""
	}), 10*time.Second, 50*time.Millisecond)

	// Code loaded by hand, then changed: both md5s.
	_, err = inspect.EvalWith(ctx, c, loadModule, map[string]etf.Term{"V": etf.String("1")})
	require.NoError(t, err)
	require.Eventually(t, has(url.Values{"kind": {"code_loaded"}, "grep": {"beamctl_test_mod"}}, any), 10*time.Second, 50*time.Millisecond)
	_, err = inspect.EvalWith(ctx, c, loadModule, map[string]etf.Term{"V": etf.String("2")})
	require.NoError(t, err)
	var reloaded journal.Notification
	require.Eventually(t, has(url.Values{"kind": {"code_reloaded"}}, func(n journal.Notification) bool {
		reloaded = n
		return n.Fields["module"] == "beamctl_test_mod"
	}), 10*time.Second, 50*time.Millisecond)
	require.Len(t, reloaded.Fields["old_md5"], 32)
	require.Len(t, reloaded.Fields["new_md5"], 32)
	require.NotEqual(t, reloaded.Fields["old_md5"], reloaded.Fields["new_md5"])
	require.Equal(t, journal.Warning, reloaded.Severity)
	require.Eventually(t, func() bool { // a poll saw the old code
		var mods capture.Modules
		_, err := srv.Recorder().Store().LoadSnapshot(ctx, "test", a.Name, "modules", &mods)
		require.NoError(t, err)
		return strings.HasSuffix(mods["beamctl_test_mod"], "+old")
	}, 10*time.Second, 50*time.Millisecond)
	_, err = c.Call(ctx, "code", "purge", etf.Atom("beamctl_test_mod"))
	require.NoError(t, err)
	require.Eventually(t, has(url.Values{"kind": {"code_purged"}, "grep": {"beamctl_test_mod"}}, any), 10*time.Second, 50*time.Millisecond)

	// A command typed in a remote shell.
	testnode.RemoteShell(t, a, "notifsh").Type(t, "ets:new(typed_by_hand, [named_table, public]).\n")
	require.Eventually(t, has(url.Values{"kind": {"shell_command"}}, func(n journal.Notification) bool {
		return n.Fields["command"] == "ets:new(typed_by_hand, [named_table, public])" && strings.HasPrefix(n.Fields["from_node"], "notifsh")
	}), 10*time.Second, 50*time.Millisecond)

	// The node's own alarms (alarm_handler, with SASL), set and cleared.
	_, err = c.Call(ctx, "application", "ensure_all_started", etf.Atom("sasl"))
	require.NoError(t, err)
	_, err = c.Call(ctx, "alarm_handler", "set_alarm", etf.Tuple{etf.Atom("test_disk_alarm"), etf.String("disk almost full")})
	require.NoError(t, err)
	require.Eventually(t, has(url.Values{"kind": {"node_alarm_set"}}, func(n journal.Notification) bool {
		return n.Fields["alarm"] == "test_disk_alarm" && n.Fields["description"] == `"disk almost full"`
	}), 10*time.Second, 50*time.Millisecond)
	_, err = c.Call(ctx, "alarm_handler", "clear_alarm", etf.Atom("test_disk_alarm"))
	require.NoError(t, err)
	require.Eventually(t, has(url.Values{"kind": {"node_alarm_cleared"}, "grep": {"test_disk_alarm"}}, any), 10*time.Second, 50*time.Millisecond)
	require.Eventually(t, has(url.Values{"kind": {"application_started"}}, func(n journal.Notification) bool {
		return n.Fields["application"] == "sasl"
	}), 10*time.Second, 50*time.Millisecond)

	// A burst of 10,000 error logs: rate limited, with the count of what was dropped.
	_, err = inspect.EvalWith(ctx, c, `[logger:error("burst ~p", [I]) || I <- lists:seq(1, 10000)], ok.`, nil)
	require.NoError(t, err)
	// Dropped on the node (over 200 a second) and by the server's limit,
	// each reported as rate_limited: together nearly all of the burst.
	require.Eventually(t, func() bool {
		dropped := 0
		for _, n := range notes(t, base, url.Values{"kind": {"rate_limited"}}) {
			if n.Fields["dropped_kind"] == "log" {
				d, err := strconv.Atoi(n.Fields["dropped"])
				require.NoError(t, err)
				dropped += d
			}
		}
		return dropped > 9000
	}, 30*time.Second, 100*time.Millisecond)
	kept := len(notes(t, base, url.Values{"grep": {"burst"}, "kind": {"log"}, "limit": {"10000"}}))
	require.Less(t, kept, 1000, "the burst allowance and the rate, not the flood")
	r, err := c.Call(ctx, "erlang", "node") // the node's logger did not stall it
	require.NoError(t, err)
	require.Equal(t, etf.Atom(a.Name), r)

	// A change made while the server is stopped is reported at reconnect.
	require.NoError(t, srv.Stop())
	_, err = inspect.EvalWith(ctx, c, loadModule, map[string]etf.Term{"V": etf.String("3")})
	require.NoError(t, err)
	srv = startApp(t, cfg, dir)
	defer srv.Stop()
	base = "http://" + srv.Addr()
	require.Eventually(t, has(url.Values{"kind": {"code_reloaded"}}, func(n journal.Notification) bool {
		return n.Fields["module"] == "beamctl_test_mod" && n.Fields["observed"] == "changed while unobserved" &&
			n.Fields["old_md5"] == reloaded.Fields["new_md5"]
	}), 10*time.Second, 50*time.Millisecond)
	require.Eventually(t, has(url.Values{"kind": {"node_up"}, "node": {a.Name}}, any), 10*time.Second, 50*time.Millisecond,
		"known from before the restart: up, not first seen")

	// system_monitor events: recorded and counted.
	_, err = inspect.EvalWith(ctx, c, `spawn(fun() -> L = lists:seq(1, 5000000), timer:sleep(100), length(L) end), ok.`, nil)
	require.NoError(t, err)
	require.Eventually(t, has(url.Values{"kind": {"sysmon_large_heap"}}, any), 40*time.Second, 100*time.Millisecond)
	require.Eventually(t, func() bool { // counted: reported every 5 s, stored at the next round
		var v vector
		r := get(t, base, "/api/v1/query", url.Values{"query": {`erlang_vm_system_monitor_events_total{event="large_heap"} > 0`}})
		return r.Status == "success" && json.Unmarshal(r.Data, &v) == nil && len(v.Result) == 1
	}, 40*time.Second, 100*time.Millisecond)

	// kill -9 and restart: down with its reason, up, restarted.
	a.Kill()
	require.Eventually(t, has(url.Values{"kind": {"node_down"}}, func(n journal.Notification) bool { return n.Fields["reason"] != "" }),
		20*time.Second, 100*time.Millisecond)
	a.Restart()
	require.Eventually(t, has(url.Values{"kind": {"node_restarted"}}, any), 30*time.Second, 100*time.Millisecond)

	// erlang:halt/1 writes a crash dump; after the restart it is fetched.
	c2, err := dist.Dial(ctx, a.Name, dist.Options{Cookie: a.Cookie})
	require.NoError(t, err)
	_, _ = c2.Call(ctx, "erlang", "halt", etf.String("boom"))
	c2.Close()
	a.Restart()
	var dump journal.Notification
	require.Eventually(t, has(url.Values{"kind": {"crash_dump"}}, func(n journal.Notification) bool {
		dump = n
		return true
	}), 30*time.Second, 100*time.Millisecond)
	require.Equal(t, "boom", dump.Fields["slogan"])
	require.Equal(t, journal.Critical, dump.Severity)
	require.FileExists(t, dump.Fields["stored"])
	require.True(t, strings.HasPrefix(dump.Fields["stored"], dir), "in the server's data directory")
	require.FileExists(t, dump.Fields["renamed_to"], "renamed on the node")

	// Exported: warnings and above only.
	require.Eventually(t, func() bool {
		exportedMu.Lock()
		defer exportedMu.Unlock()
		return exported["crash_dump"] == 1 && exported["node_down"] >= 1
	}, 10*time.Second, 50*time.Millisecond)
	exportedMu.Lock()
	require.Zero(t, exported["node_up"], "info is below min_severity")
	exportedMu.Unlock()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	self, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Contains(t, string(self), `beamctl_export_notifications_total{result="sent",target="exports[0] otlp `+otlp.URL+`"}`)
	require.Contains(t, string(self), `beamctl_notifications_total{cluster="test",kind="crash_dump",node="`+a.Name+`",result="recorded"} 1`)
	require.NotContains(t, string(self), `kind="code_deleted"`, "modules not loaded after a restart are no news")
}

// alarms reads the server's alarms.
func alarms(t *testing.T, base string, q url.Values) []alarm.Alarm {
	t.Helper()
	r := get(t, base, "/api/v1/alarms", q)
	require.Equal(t, "success", r.Status, r.Error)
	var as []alarm.Alarm
	require.NoError(t, json.Unmarshal(r.Data, &as))
	return as
}

// TestAlarms creates conditions on real nodes and checks that built-in
// alarms are raised with their severity and details and cleared when the
// condition goes; that a restart of the server neither raises again nor
// loses them; and that operators' actions are recorded.
func TestAlarms(t *testing.T) {
	a := testnode.Start(t, testnode.Options{Args: []string{"+P", "1024"}})
	b := testnode.Start(t, testnode.Options{Cookie: a.Cookie})
	var hookMu sync.Mutex
	var hooked []string // event kind and rule, as a webhook receiver decoded them
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			Event struct{ Kind string }
			Alarm struct{ Rule string }
		}
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		hookMu.Lock()
		hooked = append(hooked, m.Event.Kind+" "+m.Alarm.Rule)
		hookMu.Unlock()
	}))
	defer hook.Close()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 300ms, collect_timeout: 300ms, discover_interval: 300ms}
clusters:
  - name: test
    cookie: %s
    nodes: [%s, %s]
alarms:
  interval: 1s
  builtin:
    process_limit: {for: 0s}
    process_message_queue: {for: 0s, minor: 5000}
    node_down: {for: 1s}
  rules:
    - {name: many_processes, expr: "erlang_vm_processes > 500", severity: warning}
  notifiers:
    - {url: "%s"}
  event_rules:
    - {name: crash_loop, kind: crash_report, count: 3, window: 1m, group_by: mfa, severity: major}
`, a.Cookie, a.Name, b.Name, hook.URL)), t.TempDir())
	require.NoError(t, err)
	dir := t.TempDir()
	srv := startApp(t, cfg, dir)
	base := "http://" + srv.Addr()
	ctx := context.Background()
	c, err := dist.Dial(ctx, a.Name, dist.Options{Cookie: a.Cookie})
	require.NoError(t, err)
	defer c.Close()
	find := func(rule, node string) func() (alarm.Alarm, bool) {
		return func() (alarm.Alarm, bool) {
			for _, x := range alarms(t, base, url.Values{"active": {"true"}}) {
				if x.Rule == rule && x.Node == node {
					return x, true
				}
			}
			return alarm.Alarm{}, false
		}
	}
	raised := func(rule, node string) func() bool {
		return func() bool { _, ok := find(rule, node)(); return ok }
	}

	// A gen_server that crashes three times in a minute: the event rule.
	require.Eventually(t, func() bool {
		r, err := c.Call(ctx, "logger", "get_handler_ids")
		require.NoError(t, err)
		return strings.Contains(fmt.Sprint(r), "beamctl_")
	}, time.Minute, 50*time.Millisecond, "serve installed its log handler")
	for range 3 {
		_, err = c.Call(ctx, "gen_server", "start", etf.Tuple{etf.Atom("local"), etf.Atom("loop_pg")}, etf.Atom("pg"),
			etf.List{etf.Atom("loop_pg")}, etf.List{})
		require.NoError(t, err)
		_, _ = c.Call(ctx, "gen_server", "call", etf.Atom("loop_pg"), etf.Atom("unexpected"))
	}
	require.Eventually(t, raised("crash_loop", a.Name), 20*time.Second, 100*time.Millisecond)
	cl, _ := find("crash_loop", a.Name)()
	require.Equal(t, alarm.Major, cl.Severity)
	require.Contains(t, cl.Description, "3 crash_report notifications in 1m0s")

	// Fill a's process table (limit 1024) to over 95%.
	_, err = inspect.EvalWith(ctx, c, `[spawn(timer, sleep, [infinity]) || _ <- lists:seq(1, 1000 - erlang:system_info(process_count))], ok.`, nil)
	require.NoError(t, err)
	require.Eventually(t, raised("process_limit", a.Name), 20*time.Second, 100*time.Millisecond)
	pl, _ := find("process_limit", a.Name)()
	require.Equal(t, alarm.Critical, pl.Severity)
	require.Contains(t, pl.Description, "of its process limit (+P)")
	require.Eventually(t, raised("many_processes", a.Name), 20*time.Second, 100*time.Millisecond, "the user's rule")
	require.Eventually(t, func() bool {
		hookMu.Lock()
		defer hookMu.Unlock()
		return slices.Contains(hooked, "raised process_limit")
	}, 10*time.Second, 50*time.Millisecond, "delivered to the webhook")
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	self, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Contains(t, string(self), `beamctl_alarms_active{cluster="test",rule="process_limit",severity="critical"} 1`)

	// A process that receives 20,000 messages and never reads them.
	_, err = inspect.EvalWith(ctx, c, `P = spawn(timer, sleep, [infinity]), register(never_reads, P), [P ! I || I <- lists:seq(1, 20000)], ok.`, nil)
	require.NoError(t, err)
	require.Eventually(t, raised("process_message_queue", a.Name), 20*time.Second, 100*time.Millisecond)
	mq, _ := find("process_message_queue", a.Name)()
	require.Equal(t, alarm.Minor, mq.Severity)
	require.Contains(t, mq.Description, "never_reads")

	// An operator acknowledges and comments.
	resp, err = http.PostForm(base+fmt.Sprintf("/api/v1/alarms/%d/ack", mq.ID), url.Values{"who": {"alice"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, err = http.PostForm(base+fmt.Sprintf("/api/v1/alarms/%d/comment", mq.ID), url.Values{"who": {"alice"}, "text": {"draining it"}})
	require.NoError(t, err)
	resp.Body.Close()

	// b goes down: node_down after its grace.
	b.Kill()
	require.Eventually(t, raised("node_down", b.Name), 30*time.Second, 100*time.Millisecond)

	// Restart the server: the active alarms are the same ones, not raised again.
	before := map[int64]bool{}
	for _, x := range alarms(t, base, url.Values{"active": {"true"}}) {
		before[x.ID] = true
	}
	require.NoError(t, srv.Stop())
	restarted := time.Now()
	srv = startApp(t, cfg, dir)
	defer srv.Stop()
	base = "http://" + srv.Addr()
	// Two evaluations of the restarted engine after its first collection
	// from a: an alarm it would raise again would be raised by then.
	require.Eventually(t, func() bool {
		return sampledSince(t, base, fmt.Sprintf(`erlang_vm_message_queue_max_length{node=%q}`, a.Name), restarted)
	}, 30*time.Second, 50*time.Millisecond, "the restarted server collected from %s", a.Name)
	evals := srv.Alarms().Evaluations()
	require.Eventually(t, func() bool { return srv.Alarms().Evaluations() >= evals+2 }, 30*time.Second, 50*time.Millisecond,
		"the restarted engine evaluated")
	after := map[int64]bool{}
	for _, x := range alarms(t, base, url.Values{"active": {"true"}}) {
		after[x.ID] = true
	}
	for id := range before {
		require.True(t, after[id], "alarm %d survived the restart", id)
	}
	r := get(t, base, fmt.Sprintf("/api/v1/alarms/%d", mq.ID), nil)
	var hist alarm.Alarm
	require.NoError(t, json.Unmarshal(r.Data, &hist))
	// Recorded as the authenticated identity (the form's who is ignored):
	// a loopback client of a server without users.
	require.Equal(t, "anonymous@loopback", hist.AckedBy)
	var kinds []string
	for _, ev := range hist.History {
		kinds = append(kinds, ev.Kind.String())
	}
	require.Equal(t, []string{"raised", "acked", "commented"}, kinds, "not raised twice")

	// The conditions go: cleared.
	_, err = inspect.EvalWith(ctx, c, `exit(whereis(never_reads), kill), [exit(P, kill) || P <- erlang:processes(), {current_function, {timer, sleep, 1}} =:= erlang:process_info(P, current_function)], ok.`, nil)
	require.NoError(t, err)
	b.Restart()
	for _, rule := range []struct{ rule, node string }{{"process_limit", a.Name}, {"process_message_queue", a.Name}, {"node_down", b.Name}} {
		deadline := time.Now().Add(40 * time.Second)
		for raised(rule.rule, rule.node)() {
			if time.Now().After(deadline) {
				t.Fatalf("%s on %s not cleared; active: %+v; nodes: %+v", rule.rule, rule.node,
					alarms(t, base, url.Values{"active": {"true"}}), srv.Nodes())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// TestFamilyAlarms checks the alarms that compare nodes: a module loaded
// in different versions on two nodes of one family, old code left behind,
// a node's own alarm_handler alarm, and a partial netsplit in a 3-node
// mesh.
func TestFamilyAlarms(t *testing.T) {
	args := []string{"-kernel", "prevent_overlapping_partitions", "false", "-kernel", "dist_auto_connect", "once"}
	sysConfig := filepath.Join(t.TempDir(), "sys.config")
	require.NoError(t, os.WriteFile(sysConfig, []byte("[].\n"), 0o600))
	a := testnode.Start(t, testnode.Options{Args: append([]string{"-config", sysConfig}, args...)})
	connect := fmt.Sprintf("net_kernel:connect_node('%s')", a.Name)
	b := testnode.Start(t, testnode.Options{Cookie: a.Cookie, Args: args, Eval: connect})
	c := testnode.Start(t, testnode.Options{Cookie: a.Cookie, Args: args, Eval: connect + fmt.Sprintf(", net_kernel:connect_node('%s')", b.Name)})
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 300ms, collect_timeout: 300ms, discover_interval: 300ms}
clusters:
  - name: fam
    cookie: %s
    nodes: [%s, %s, %s]
    notifications: {code_interval: 1s}
alarms:
  interval: 1s
  builtin:
    old_code: {for: 0s}
    partial_netsplit: {for: 0s}
`, a.Cookie, a.Name, b.Name, c.Name)), t.TempDir())
	require.NoError(t, err)
	cfg.Clusters[0].Notifications.CodeInterval = config.Duration(100 * time.Millisecond) // release checks every 10 polls: each second
	require.NoError(t, err)
	srv := startApp(t, cfg, t.TempDir())
	defer srv.Stop()
	base := "http://" + srv.Addr()
	ctx := context.Background()
	ca, cb, cc := dialNode(t, a), dialNode(t, b), dialNode(t, c)
	active := func(rule string) []alarm.Alarm {
		var out []alarm.Alarm
		for _, x := range alarms(t, base, url.Values{"active": {"true"}}) {
			if x.Rule == rule {
				out = append(out, x)
			}
		}
		return out
	}
	// Every node has a baseline reading of its modules first.
	require.Eventually(t, func() bool {
		for _, n := range []*testnode.Node{a, b, c} {
			var mods capture.Modules
			if found, _ := srv.Recorder().Store().LoadSnapshot(ctx, "fam", n.Name, "modules", &mods); !found {
				return false
			}
		}
		return true
	}, 20*time.Second, 50*time.Millisecond)

	load := func(c *dist.Conn, v string) {
		_, err := inspect.EvalWith(ctx, c, loadModule, map[string]etf.Term{"V": etf.String(v)})
		require.NoError(t, err)
	}
	load(ca, "1")
	load(cb, "1")
	load(cb, "2") // b: another version, and the first one left as old code
	require.Eventually(t, func() bool { return len(active("module_version_mismatch")) == 1 }, 20*time.Second, 100*time.Millisecond)
	mm := active("module_version_mismatch")[0]
	require.Equal(t, alarm.Major, mm.Severity)
	require.Contains(t, mm.Description, "Module beamctl_test_mod differs between nodes of family Erlang/OTP 25")
	require.Contains(t, mm.Description, a.Name)
	require.Contains(t, mm.Description, b.Name)
	require.Eventually(t, func() bool {
		for _, x := range active("old_code") {
			if x.Node == b.Name && x.Subject == "beamctl_test_mod" {
				return true
			}
		}
		return false
	}, 20*time.Second, 100*time.Millisecond)

	// c's own alarm.
	_, err = cc.Call(ctx, "application", "ensure_all_started", etf.Atom("sasl"))
	require.NoError(t, err)
	_, err = cc.Call(ctx, "alarm_handler", "set_alarm", etf.Tuple{etf.Atom("disk_almost_full"), etf.String("/data")})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		na := active("node_alarm")
		return len(na) == 1 && na[0].Node == c.Name && na[0].Subject == "disk_almost_full"
	}, 20*time.Second, 100*time.Millisecond)

	// a's sys.config damaged under the running node (the power-cut story).
	require.NoError(t, os.WriteFile(sysConfig, []byte("[\x01]."), 0o600))
	require.Eventually(t, func() bool {
		cs := active("config_sanity")
		return len(cs) == 1 && cs[0].Node == a.Name && cs[0].Subject == sysConfig && strings.Contains(cs[0].Description, "control characters")
	}, 30*time.Second, 100*time.Millisecond)

	// a and b part; both still see c.
	r, err := ca.Call(ctx, "erlang", "disconnect_node", etf.Atom(b.Name))
	require.NoError(t, err)
	require.Equal(t, etf.True, r)
	require.Eventually(t, func() bool {
		pairs := map[string]bool{}
		for _, x := range active("partial_netsplit") {
			pairs[x.Node+">"+x.Subject] = true
		}
		return pairs[a.Name+">"+b.Name] && pairs[b.Name+">"+a.Name] && len(pairs) == 2
	}, 20*time.Second, 100*time.Millisecond)

	// Repaired: the same code everywhere, old code purged, alarm cleared, a and b connected, sys.config fixed.
	require.NoError(t, os.WriteFile(sysConfig, []byte("[].\n"), 0o600))
	load(ca, "2")
	_, err = cb.Call(ctx, "code", "purge", etf.Atom("beamctl_test_mod"))
	require.NoError(t, err)
	_, err = cc.Call(ctx, "alarm_handler", "clear_alarm", etf.Atom("disk_almost_full"))
	require.NoError(t, err)
	r, err = ca.Call(ctx, "net_kernel", "connect_node", etf.Atom(b.Name))
	require.NoError(t, err)
	require.Equal(t, etf.True, r)
	for _, rule := range []string{"module_version_mismatch", "node_alarm", "partial_netsplit", "config_sanity"} {
		require.Eventually(t, func() bool { return len(active(rule)) == 0 }, 20*time.Second, 100*time.Millisecond, "%s cleared", rule)
	}
	require.Eventually(t, func() bool {
		for _, x := range active("old_code") {
			if x.Node == b.Name {
				return false
			}
		}
		return true
	}, 20*time.Second, 100*time.Millisecond)
}

// TestMoreBuiltinAlarms creates more conditions on real nodes: a small
// atom table filled, a small port table filled, ETS tables up to the
// limit, a burst of error logs, large heaps, and an application in two
// versions on two nodes of one family.
func TestMoreBuiltinAlarms(t *testing.T) {
	a := testnode.Start(t, testnode.Options{Args: []string{"+t", "20000", "+Q", "1024"}})
	b := testnode.Start(t, testnode.Options{Cookie: a.Cookie})
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 1s, collect_timeout: 1s, discover_interval: 1s}
clusters:
  - name: more
    cookie: %s
    nodes: [%s, %s]
    notifications: {code_interval: 1s}
alarms:
  interval: 1s
  builtin:
    atom_limit: {for: 0s}
    port_limit: {for: 0s}
    ets_limit: {for: 0s}
    logger_error_rate: {for: 0s, window: 10s}
    application_version_mismatch: {for: 0s}
    mnesia_overloaded: {window: 10s}
    mnesia_inconsistent: {window: 10s}
`, a.Cookie, a.Name, b.Name)), t.TempDir())
	require.NoError(t, err)
	srv := startApp(t, cfg, t.TempDir())
	defer srv.Stop()
	base := "http://" + srv.Addr()
	ctx := context.Background()
	ca, cb := dialNode(t, a), dialNode(t, b)
	eval := func(c *dist.Conn, expr string) { t.Helper(); evalOn(t, c, expr) }
	wait := func(rule, node string, want alarm.Severity) { t.Helper(); waitSeverity(t, base, rule, node, want) }

	// Atoms up to 86% of +t 20000 (atoms are never freed: major stays; beamctl's own
	// erl_eval expressions add up to about 1,500 atoms of their own names).
	eval(ca, `[list_to_atom("beamctl_test_atom_" ++ integer_to_list(I)) || I <- lists:seq(1, 17200 - erlang:system_info(atom_count))], ok.`)
	wait("atom_limit", a.Name, alarm.Major)

	// 940 of 1024 ports (92%): UDP sockets held by one process.
	eval(ca, `Self = self(), spawn(fun() -> register(port_holder, self()), _ = [gen_udp:open(0) || _ <- lists:seq(1, 940 - erlang:system_info(port_count))], Self ! ready, receive stop -> ok end end), receive ready -> ok end.`)
	wait("port_limit", a.Name, alarm.Major)
	eval(ca, `port_holder ! stop, ok.`)
	wait("port_limit", a.Name, alarm.None)

	// 7,500 of 8,192 ETS tables on b.
	eval(cb, `Self = self(), spawn(fun() -> register(ets_holder, self()), _ = [ets:new(t, []) || _ <- lists:seq(1, 7500)], Self ! ready, receive stop -> ok end end), receive ready -> ok end.`)
	wait("ets_limit", b.Name, alarm.Major)
	eval(cb, `ets_holder ! stop, ok.`)
	wait("ets_limit", b.Name, alarm.None)

	// 400 error logs at once, then none.
	eval(ca, `[logger:error("failing ~p", [I]) || I <- lists:seq(1, 400)], ok.`)
	wait("logger_error_rate", a.Name, anySeverity)
	wait("logger_error_rate", a.Name, alarm.None)

	// An application in version 1 on a and 2 on b (one family: Erlang/OTP 25).
	for v, c := range map[string]*dist.Conn{"1.0": ca, "2.0": cb} {
		eval(c, fmt.Sprintf(`ok = application:load({application, beamctl_test_app, [{vsn, "%s"}, {applications, [kernel, stdlib]}]}), ok = application:start(beamctl_test_app).`, v))
	}
	wait("application_version_mismatch", "", alarm.Major)
	eval(cb, `application:stop(beamctl_test_app).`)
	wait("application_version_mismatch", "", alarm.None)

	// mnesia's own events, through its event path: overloaded, then inconsistent.
	eval(cb, `mnesia:start().`)
	require.Eventually(t, func() bool { // beamctl has subscribed (at its next poll)
		r, err := cb.Call(ctx, "mnesia", "system_info", etf.Atom("subscribers"))
		require.NoError(t, err)
		l, _ := etf.ToList(r)
		return len(l) >= 2 // mnesia's own event handler and beamctl's
	}, 20*time.Second, 100*time.Millisecond)
	eval(cb, `mnesia_lib:report_system_event({mnesia_overload, {dump_log, write_threshold}}).`)
	wait("mnesia_overloaded", b.Name, alarm.Major)
	eval(cb, `mnesia_lib:report_system_event({inconsistent_database, running_partitioned_network, 'other@host'}).`)
	wait("mnesia_inconsistent", b.Name, alarm.Critical)
	// No more such events within the (shortened) window: cleared.
	wait("mnesia_overloaded", b.Name, alarm.None)
	wait("mnesia_inconsistent", b.Name, alarm.None)
}

// TestRateAlarms creates, on real nodes, the conditions of the alarms that
// watch rates and growth, with thresholds lowered and windows shortened so
// that seconds suffice to raise and to clear them: atoms, messages and binaries growing, run queues and schedulers busy,
// large heaps, busy distribution ports (a node with a 1 KB distribution
// buffer), a flapping connection, time zones that differ, and the
// host memory ratio (raised only).
func TestRateAlarms(t *testing.T) {
	a := testnode.Start(t, testnode.Options{Args: []string{"+zdbbl", "1"}, Env: []string{"TZ=UTC-9"}})
	b := testnode.Start(t, testnode.Options{Cookie: a.Cookie})
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 2s, fast_interval: 500ms, collect_timeout: 2s, discover_interval: 500ms}
clusters:
  - name: rates
    cookie: %s
    nodes: [%s, %s]
alarms:
  interval: 1s
  builtin:
    atom_growth: {for: 0s, window: 10s}
    message_queue_growing: {for: 0s, window: 10s}
    binary_memory_growth: {for: 0s, window: 10s}
    run_queue_high: {for: 0s}
    scheduler_utilisation_high: {for: 0s, minor: 0.2, window: 10s}
    large_heap: {warning: 0.1, window: 10s}
    busy_dist_port: {warning: 0.1, window: 10s}
    dist_connection_flapping: {window: 30s}
    time_zone_mismatch: {for: 0s}
    host_memory_low: {for: 0s, minor: 0.9999}
`, a.Cookie, a.Name, b.Name)), t.TempDir())
	require.NoError(t, err)
	srv := startApp(t, cfg, t.TempDir())
	defer srv.Stop()
	base := "http://" + srv.Addr()
	ca, cb := dialNode(t, a), dialNode(t, b)
	eval := func(c *dist.Conn, expr string) { t.Helper(); evalOn(t, c, expr) }
	wait := func(rule, node string) { t.Helper(); waitSeverity(t, base, rule, node, anySeverity) }
	cleared := func(rule, node string) { t.Helper(); waitSeverity(t, base, rule, node, alarm.None) }
	wait("time_zone_mismatch", "")
	wait("host_memory_low", b.Name) // raised only: the host's memory cannot be filled in a test

	// The alarms follow their conditions within their windows (10 s here,
	// 30 s for flapping), plus a collection and an evaluation; the bound
	// doubles that and adds 15 s, for a busy 2-core machine. There a
	// round can take a second or more: the full rounds run every 2 s with
	// a 2 s timeout (a slow round is late, not lost), which still gives
	// five samples in a 10 s window; the fast set runs every 500 ms.
	const collect, evaluate = 2 * time.Second, time.Second
	within := func(window time.Duration) time.Duration { return 2*(window+collect+evaluate) + 15*time.Second }
	waitIn := func(rule, node string, window time.Duration) {
		t.Helper()
		waitSeverityWithin(t, base, rule, node, anySeverity, within(window))
	}
	clearedIn := func(rule, node string, window time.Duration) {
		t.Helper()
		waitSeverityWithin(t, base, rule, node, alarm.None, within(window))
	}
	load := []string{"atom_growth", "message_queue_growing", "binary_memory_growth", "run_queue_high", "scheduler_utilisation_high"}

	// On b, until stopped: atoms created steadily, a queue that grows,
	// binaries kept, and 20 busy processes on 2 schedulers. load_maker
	// owns all of it: the queue's process is sent to by pid (never a
	// badarg), the spinners are linked to it, and stop returns once every
	// one is dead, so that what follows sees an idle node. load_maker runs
	// at high priority and the spinners at low: the growth keeps its pace
	// and beamctl's rpcs are served on a busy machine, while the spinners
	// still fill the run queues and the schedulers.
	eval(cb, `Self = self(), spawn(fun() -> register(load_maker, self()), process_flag(priority, high),
		Q = spawn(timer, sleep, [infinity]),
		Busy = [spawn_opt(fun Spin() -> Spin() end, [link, {priority, low}]) || _ <- lists:seq(1, 20)],
		Keep = fun Keep(I, Acc) -> receive
				{stop, From} ->
					Ms = [{P, monitor(process, P)} || P <- [Q | Busy]],
					[begin unlink(P), exit(P, kill) end || P <- [Q | Busy]],
					[receive {'DOWN', M, process, P, _} -> ok end || {P, M} <- Ms],
					From ! stopped
			after 50 ->
				_ = [list_to_atom("growth_" ++ integer_to_list(I * 10 + J)) || J <- lists:seq(1, 10)],
				[Q ! x || _ <- lists:seq(1, 500)],
				Keep(I + 1, [binary:copy(<<0:8388608>>) | Acc]) end end,
		Self ! ready,
		Keep(0, []) end),
		receive ready -> ok after 10000 -> error(load_maker_not_ready) end.`)
	for _, rule := range load {
		waitIn(rule, b.Name, 10*time.Second)
	}
	eval(cb, `load_maker ! {stop, self()}, receive stopped -> ok after 10000 -> error(load_maker_not_stopped) end.`)
	for _, rule := range load {
		clearedIn(rule, b.Name, 10*time.Second)
	}

	// A large heap on b (a list of 9 Mi words).
	eval(cb, `spawn(fun() -> L = lists:seq(1, 4700000), timer:sleep(500), length(L) end), ok.`)
	waitIn("large_heap", b.Name, 10*time.Second)
	clearedIn("large_heap", b.Name, 10*time.Second)

	// a's 1 KB distribution buffer fills: senders are suspended. The
	// connection is set up first: what is sent while it is still pending
	// is queued without a busy check, which on a slow machine could be
	// every message.
	eval(cb, `register(sink, spawn(fun S() -> receive _ -> S() end end)), ok.`)
	eval(ca, fmt.Sprintf(`true = net_kernel:connect_node('%[1]s'), B = binary:copy(<<0:4194304>>), [{sink, '%[1]s'} ! B || _ <- lists:seq(1, 200)], ok.`, b.Name))
	waitIn("busy_dist_port", a.Name, 10*time.Second)
	clearedIn("busy_dist_port", a.Name, 10*time.Second)
	// beamctl's own rpc replies wait on a's 1 KB buffer too: counted apart,
	// they do not keep the alarm up.
	r := get(t, base, "/api/v1/query", url.Values{"query": {fmt.Sprintf(`erlang_vm_system_monitor_events_total{event="busy_dist_port_to_beamctl", node=%q}`, a.Name)}})
	var v vector
	require.NoError(t, json.Unmarshal(r.Data, &v))
	require.Len(t, v.Result, 1)
	require.NotEqual(t, "0", v.Result[0].Value[1], "beamctl's replies were suspended on a's distribution buffer")

	// The a-b connection set up four times: a new controller port each
	// time, three reconnections.
	// Each time, wait until a collection round has seen the new
	// connection: one more controller of b's connection to a in the store.
	controllers := func() int {
		r := get(t, base, "/api/v1/query", url.Values{"query": {fmt.Sprintf(
			`count(count_over_time(erlang_vm_dist_connection_controller_info{node=%q, peer=%q}[1m]))`, b.Name, a.Name)}})
		require.Equal(t, "success", r.Status, r.Error)
		var v vector
		require.NoError(t, json.Unmarshal(r.Data, &v))
		if len(v.Result) == 0 {
			return 0
		}
		n, err := strconv.Atoi(v.Result[0].Value[1].(string))
		require.NoError(t, err)
		return n
	}
	require.Eventually(t, func() bool { return controllers() >= 1 }, within(0), 50*time.Millisecond, "b's connection to a collected")
	for range 4 {
		seen := controllers()
		eval(ca, fmt.Sprintf(`true = erlang:disconnect_node('%[1]s'), timer:sleep(200), true = net_kernel:connect_node('%[1]s'),
			{sink, '%[1]s'} ! <<0:8192>>, ok.`, b.Name))
		require.Eventually(t, func() bool { return controllers() > seen }, within(0), 50*time.Millisecond,
			"a collection round saw the new connection")
	}
	waitIn("dist_connection_flapping", b.Name, 30*time.Second)
	clearedIn("dist_connection_flapping", b.Name, 30*time.Second)

	// a, the node in another time zone, leaves.
	a.Kill()
	cleared("time_zone_mismatch", "")
}

// sampledSince reports whether the newest sample of the instant vector
// selector series was taken after since.
func sampledSince(t *testing.T, base, series string, since time.Time) bool {
	t.Helper()
	r := get(t, base, "/api/v1/query", url.Values{"query": {"timestamp(" + series + ")"}})
	require.Equal(t, "success", r.Status, r.Error)
	var v vector
	require.NoError(t, json.Unmarshal(r.Data, &v))
	for _, x := range v.Result {
		ts, err := strconv.ParseFloat(x.Value[1].(string), 64)
		require.NoError(t, err)
		if ts > float64(since.UnixMilli())/1000 {
			return true
		}
	}
	return false
}

// dialNode connects to n for the test's own calls (closed when the test
// ends).
func dialNode(t *testing.T, n *testnode.Node) *dist.Conn {
	t.Helper()
	c, err := dist.Dial(context.Background(), n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// evalOn evaluates Erlang expressions on c's node, within two minutes (a
// set-up such as copying 1 GB takes more than dist's default 15 s on a
// loaded machine).
func evalOn(t *testing.T, c *dist.Conn, expr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := inspect.EvalWith(ctx, c, expr, nil)
	require.NoError(t, err)
}

// activeSeverity is the severity of the active alarm of rule on node (any
// node if ""), or alarm.None if none is active.
func activeSeverity(t *testing.T, base, rule, node string) alarm.Severity {
	t.Helper()
	for _, x := range alarms(t, base, url.Values{"active": {"true"}}) {
		if x.Rule == rule && (node == "" || x.Node == node) {
			return x.Severity
		}
	}
	return alarm.None
}

// waitSeverity waits until rule's alarm on node has severity want
// (alarm.None: until it is cleared; anySeverity: until it is raised).
func waitSeverity(t *testing.T, base, rule, node string, want alarm.Severity) {
	t.Helper()
	waitSeverityWithin(t, base, rule, node, want, 90*time.Second)
}

// waitSeverityWithin is waitSeverity with its bound (derive it from the
// rule's window, for: and intervals).
func waitSeverityWithin(t *testing.T, base, rule, node string, want alarm.Severity, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for s := activeSeverity(t, base, rule, node); s != want && (want != anySeverity || s == alarm.None); s = activeSeverity(t, base, rule, node) {
		if time.Now().After(deadline) {
			t.Fatalf("%s on %q: %q, want %q after %s; active: %+v; nodes: %s", rule, node, activeSeverity(t, base, rule, node), want, bound,
				alarms(t, base, url.Values{"active": {"true"}}), get(t, base, "/api/v1/nodes", nil).Data)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// smallFilesystem mounts a tmpfs of mib MiB for the test (it needs root,
// as CI runs) and returns where.
func smallFilesystem(t *testing.T, mib int) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm", mib), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a %d MiB tmpfs (this test needs root): %v: %s", mib, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	return dir
}

// TestNodeConditionAlarms creates, on real nodes, conditions that come
// and go, and checks each alarm is raised and then cleared: a wall clock
// 15 s ahead (libfaketime), garbage collections and schedules over 100 ms,
// a port whose reader stalls, a remote shell holding a large result, a
// module found in two code path directories, file descriptors near the
// ulimit, a filesystem filling up, VM memory over a threshold, and
// sockets whose peer does not read. Rate windows are shortened to
// 10 s so that clearing takes seconds.
func TestNodeConditionAlarms(t *testing.T) {
	clock := filepath.Join(t.TempDir(), "clock")
	require.NoError(t, os.WriteFile(clock, []byte("+15s\n"), 0o600))
	a := testnode.Start(t, testnode.Options{Env: testnode.FakeTime(t, clock)})
	b := testnode.Start(t, testnode.Options{Cookie: a.Cookie})
	meminfo, err := os.ReadFile("/proc/meminfo")
	require.NoError(t, err)
	var hostKB float64
	_, err = fmt.Sscanf(strings.SplitN(string(meminfo), "\n", 2)[0], "MemTotal: %f kB", &hostKB)
	require.NoError(t, err)
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 500ms, collect_timeout: 500ms, discover_interval: 500ms}
clusters:
  - name: cond
    cookie: %s
    nodes: [%s, %s]
    notifications: {code_interval: 1s}
alarms:
  interval: 1s
  builtin:
    time_drift: {for: 0s}
    long_gc: {window: 10s}
    long_schedule: {window: 10s}
    busy_port: {warning: 1, window: 10s}
    shell_memory: {minor: 20000000}
    open_files: {for: 0s}
    memory_high: {for: 0s, minor: %g}
    disk_full: {for: 0s}
    socket_backlog: {window: 10s}
`, a.Cookie, a.Name, b.Name, 700e6/(hostKB*1024))), t.TempDir())
	require.NoError(t, err)
	cfg.Clusters[0].Notifications.CodeInterval = config.Duration(100 * time.Millisecond) // release checks every 10 polls: each second
	srv := startApp(t, cfg, t.TempDir())
	defer srv.Stop()
	base := "http://" + srv.Addr()
	ctx := context.Background()
	cb := dialNode(t, b)
	eval := func(expr string) { t.Helper(); evalOn(t, cb, expr) }

	// a's clock is 15 s ahead, then set right.
	waitSeverity(t, base, "time_drift", a.Name, alarm.Major)
	require.NoError(t, os.WriteFile(clock, []byte("+0\n"), 0o600))
	waitSeverity(t, base, "time_drift", a.Name, alarm.None)

	// A process on b collecting a 10-million-element list every half
	// second: each collection takes longer than 100 ms.
	eval(`register(gc_maker, spawn(fun() -> L = lists:seq(1, 10000000),
		(fun Loop() -> garbage_collect(), receive stop -> length(L) after 500 -> Loop() end end)() end)), ok.`)
	waitSeverity(t, base, "long_gc", b.Name, anySeverity)
	eval(`gc_maker ! stop, ok.`)
	waitSeverity(t, base, "long_gc", b.Name, alarm.None)

	// ets:insert of a huge term copies it without yielding: the process
	// runs for well over 100 ms at once.
	eval(`register(schedule_maker, spawn(fun() -> T = ets:new(t, []), L = lists:seq(1, 10000000),
		(fun Loop() -> ets:insert(T, {k, L}), receive stop -> ok after 500 -> Loop() end end)() end)), ok.`)
	waitSeverity(t, base, "long_schedule", b.Name, anySeverity)
	eval(`schedule_maker ! stop, ok.`)
	waitSeverity(t, base, "long_schedule", b.Name, alarm.None)

	// 4 MB written at once to a port whose program reads nothing for its
	// first 2 s (then drains to /dev/null), three times: the pipe fills,
	// the port's queue passes its busy limit and the writer is suspended.
	// (With a plain cat the reader can keep up on a loaded machine, and no
	// writer is ever suspended: that made this step flaky.)
	eval(`spawn(fun() -> [begin P = open_port({spawn, "sleep 2; cat >/dev/null"}, [binary, exit_status]), B = binary:copy(<<0>>, 65536),
		[port_command(P, B) || _ <- lists:seq(1, 64)], port_close(P) end || _ <- lists:seq(1, 3)] end), ok.`)
	waitSeverity(t, base, "busy_port", b.Name, alarm.Warning)
	waitSeverity(t, base, "busy_port", b.Name, alarm.None)

	// Eight gen_tcp senders to a peer that never reads: their sockets keep
	// output queued (and the senders block, with no busy_port event).
	eval(`Self = self(), spawn(fun() -> register(backlog_maker, self()),
		{ok, L} = gen_tcp:listen(0, [binary, {active, false}]), {ok, Port} = inet:port(L),
		Senders = [spawn(fun() -> {ok, S} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary]), B = binary:copy(<<0>>, 65536),
			(fun Send() -> ok = gen_tcp:send(S, B), Send() end)() end) || _ <- lists:seq(1, 8)],
		Accepted = [begin {ok, A} = gen_tcp:accept(L), A end || _ <- Senders],
		Self ! ready,
		receive stop -> [exit(P, kill) || P <- Senders], [gen_tcp:close(A) || A <- Accepted], gen_tcp:close(L) end end),
		receive ready -> ok end.`)
	waitSeverity(t, base, "socket_backlog", b.Name, alarm.Warning)
	eval(`backlog_maker ! stop, ok.`)
	waitSeverity(t, base, "socket_backlog", b.Name, alarm.None)

	// A remote shell on b keeps a 2-million-element list in a variable,
	// then forgets it.
	sh := testnode.RemoteShell(t, b, "shellc")
	sh.Type(t, "Big = lists:seq(1, 2000000), ok.\n")
	waitSeverity(t, base, "shell_memory", b.Name, alarm.Minor)
	for _, x := range alarms(t, base, url.Values{"active": {"true"}}) {
		if x.Rule == "shell_memory" {
			require.Contains(t, x.Description, "(typed from "+sh.Client+")")
		}
	}
	sh.Type(t, "f(Big).\ngarbage_collect(), ok.\n") // the shell's server lets go at the next command
	waitSeverity(t, base, "shell_memory", b.Name, alarm.None)

	// The same module in two directories of b's code path.
	var dirs []string
	for range 2 {
		d := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(d, "beamctl_clash_mod.beam"), nil, 0o600))
		dirs = append(dirs, d)
		_, err := cb.Call(ctx, "code", "add_patha", etf.String(d))
		require.NoError(t, err)
	}
	waitSeverity(t, base, "module_clash", b.Name, alarm.Minor)
	_, err = cb.Call(ctx, "code", "del_path", etf.String(dirs[0]))
	require.NoError(t, err)
	waitSeverity(t, base, "module_clash", b.Name, alarm.None)

	// b may open 256 files; a process opens files up to 230 (90%) and
	// closes them again.
	r, err := cb.Call(ctx, "os", "getpid")
	require.NoError(t, err)
	pidText, _ := etf.ToString(r)
	pid, err := strconv.Atoi(pidText)
	require.NoError(t, err)
	require.NoError(t, unix.Prlimit(pid, unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: 256, Max: 256}, nil))
	eval(`Self = self(), spawn(fun() -> register(fd_holder, self()), {ok, Open} = file:list_dir("/proc/self/fd"),
		Fs = [begin {ok, F} = file:open("/dev/null", [read]), F end || _ <- lists:seq(1, 230 - length(Open))],
		Self ! ready, receive stop -> [file:close(F) || F <- Fs] end end), receive ready -> ok end.`)
	waitSeverity(t, base, "open_files", b.Name, alarm.Major)
	eval(`fd_holder ! stop, ok.`)
	waitSeverity(t, base, "open_files", b.Name, alarm.None)

	// A 16 MiB filesystem filled to 94%, then emptied.
	small := smallFilesystem(t, 16)
	require.NoError(t, os.WriteFile(filepath.Join(small, "fill"), make([]byte, 15<<20), 0o600))
	waitSeverity(t, base, "disk_full", b.Name, alarm.Major)
	for _, x := range alarms(t, base, url.Values{"active": {"true"}}) {
		if x.Rule == "disk_full" && x.Node == b.Name {
			require.Equal(t, small, x.Subject)
		}
	}
	require.NoError(t, os.Remove(filepath.Join(small, "fill")))
	waitSeverity(t, base, "disk_full", b.Name, alarm.None)

	// 1 GB held on b (the threshold is 700 MB of this host's memory: above
	// what the long_gc and long_schedule steps hold, lest it flap).
	eval(`Self = self(), spawn(fun() -> register(mem_holder, self()), B = binary:copy(<<0:8388608>>, 1000), Self ! ready,
		receive stop -> byte_size(B) end end), receive ready -> ok end.`)
	waitSeverity(t, base, "memory_high", b.Name, alarm.Minor)
	eval(`mem_holder ! stop, ok.`)
	waitSeverity(t, base, "memory_high", b.Name, alarm.None)
}

// TestReloadAlarmDelivery adds and removes alarm destinations with a
// reload: an Alertmanager added later receives the alarms already active
// and new ones; a notifier removed receives nothing more.
func TestReloadAlarmDelivery(t *testing.T) {
	a := testnode.Start(t, testnode.Options{})
	var mu sync.Mutex
	var hooked, managed []string // the rules that reached the webhook and the Alertmanager
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct{ Alarm struct{ Rule string } }
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		hooked = append(hooked, m.Alarm.Rule)
		mu.Unlock()
	}))
	defer hook.Close()
	am := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var alerts []struct{ Labels map[string]string }
		if r.URL.Path != "/api/v2/alerts" || json.NewDecoder(r.Body).Decode(&alerts) != nil {
			http.Error(w, "not an alert list", http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, x := range alerts {
			if !slices.Contains(managed, x.Labels["alertname"]) {
				managed = append(managed, x.Labels["alertname"])
			}
		}
		mu.Unlock()
	}))
	defer am.Close()
	conf := func(rules []string, destinations string) *config.Config {
		var rs []string
		for _, r := range rules {
			rs = append(rs, fmt.Sprintf(`{name: %s, expr: "erlang_vm_processes > 0", severity: warning}`, r))
		}
		cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 300ms, collect_timeout: 300ms, discover_interval: 300ms}
clusters:
  - {name: d, cookie: %s, nodes: [%s]}
alarms:
  interval: 1s
  resend_interval: 1s
  rules: [%s]
%s`, a.Cookie, a.Name, strings.Join(rs, ", "), destinations)), t.TempDir())
		require.NoError(t, err)
		return cfg
	}
	srv := startApp(t, conf([]string{"first"}, ""), t.TempDir())
	defer srv.Stop()
	base := "http://" + srv.Addr()
	waitSeverity(t, base, "first", a.Name, alarm.Warning)
	seen := func(list *[]string, rule string) func() bool {
		return func() bool { mu.Lock(); defer mu.Unlock(); return slices.Contains(*list, rule) }
	}

	// Both destinations added.
	require.NoError(t, srv.Reload(conf([]string{"first", "second"}, fmt.Sprintf(`  alertmanager: ["%s"]
  notifiers: [{url: "%s"}]
`, am.URL, hook.URL))))
	require.Eventually(t, seen(&managed, "first"), 20*time.Second, 50*time.Millisecond, "the alarm active before the reload")
	require.Eventually(t, seen(&managed, "second"), 20*time.Second, 50*time.Millisecond)
	require.Eventually(t, seen(&hooked, "second"), 20*time.Second, 50*time.Millisecond)
	metrics := func() string {
		resp, err := http.Get(base + "/metrics")
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(b)
	}
	self := metrics()
	require.Contains(t, self, `beamctl_alarm_deliveries_total{destination="notifiers[0]",integration="webhook",result="sent"}`,
		"named by its index among the notifiers")
	require.NotContains(t, self, hook.URL, "the URL is a credential")

	// The notifier removed, the Alertmanager kept.
	require.NoError(t, srv.Reload(conf([]string{"first", "second", "third"}, fmt.Sprintf(`  alertmanager: ["%s"]
`, am.URL))))
	require.Eventually(t, seen(&managed, "third"), 20*time.Second, 50*time.Millisecond)
	require.False(t, seen(&hooked, "third")(), "a removed notifier delivers nothing")
	self = metrics()
	require.NotContains(t, self, hook.URL)
	require.Contains(t, self, `beamctl_alarm_deliveries_total{destination="alertmanager[0]",integration="alertmanager",result="sent"}`)
}

// TestRestartLoop restarts a node twice: node_restart_loop counts the
// node_restarted notifications, and clears once they leave its window.
func TestRestartLoop(t *testing.T) {
	b := testnode.Start(t, testnode.Options{})
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 500ms, collect_timeout: 500ms, discover_interval: 500ms}
clusters:
  - {name: loop, cookie: %s, nodes: [%s]}
alarms:
  interval: 1s
  builtin:
    node_restart_loop: {window: 40s}
`, b.Cookie, b.Name)), t.TempDir())
	require.NoError(t, err)
	srv := startApp(t, cfg, t.TempDir())
	defer srv.Stop()
	base := "http://" + srv.Addr()
	collectedSince := func(since time.Time) func() bool {
		return func() bool {
			for _, n := range srv.Nodes() {
				if n.Node == b.Name && n.State == "up" && n.LastCollect.After(since) {
					return true
				}
			}
			return false
		}
	}
	require.Eventually(t, collectedSince(time.Now().Add(time.Second)), 30*time.Second, 100*time.Millisecond)
	for range 2 {
		b.Kill()
		restarted := time.Now()
		b.Restart()
		require.Eventually(t, collectedSince(restarted.Add(time.Second)), 30*time.Second, 100*time.Millisecond)
	}
	require.Eventually(t, func() bool {
		for _, x := range alarms(t, base, url.Values{"active": {"true"}}) {
			if x.Rule == "node_restart_loop" && x.Node == b.Name {
				return x.Severity == alarm.Minor && strings.Contains(x.Description, "2 node_restarted notifications")
			}
		}
		return false
	}, 30*time.Second, 100*time.Millisecond, "notes: %+v", notes(t, base, url.Values{"kind": {"node_restarted"}}))
	// The node stays up: once the restarts leave the (shortened) window, cleared.
	waitSeverity(t, base, "node_restart_loop", b.Name, alarm.None)
}
