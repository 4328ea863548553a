package dist

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beamctl/beamctl/internal/erlnode"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/testnode"
)

// anchorModule is Erlang's own rpc client at work, compiled so that the
// anchor carries no interpreter overhead: P processes make N rpc:call/4s
// in all, and it prints calls/s. Every call must return the memory list
// (a {badrpc, _} is quick and would inflate the anchor): a mismatch
// crashes the run.
const anchorModule = `-module(rpc_anchor).
-export([run/3]).
run(T, N, P) ->
    [_ | _] = rpc:call(T, erlang, memory, []),
    Self = self(),
    {Us, _} = timer:tc(fun() ->
        Pids = [spawn_link(fun() -> loop(T, N div P), Self ! {done, self()} end) || _ <- lists:seq(1, P)],
        [receive {done, Pid} -> ok end || Pid <- Pids]
    end),
    io:format("~w~n", [(N div P * P) / (Us / 1.0e6)]).
loop(_, 0) -> ok;
loop(T, K) -> [_ | _] = rpc:call(T, erlang, memory, []), loop(T, K - 1).
`

// erlangRPCRate measures Erlang's own rpc client, the anchor of the rpc
// benchmarks: a hidden erl node calls rpc:call(Target, erlang, memory, [])
// calls times, from `inflight` processes at once, and reports calls/s.
func erlangRPCRate(b *testing.B, target *testnode.Node, calls, inflight int) float64 {
	b.Helper()
	dir := testnode.Compile(b, "rpc_anchor", anchorModule)
	script := fmt.Sprintf("rpc_anchor:run('%s', %d, %d)", target.Name, calls, inflight)
	out := testnode.EvalWithCookie(b, target.Cookie, script, "-pa", dir, "-sname", erlnode.RandomName("anchor"), "-hidden")
	rate, err := strconv.ParseFloat(strings.TrimSpace(out), 64)
	if err != nil {
		b.Fatalf("anchor printed %q: %v", out, err)
	}
	return rate
}

// BenchmarkRPC measures rpc round trips per second against a real node,
// sequentially and with 64 calls in flight on one connection, and compares
// them with Erlang's own rpc:call measured in the same run
// (x_vs_erlang > 1 means beamctl is faster).
func BenchmarkRPC(b *testing.B) {
	n := testnode.Start(b, testnode.Options{})
	for _, mode := range []RPCMode{RPCSpawn, RPCRex} {
		c, err := Dial(context.Background(), n.Name, Options{Cookie: n.Cookie, RPC: mode})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		for _, inflight := range []int{1, 64} {
			benchmarkRPC(b, n, c, mode, inflight)
		}
	}
}

func benchmarkRPC(b *testing.B, n *testnode.Node, c *Conn, mode RPCMode, inflight int) {
	b.Run(fmt.Sprintf("%s/inflight=%d", mode, inflight), func(b *testing.B) {
		anchor := erlangRPCRate(b, n, 20000, inflight)
		ctx := context.Background()
		b.ResetTimer()
		start := time.Now()
		var wg sync.WaitGroup
		per := b.N/inflight + 1
		for range inflight {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range per {
					r, err := c.Call(ctx, "erlang", "memory")
					if err != nil {
						b.Error(err)
						return
					}
					if l, err := etf.ToList(r); err != nil || len(l) == 0 {
						b.Errorf("erlang:memory() returned %v, want its list", r)
						return
					}
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.StopTimer()
		if b.Failed() {
			return
		}
		rate := float64(per*inflight) / elapsed.Seconds()
		b.ReportMetric(rate, "calls/s")
		b.ReportMetric(anchor, "erlang_calls/s")
		b.ReportMetric(rate/anchor, "x_vs_erlang")
	})
}
