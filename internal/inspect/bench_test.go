package inspect

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/testnode"
)

// benchProcs is the number of idle processes of BenchmarkTop's node
// ($BEAMCTL_BENCH_PROCS, default 1,000,000).
func benchProcs() int {
	if n, err := strconv.Atoi(os.Getenv("BEAMCTL_BENCH_PROCS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// topEvalExpr is the agent's top/3 written as one expression for erl_eval,
// to measure what the agentless way costs the node.
const topEvalExpr = `
Score = fun(P, V, {Len, _, L}) when Len < 10 -> L2 = lists:merge([{V, P}], L), {Len + 1, element(1, hd(L2)), L2};
           (_, V, {_, Min, _} = Acc) when V =< Min -> Acc;
           (P, V, {Len, _, [_ | T]}) -> L2 = lists:merge([{V, P}], T), {Len, element(1, hd(L2)), L2} end,
{_, _, Top} = lists:foldl(fun(P, Acc) -> case erlang:process_info(P, reductions) of
                                             {reductions, V} -> Score(P, V, Acc);
                                             undefined -> Acc end end,
                          {0, 0, []}, erlang:processes()),
lists:reverse(Top).`

// nodeCPU returns the node's total CPU time (statistics(runtime)).
func nodeCPU(b *testing.B, c *dist.Conn) time.Duration {
	r, err := c.Call(context.Background(), "erlang", "statistics", etf.Atom("runtime"))
	if err != nil {
		b.Fatal(err)
	}
	t, _ := etf.ToTuple(r, 2)
	ms, _ := etf.ToInt64(t[0])
	return time.Duration(ms) * time.Millisecond
}

// BenchmarkTop ranks the processes of a node with benchProcs() idle
// processes by reductions, three ways, each reporting the node's CPU time
// per query: beamctl's compiled agent (the default), the same scan
// evaluated by erl_eval (agentless), and the naive way of fetching every
// pid and asking process_info over rpc (64 calls in flight). The agent is
// the anchor: x_vs_agent > 1 means slower than the agent.
func BenchmarkTop(b *testing.B) {
	procs := benchProcs()
	n := testnode.Start(b, testnode.Options{
		Args:         []string{"+P", strconv.Itoa(procs * 2)},
		Eval:         fmt.Sprintf(`[spawn(fun() -> receive after infinity -> ok end end) || _ <- lists:seq(1, %d)]`, procs),
		StartTimeout: 5 * time.Minute,
	})
	c, err := dist.Dial(context.Background(), n.Name, dist.Options{Cookie: n.Cookie, CallTimeout: 10 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	// The precondition of every figure: the node has the processes asked
	// for (a figure taken on a node still spawning them is worthless).
	requireProcs := func(b *testing.B) {
		b.Helper()
		r, err := c.Call(ctx, "erlang", "system_info", etf.Atom("process_count"))
		if err != nil {
			b.Fatal(err)
		}
		if got, _ := etf.ToInt64(r); got < int64(procs) {
			b.Fatalf("the node has %d processes, want at least %d", got, procs)
		}
	}
	requireProcs(b)
	if _, err := EnsureAgent(ctx, c); err != nil {
		b.Fatal(err)
	}
	var agentNs float64
	run := func(name string, f func() int) {
		b.Run(name, func(b *testing.B) {
			requireProcs(b)
			cpu0 := nodeCPU(b, c)
			b.ResetTimer()
			got := 0
			for b.Loop() {
				got = f()
			}
			b.StopTimer()
			if got != 10 {
				b.Fatalf("%s returned %d processes, want 10", name, got)
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if name == "agent" {
				agentNs = ns
			} else if agentNs > 0 {
				b.ReportMetric(ns/agentNs, "x_vs_agent")
			}
			b.ReportMetric(float64((nodeCPU(b, c)-cpu0).Milliseconds())/float64(b.N), "node_cpu_ms/op")
			b.ReportMetric(float64(procs), "procs")
		})
	}
	run("agent", func() int {
		top, err := Top(ctx, c, TopOptions{By: "reductions", N: 10})
		if err != nil {
			b.Fatal(err)
		}
		return len(top)
	})
	run("erl_eval", func() int {
		r, err := Eval(ctx, c, topEvalExpr)
		if err != nil {
			b.Fatal(err)
		}
		l, _ := etf.ToList(r)
		return len(l)
	})
	run("naive_rpc", func() int {
		r, err := c.Call(ctx, "erlang", "processes")
		if err != nil {
			b.Fatal(err)
		}
		pids, _ := etf.ToList(r)
		if len(pids) < procs {
			b.Fatalf("erlang:processes() returned %d pids, want at least %d", len(pids), procs)
		}
		var mu sync.Mutex
		var top []int64
		var answered int
		var failed error
		sem := make(chan struct{}, 64)
		var wg sync.WaitGroup
		for _, p := range pids {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				r, err := c.Call(ctx, "erlang", "process_info", p, etf.Atom("reductions"))
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
					return
				}
				if r == etf.Undefined { // exited since the listing
					return
				}
				t, _ := etf.ToTuple(r, 2)
				v, _ := etf.ToInt64(t[1])
				mu.Lock()
				answered++
				top = append(top, v)
				if len(top) > 10 { // keep the 10 largest, unordered
					minI := 0
					for i := range top {
						if top[i] < top[minI] {
							minI = i
						}
					}
					top = append(top[:minI], top[minI+1:]...)
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		if failed != nil {
			b.Fatalf("process_info over rpc: %v", failed)
		}
		if answered < procs {
			b.Fatalf("process_info answered for %d processes, want at least %d", answered, procs)
		}
		return len(top)
	})
}
