package alarm

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/beamctl/beamctl/internal/store"
)

// BenchmarkRuleEvaluation evaluates every built-in query rule over 1,000
// nodes' worth of samples in the real store (the metrics the rules read,
// 10 minutes at 10 s), and reports the time of one full round per node.
// The anchor, measured in the same run, is the same expressions run as
// plain PromQL instant queries: x_vs_promql is what the engine (levels,
// hysteresis, descriptions, state in SQLite) adds.
func BenchmarkRuleEvaluation(b *testing.B) {
	const nodes = 1000
	ctx := context.Background()
	db, err := store.Open(b.TempDir(), nil, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	for step := 60; step >= 0; step-- {
		ts := now.Add(-time.Duration(step) * 10 * time.Second)
		var batch []store.Sample
		for i := range nodes {
			node := fmt.Sprintf("n%d@host%d", i, i%50)
			add := func(name string, v float64, labels ...string) {
				l := []store.Label{{Name: "__name__", Value: name}, {Name: "cluster", Value: "bench"}, {Name: "node", Value: node}}
				for j := 0; j+1 < len(labels); j += 2 {
					l = append(l, store.Label{Name: labels[j], Value: labels[j+1]})
				}
				batch = append(batch, store.Sample{Labels: l, Time: ts, Value: v})
			}
			busy := float64(i%100) / 100 // some nodes over the thresholds
			add("beamctl_node_up", 1)
			add("erlang_vm_uptime_seconds", float64(3600+600-step*10))
			add("erlang_vm_processes", 262144*busy)
			add("erlang_vm_process_limit", 262144)
			add("erlang_vm_ports", 1000)
			add("erlang_vm_port_limit", 65536)
			add("erlang_vm_atoms", 20000+float64(step))
			add("erlang_vm_atom_limit", 1048576)
			add("erlang_vm_ets_tables", 100)
			add("erlang_vm_ets_limit", 8192)
			add("erlang_vm_memory_bytes", 1e9*busy, "kind", "total")
			add("erlang_vm_memory_bytes", 1e8, "kind", "binary")
			add("erlang_vm_os_memory_total_bytes", 8e9)
			add("erlang_vm_os_memory_available_bytes", 4e9)
			add("erlang_vm_message_queue_max_length", 200000*busy)
			add("erlang_vm_message_queue_longest_info", 1, "pid", "<0.99.0>", "name", "server")
			add("erlang_vm_message_queue_messages", 1000)
			add("erlang_vm_statistics_run_queues_length", 4)
			add("erlang_vm_schedulers_online", 8)
			add("erlang_vm_scheduler_type_utilization_ratio", busy, "type", "normal")
			add("erlang_vm_os_open_fds", 100)
			add("erlang_vm_os_max_fds", 65536)
			add("erlang_vm_os_disk_size_bytes", 1e11, "mount", "/", "device", "/dev/vda")
			add("erlang_vm_os_disk_available_bytes", 1e11*(1-busy), "mount", "/", "device", "/dev/vda")
			add("erlang_vm_ports_with_queued_output", 10*busy, "driver", "tcp_inet")
			for _, ev := range []string{"long_gc", "long_schedule", "large_heap", "busy_dist_port", "busy_port"} {
				add("erlang_vm_system_monitor_events_total", float64(60-step), "event", ev)
			}
			add("erlang_vm_logger_events_total", float64(60-step), "level", "error")
		}
		if err := db.Append(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	// The precondition of the figures: the store holds every node, and
	// the rules are the built-in query rules.
	r, err := db.Query(ctx, "count(beamctl_node_up)", now)
	if err != nil {
		b.Fatal(err)
	}
	if len(r.Series) != 1 || len(r.Series[0].Points) != 1 || r.Series[0].Points[0].Value != nodes {
		b.Fatalf("count(beamctl_node_up) = %+v, want %d", r.Series, nodes)
	}
	rules, err := BuiltinRules(db, nil)
	if err != nil {
		b.Fatal(err)
	}
	if len(rules) == 0 {
		b.Fatal("no built-in query rules")
	}
	for _, r := range rules {
		if _, ok := r.(*QueryRule); !ok {
			b.Fatalf("rule %s is a %T, not a query rule", r.Name(), r)
		}
	}
	var promql time.Duration
	b.Run("promql_only", func(b *testing.B) {
		for b.Loop() {
			for _, r := range rules {
				if _, err := db.Query(ctx, r.(*QueryRule).Expr, now); err != nil {
					b.Fatal(err)
				}
			}
		}
		promql = b.Elapsed() / time.Duration(b.N)
		b.ReportMetric(float64(promql.Microseconds())/nodes, "us/node")
	})
	b.Run("engine_round", func(b *testing.B) {
		e, err := Open(ctx, Options{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		defer e.Close()
		e.SetRules(rules)
		e.Evaluate(ctx, now) // raise what holds once; rounds then update
		if len(e.Active()) < nodes/4 {
			b.Fatalf("%d alarms active, want at least %d (a quarter of the nodes over thresholds)", len(e.Active()), nodes/4)
		}
		b.ResetTimer()
		for b.Loop() {
			e.Evaluate(ctx, now)
		}
		round := b.Elapsed() / time.Duration(b.N)
		b.ReportMetric(float64(round.Microseconds())/nodes, "us/node")
		b.ReportMetric(float64(len(e.Active())), "active_alarms")
		b.ReportMetric(float64(len(rules)), "rules")
		if promql > 0 {
			b.ReportMetric(float64(round)/float64(promql), "x_vs_promql")
		}
	})
}
