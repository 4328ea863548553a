package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/testnode"
	"github.com/beamctl/beamctl/internal/testsrv"
)

// scalarOf returns the value of a query whose result is one number, and
// false when it has none.
func scalarOf(b *testing.B, srv *App, q string) (float64, bool) {
	b.Helper()
	r, err := srv.Query(context.Background(), q)
	if err != nil {
		b.Fatal(err)
	}
	if len(r.Series) != 1 || len(r.Series[0].Points) != 1 {
		return 0, false
	}
	return r.Series[0].Points[0].Value, true
}

// waitReady waits until every one of nodes is up and has a sample of
// series collected (a figure taken before is worthless), and until the
// engine evaluates, and fails the benchmark after limit.
func waitReady(b *testing.B, srv *App, nodes int, series string, limit time.Duration) {
	b.Helper()
	deadline := time.Now().Add(limit)
	for {
		up := 0
		for _, n := range srv.Nodes() {
			if n.State == "up" {
				up++
			}
		}
		v, _ := scalarOf(b, srv, "count("+series+")")
		if up == nodes && int(v) == nodes && srv.Evaluating() {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("after %s: %d of %d nodes up, %v with %s, evaluating %v", limit, up, nodes, v, series, srv.Evaluating())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkServerCost runs beamctl serve against 20 real nodes for 10
// seconds and reports, per managed node, the server's CPU time per second
// (from getrusage) and heap growth, in two settings: every collector at
// 1 s, and the defaults (10 s, the fast set at 1 s). The anchor, measured
// in the same run against the same nodes, is an Erlang node doing what an
// O&M node written in Erlang minimally does: rpc:call of
// observer_backend:sys_info() on every node every second (its VM's CPU
// time from statistics(runtime)). x_vs_erlang_poller < 1 means beamctl
// spends less CPU per node than that poller, while storing far more.
func BenchmarkServerCost(b *testing.B) {
	const nodes, seconds = 20, 10
	var names []string
	cookie := "benchcookie"
	for range nodes {
		names = append(names, testnode.Start(b, testnode.Options{Cookie: cookie}).Name)
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = "'" + n + "'"
	}
	out := testnode.EvalWithCookie(b, cookie, fmt.Sprintf(`Nodes = [%s],
		[pong = net_adm:ping(N) || N <- Nodes],
		Round = fun() -> [case rpc:call(N, observer_backend, sys_info, [], 5000) of L when is_list(L) -> ok end || N <- Nodes] end,
		Round(),
		{Cpu0, _} = statistics(runtime),
		[begin T0 = erlang:monotonic_time(millisecond), Round(),
		       timer:sleep(max(0, 1000 - (erlang:monotonic_time(millisecond) - T0))) end || _ <- lists:seq(1, %d)],
		{Cpu1, _} = statistics(runtime),
		io:format("~p~n", [Cpu1 - Cpu0])`, strings.Join(quoted, ", "), seconds),
		"-sname", fmt.Sprintf("benchanchor%d", time.Now().UnixNano()%100000), "-hidden")
	anchorMs, err := strconv.ParseFloat(strings.TrimSpace(out), 64)
	if err != nil {
		b.Fatalf("anchor output %q: %v", out, err)
	}
	anchor := anchorMs * 1000 / float64(nodes*seconds) // µs per node per second
	settings := []struct{ name, global string }{
		{"all_at_1s", "collect_interval: 1s, fast_interval: 1s, collect_timeout: 1s"},
		{"defaults_10s_fast_1s", "collect_interval: 10s, fast_interval: 1s, collect_timeout: 5s"},
	}
	for _, st := range settings {
		cfg, err := config.Parse([]byte(fmt.Sprintf("global: {%s, discover_interval: 1m}\nclusters:\n  - name: bench\n    cookie: %s\n    nodes: [%s]\n",
			st.global, cookie, strings.Join(names, ", "))), b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.Run(st.name, func(b *testing.B) {
			for b.Loop() {
				runtime.GC()
				var m0 runtime.MemStats
				runtime.ReadMemStats(&m0)
				srv, err := New(Options{Config: cfg, StoragePath: b.TempDir(), Listen: "127.0.0.1:0"})
				if err != nil {
					b.Fatal(err)
				}
				if err := srv.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				// Every node connected, the agent loaded, a full round done.
				waitReady(b, srv, nodes, "erlang_vm_processes", time.Minute)
				cpu0 := cpuTime()
				time.Sleep(seconds * time.Second) // the measured span, not a wait for an event
				cpu := cpuTime() - cpu0
				// The server kept collecting through the span: a round a
				// second from every node (at least half of them, on a busy
				// machine), or the figure is for a server that did less.
				rounds, _ := scalarOf(b, srv, fmt.Sprintf(`min(count_over_time(erlang_vm_memory_bytes{kind="total"}[%ds]))`, seconds))
				if rounds < seconds/2 {
					_ = srv.Stop()
					b.Fatalf("the least collected node had %v fast rounds in %d s", rounds, seconds)
				}
				var m1 runtime.MemStats
				runtime.ReadMemStats(&m1)
				up := 0
				for _, n := range srv.Nodes() {
					if n.State == "up" {
						up++
					}
				}
				_ = srv.Stop()
				if up != nodes {
					b.Fatalf("%d of %d nodes up", up, nodes)
				}
				perNode := float64(cpu.Microseconds()) / float64(nodes*seconds)
				b.ReportMetric(perNode, "server_cpu_us/node/s")
				b.ReportMetric(perNode/1e6*100, "server_cpu_%/node")
				b.ReportMetric(anchor, "erlang_poller_cpu_us/node/s")
				b.ReportMetric(perNode/anchor, "x_vs_erlang_poller")
				b.ReportMetric(float64(int64(m1.HeapInuse)-int64(m0.HeapInuse))/float64(nodes)/1024, "heap_KiB/node")
				b.ReportMetric(rounds, "min_fast_rounds/node")
			}
		})
	}
}

// BenchmarkNodeDownDetection kills -9 a node and measures how long until
// beamctl raises node_down, until a webhook receives it, and until a real
// Alertmanager (group_wait 0) routes it to its own webhook, against the
// anchor of an Erlang node monitoring the same node with
// net_kernel:monitor_nodes/1, timed in the same run (both clocks are the
// host's). The rule's for: is 0 and the evaluation interval 10 s: the
// alarm comes from the connection's own event, not the next round.
func BenchmarkNodeDownDetection(b *testing.B) {
	for b.Loop() {
		n := testnode.Start(b, testnode.Options{})
		received := make(chan time.Time, 10)
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var m struct {
				Event struct{ Kind string }
				Alarm struct{ Rule string }
			}
			if json.NewDecoder(r.Body).Decode(&m) == nil && m.Event.Kind == "raised" && m.Alarm.Rule == "node_down" {
				received <- time.Now()
			}
		}))
		routed := make(chan time.Time, 10)
		amHook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var m struct {
				Alerts []struct {
					Status string
					Labels map[string]string
				}
			}
			if json.NewDecoder(r.Body).Decode(&m) == nil {
				for _, a := range m.Alerts {
					if a.Status == "firing" && a.Labels["alertname"] == "node_down" {
						routed <- time.Now()
					}
				}
			}
		}))
		am := testsrv.Alertmanager(b, amHook.URL, 0)
		cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 10s, discover_interval: 1m}
clusters:
  - {name: bench, cookie: %s, nodes: [%s]}
alarms:
  interval: 10s
  builtin: {node_down: {for: 0s}}
  notifiers: [{url: "%s"}]
  alertmanager: ["%s"]
`, n.Cookie, n.Name, hook.URL, am)), b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		srv, err := New(Options{Config: cfg, StoragePath: b.TempDir(), Listen: "127.0.0.1:0"})
		if err != nil {
			b.Fatal(err)
		}
		if err := srv.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		// The anchor: an Erlang node that prints when it sees the nodedown.
		obs := exec.Command("erl", "-sname", fmt.Sprintf("obs%d", time.Now().UnixNano()%1_000_000), "-noshell", "-eval",
			fmt.Sprintf(`true = net_kernel:connect_node('%s'), ok = net_kernel:monitor_nodes(true), io:format("ready~n"),
				receive {nodedown, _} -> io:format("down ~p~n", [os:system_time(microsecond)]) end, halt().`, n.Name))
		obs.Env = n.Env() // The cookie in a private $HOME, not on the command line.
		out, err := obs.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := obs.Start(); err != nil {
			b.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		if !lines.Scan() || lines.Text() != "ready" {
			b.Fatalf("observer: %q", lines.Text())
		}
		deadline := time.Now().Add(20 * time.Second)
		for srv.Nodes() == nil || srv.Nodes()[0].State != "up" || !srv.Evaluating() { // past the warm-up
			if time.Now().After(deadline) {
				b.Fatal("node not up")
			}
			time.Sleep(10 * time.Millisecond)
		}
		killed := time.Now()
		n.Kill()
		var delivered time.Time
		select {
		case delivered = <-received:
		case <-time.After(30 * time.Second):
			b.Fatal("node_down not delivered")
		}
		var viaAM time.Time
		select {
		case viaAM = <-routed:
		case <-time.After(30 * time.Second):
			b.Fatal("node_down not routed by Alertmanager")
		}
		var raised time.Time
		for _, a := range srv.Alarms().Active() {
			if a.Rule == "node_down" && a.Node == n.Name {
				raised = a.RaisedAt
			}
		}
		if raised.Before(killed) {
			b.Fatalf("node_down on %s raised at %v, the node was killed at %v", n.Name, raised, killed)
		}
		if !lines.Scan() {
			b.Fatal("observer said nothing")
		}
		var us int64
		if _, err := fmt.Sscanf(lines.Text(), "down %d", &us); err != nil {
			b.Fatalf("observer: %q", lines.Text())
		}
		_ = obs.Wait()
		erlang := time.UnixMicro(us).Sub(killed)
		b.ReportMetric(float64(raised.Sub(killed).Microseconds())/1000, "raised_ms")
		b.ReportMetric(float64(delivered.Sub(killed).Microseconds())/1000, "delivered_ms")
		b.ReportMetric(float64(viaAM.Sub(killed).Microseconds())/1000, "alertmanager_routed_ms")
		b.ReportMetric(float64(erlang.Microseconds())/1000, "erlang_nodedown_ms")
		b.ReportMetric(float64(delivered.Sub(killed))/float64(erlang), "x_vs_erlang_nodedown")
		_ = srv.Stop()
		hook.Close()
		amHook.Close()
	}
}

// BenchmarkPolledAlarmLatency fills a node's process table (limit 1024)
// and measures how long until process_limit is raised, with a 1 s
// collection interval and a 1 s evaluation interval. The goal is at most
// two collection intervals; x_collection_intervals is the latency in
// collection intervals (the anchor).
func BenchmarkPolledAlarmLatency(b *testing.B) {
	const interval = time.Second
	for b.Loop() {
		n := testnode.Start(b, testnode.Options{Args: []string{"+P", "1024"}})
		cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 1s, fast_interval: 1s, collect_timeout: 1s, discover_interval: 1m}
clusters:
  - {name: bench, cookie: %s, nodes: [%s]}
alarms:
  interval: 1s
  builtin: {process_limit: {for: 0s}}
`, n.Cookie, n.Name)), b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		srv, err := New(Options{Config: cfg, StoragePath: b.TempDir(), Listen: "127.0.0.1:0"})
		if err != nil {
			b.Fatal(err)
		}
		if err := srv.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
		if err != nil {
			b.Fatal(err)
		}
		// Connected, collected, the engine evaluating, process_limit not
		// raised: the latency is measured from a known state.
		waitReady(b, srv, 1, "erlang_vm_processes", time.Minute)
		for _, a := range srv.Alarms().Active() {
			if a.Rule == "process_limit" {
				b.Fatalf("process_limit raised before the spawn: %+v", a)
			}
		}
		start := time.Now()
		r, err := inspect.EvalWith(ctx, c, `[spawn(timer, sleep, [infinity]) || _ <- lists:seq(1, 1000 - erlang:system_info(process_count))], erlang:system_info(process_count).`, nil)
		if err != nil {
			b.Fatal(err)
		}
		if procs, _ := etf.ToInt64(r); procs < 973 {
			b.Fatalf("the node has %d processes after the spawn, want at least 973 (95%% of +P 1024: critical)", procs)
		}
		var raised time.Time
		for raised.IsZero() {
			if time.Since(start) > 30*time.Second {
				b.Fatal("process_limit not raised")
			}
			for _, a := range srv.Alarms().Active() {
				if a.Rule == "process_limit" {
					raised = a.RaisedAt
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		latency := raised.Sub(start)
		b.ReportMetric(float64(latency.Milliseconds()), "latency_ms")
		b.ReportMetric(float64(latency)/float64(interval), "x_collection_intervals")
		c.Close()
		_ = srv.Stop()
	}
}
