package collector

import (
	"context"
	"testing"
	"time"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/testnode"
)

// nodeCost reads the node's CPU time (ms) and total reductions.
func nodeCost(b *testing.B, c *dist.Conn) (cpuMs, reds float64) {
	b.Helper()
	v, err := mapCall(context.Background(), c, "erlang", "statistics", []etf.Term{etf.Atom("runtime"), etf.Atom("reductions")})
	if err != nil {
		b.Fatal(err)
	}
	rt, _ := etf.ToTuple(v[0], 2)
	rd, _ := etf.ToTuple(v[1], 2)
	cpuMs, _ = num(rt[0])
	reds, _ = num(rd[0])
	return cpuMs, reds
}

// BenchmarkCollectionCost measures what one full collection round costs
// the managed node (its CPU time and reductions, read before and after),
// against the anchor of OTP's own observer overview,
// observer_backend:sys_info(), measured in the same run on the same node.
// x_vs_observer < 1 means a round is cheaper than observer's overview.
func BenchmarkCollectionCost(b *testing.B) {
	n := testnode.Start(b, testnode.Options{})
	ctx := context.Background()
	c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	set, err := NewSet(nil, SetOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := inspect.EnsureAgent(ctx, c); err != nil {
		b.Fatal(err)
	}
	var fast []string
	for _, n := range set.Names() {
		if fastSet[n] {
			fast = append(fast, n)
		}
	}
	// Every way of collecting, and each collector alone: the round's cost
	// by collector.
	ways := map[string][]string{"beamctl_round": set.Names(), "beamctl_fast_round": fast}
	order := []string{"observer_sys_info", "beamctl_round", "beamctl_fast_round"}
	for _, n := range set.Names() {
		ways["collector_"+n] = []string{n}
		order = append(order, "collector_"+n)
	}
	costRuns(b, c, set, order, ways)
}

// costRuns measures each way of collecting (observer_sys_info, the anchor,
// first) on the node, as node reductions and CPU per round, and each
// against the anchor.
func costRuns(b *testing.B, c *dist.Conn, set *Set, order []string, ways map[string][]string) {
	ctx := context.Background()
	ac := WithAgent(c)
	var obsReds, obsCPU float64
	for _, way := range order {
		b.Run(way, func(b *testing.B) {
			cpu0, reds0 := nodeCost(b, c)
			series, rpcs := 0, 0
			for b.Loop() {
				if way == "observer_sys_info" {
					r, err := c.Call(ctx, "observer_backend", "sys_info")
					if err != nil {
						b.Fatal(err)
					}
					if l, err := etf.ToList(r); err != nil || len(l) == 0 {
						b.Fatalf("observer_backend:sys_info() returned %v, want its list", r)
					}
					continue
				}
				var smp []Sample
				smp, rpcs = set.collect(ctx, ac, ways[way])
				series = len(smp)
				// The precondition of the figure: every collector of the
				// way ran to the end (a failed one costs the node less).
				ok := 0
				for _, x := range smp {
					if x.Name == "beamctl_collector_success" {
						if x.Value != 1 {
							b.Fatalf("collector %s failed on the node", x.Collector)
						}
						ok++
					}
				}
				if ok != len(ways[way]) {
					b.Fatalf("%d of %d collectors reported", ok, len(ways[way]))
				}
			}
			b.StopTimer()
			cpu1, reds1 := nodeCost(b, c)
			reds := (reds1 - reds0) / float64(b.N)
			cpu := (cpu1 - cpu0) / float64(b.N)
			b.ReportMetric(reds, "node_reds/op")
			b.ReportMetric(cpu, "node_cpu_ms/op")
			if way == "observer_sys_info" {
				obsReds, obsCPU = reds, cpu
				return
			}
			b.ReportMetric(float64(series), "series")
			b.ReportMetric(float64(rpcs), "rpcs/op")
			if obsReds > 0 {
				b.ReportMetric(reds/obsReds, "reds_x_vs_observer")
			}
			if obsCPU > 0 {
				b.ReportMetric(cpu/obsCPU, "cpu_x_vs_observer")
			}
		})
	}
}

// BenchmarkProductCollectionCost measures what the product collectors cost
// a RabbitMQ node (Debian's rabbitmq-server, no plugins: each queue is
// asked) with 2,000 queues of one message, against observer's overview
// on the same node in the same run: rabbitmq (counts, alarms, the queue
// scan), mnesia (RabbitMQ's tables), ejabberd (absent: one whereis), and a
// full round of every collector.
func BenchmarkProductCollectionCost(b *testing.B) {
	rmq := testnode.StartRabbitMQ(b, testnode.RabbitMQOptions{})
	rmq.DeclareQueues(b, "cost", 2000)
	ctx := context.Background()
	c, err := dist.Dial(ctx, rmq.Name, dist.Options{Cookie: rmq.Cookie})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	set, err := NewSet(nil, SetOptions{Timeout: 30 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := inspect.EnsureAgent(ctx, c); err != nil {
		b.Fatal(err)
	}
	ways := map[string][]string{"beamctl_round": set.Names()}
	order := []string{"observer_sys_info", "beamctl_round"}
	for _, n := range []string{"rabbitmq", "mnesia", "ejabberd"} {
		ways["collector_"+n] = []string{n}
		order = append(order, "collector_"+n)
	}
	costRuns(b, c, set, order, ways)
}
