package capture

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/termtext"
	"github.com/beamctl/beamctl/internal/testnode"
)

// BenchmarkLoggerCost measures what beamctl's log forwarding costs the
// node's logging processes: the time of 2,000 logger:error/2 calls on the
// node (timer:tc, so the rpc does not count), first with the node's own
// handler only (the anchor), then with beamctl's forwarder (the erl_eval
// filter that formats each event and sends it) installed as well. The
// node's default handler writes to its standard output in both runs.
func BenchmarkLoggerCost(b *testing.B) {
	n := testnode.Start(b, testnode.Options{Args: []string{"-kernel", "logger_level", "error"}})
	ctx := context.Background()
	c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	const calls = 2000
	// handlers checks the precondition of a figure: the handlers the node
	// has (the default one, and beamctl's when it forwards), and that an
	// error event passes the primary level, so that each call logs.
	handlers := func(b *testing.B, want ...string) {
		b.Helper()
		r, err := inspect.EvalWith(ctx, c, `{logger:allow(error, bench), string:join(lists:sort([atom_to_list(H) || H <- logger:get_handler_ids()]), ",")}.`, nil)
		if err != nil {
			b.Fatal(err)
		}
		sort.Strings(want)
		if got, want := termtext.Format(r), fmt.Sprintf(`{true,"%s"}`, strings.Join(want, ",")); got != want {
			b.Fatalf("the node's logger: %s, want %s (error allowed, handlers)", got, want)
		}
	}
	burst := func(b *testing.B) float64 {
		r, err := inspect.EvalWith(ctx, c, `{T, _} = timer:tc(fun() -> [logger:error("bench ~p", [I]) || I <- lists:seq(1, N)] end), T.`,
			map[string]etf.Term{"N": int64(calls)})
		if err != nil {
			b.Fatal(err)
		}
		us, _ := etf.ToInt64(r)
		return float64(us) / calls
	}
	var anchor float64
	for _, way := range []string{"node_handler_only", "with_beamctl_forwarder"} {
		b.Run(way, func(b *testing.B) {
			var f *LogForwarder
			arrived := make(chan struct{})
			if way == "with_beamctl_forwarder" {
				if f, err = ForwardLogs(ctx, c, "warning"); err != nil {
					b.Fatal(err)
				}
				go func() { // drain what arrives
					var once sync.Once
					for range f.Events(ctx) {
						once.Do(func() { close(arrived) })
					}
				}()
				handlers(b, string(HandlerID(c.Self())), "default")
			} else {
				handlers(b, "default")
			}
			var total float64
			for b.Loop() {
				total += burst(b)
			}
			per := total / float64(b.N)
			b.ReportMetric(per, "us/log_call")
			if way == "node_handler_only" {
				anchor = per
			} else if anchor > 0 {
				b.ReportMetric(per/anchor, "x_vs_node_handler_only")
			}
			if f != nil {
				// The forwarder was at work: its events reach beamctl.
				select {
				case <-arrived:
				case <-time.After(30 * time.Second):
					b.Fatal("no forwarded event reached beamctl")
				}
				b.ReportMetric(float64(f.Dropped()), "dropped_by_beamctl")
				if err := f.Remove(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
