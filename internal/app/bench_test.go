package app

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/testnode"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkServerCost runs beamctl serve against 10 real nodes for 10
// collection rounds at a 1 s interval and reports, per managed node, the
// server's CPU time per round (from getrusage) and heap growth. The cost
// of a round does not depend on the interval, so the share of a core at a
// 10 s interval is the 1 s figure divided by ten.
func BenchmarkServerCost(b *testing.B) {
	const nodes, rounds = 10, 10
	var names []string
	cookie := "benchcookie"
	for range nodes {
		names = append(names, testnode.Start(b, testnode.Options{Cookie: cookie}).Name)
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf("global: {collect_interval: 1s, collect_timeout: 1s, discover_interval: 1m}\nclusters:\n  - name: bench\n    cookie: %s\n    nodes: [%s]\n",
		cookie, strings.Join(names, ", "))), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
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
		time.Sleep(2 * time.Second) // connect and warm up
		cpu0 := cpuTime()
		time.Sleep(rounds * time.Second)
		cpu := cpuTime() - cpu0
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
		b.ReportMetric(float64(cpu.Microseconds())/float64(nodes*rounds), "server_cpu_us/node/round")
		b.ReportMetric(float64(cpu.Microseconds())/float64(nodes*rounds)/1e6*100, "server_cpu_%/node@1s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(nodes*rounds)/1e7*100, "server_cpu_%/node@10s")
		b.ReportMetric(float64(int64(m1.HeapInuse)-int64(m0.HeapInuse))/float64(nodes)/1024, "heap_KiB/node")
	}
}
