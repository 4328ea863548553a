package app

import (
	"context"
	"reflect"

	"github.com/beamctl/beamctl/internal/capture"
	"github.com/beamctl/beamctl/internal/collector"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
)

// alarmsCheck is pollAlarms' call.
var alarmsCheck = capture.Check{Module: "alarm_handler", Function: "get_alarms"}

// checkBatch makes the calls of a watch poll's periodic checks (the
// agent's code digest, the node's alarm list, whether beamctl's system
// monitor and shell tracer still stand) in one round trip before the
// poll, and answers each check from it: four rpcs every code_interval
// became one (they were about a third of a node's rpcs at every
// collector every 10 s). It is collector.CallAll, a plain lists:zipwith
// of fun erlang:apply/2, which fails as a whole if one call raises; a
// check whose call was not fetched, or a batch that failed, goes to the
// node on its own as before, so the watch only adds a check whose call
// answered at the last poll.
type checkBatch struct {
	conn  *dist.Conn
	calls []batchedCheck
}

type batchedCheck struct {
	capture.Check
	result   etf.Term
	answered bool // fetched and not taken yet
}

func (b *checkBatch) add(c capture.Check) { b.calls = append(b.calls, batchedCheck{Check: c}) }

// fetch makes the calls added in one round trip, if there are at least
// two (one alone saves nothing).
func (b *checkBatch) fetch(ctx context.Context) {
	if len(b.calls) < 2 {
		b.calls = nil
		return
	}
	calls := make([]collector.MFA, len(b.calls))
	for i, c := range b.calls {
		calls[i] = collector.MFA{Module: c.Module, Function: c.Function, Args: c.Args}
	}
	results, err := collector.CallAll(ctx, b.conn, calls...)
	if err != nil {
		b.calls = nil
		return
	}
	for i := range b.calls {
		b.calls[i].result, b.calls[i].answered = results[i], true
	}
}

// Call answers a call that was fetched (once), and sends any other to the
// node.
func (b *checkBatch) Call(ctx context.Context, module, function string, args ...etf.Term) (etf.Term, error) {
	for i := range b.calls {
		c := &b.calls[i]
		if c.answered && c.Module == module && c.Function == function && len(c.Args) == len(args) &&
			(len(args) == 0 || reflect.DeepEqual(c.Args, args)) {
			c.answered = false
			return c.result, nil
		}
	}
	return b.conn.Call(ctx, module, function, args...)
}
