package collector

import (
	"context"
	"errors"
	"reflect"
	"sync"

	"github.com/beamctl/beamctl/internal/etf"
)

// Conn is what a collector needs of a node connection; *dist.Conn is one.
type Conn interface {
	Call(ctx context.Context, module, function string, args ...etf.Term) (etf.Term, error)
	Node() string
	Self() string
}

// AgentConn is a Conn on which beamctl_agent may be used (WithAgent). The
// collectors that scan on the node need it.
type AgentConn interface {
	Conn
	AgentLoaded() bool
}

// agentModule is beamctl_agent's module name, inspect.AgentModule (a test
// checks that they agree); collector does not import inspect for it.
const agentModule = "beamctl_agent"

type withAgent struct{ Conn }

func (withAgent) AgentLoaded() bool { return true }

// WithAgent marks a connection on which beamctl_agent (of this beamctl's
// version) is loaded.
func WithAgent(c Conn) Conn { return withAgent{c} }

// agentLoaded reports whether the agent may be called on c.
func agentLoaded(c Conn) bool {
	a, ok := c.(AgentConn)
	return ok && a.AgentLoaded()
}

// countingConn is a connection outside the batch whose calls still count
// in the round's rpc count.
type countingConn struct {
	Conn
	b *batch
}

func (c *countingConn) Call(ctx context.Context, module, function string, args ...etf.Term) (etf.Term, error) {
	c.b.count()
	return c.Conn.Call(ctx, module, function, args...)
}

func (c *countingConn) AgentLoaded() bool { return agentLoaded(c.Conn) }

// batch merges the calls that concurrent collectors make into one rpc per
// round: when every running collector is waiting for a call, the waiting
// calls go to the node together as
// lists:zipwith(fun erlang:apply/2, [fun M:F/A ...], [Args ...]).
// A round of eight collectors then costs the node one rex call instead of
// about fifteen, and still loads nothing. If the batch fails as a whole
// (one call raised), its calls are retried one by one, so that one
// collector's error stays its own.
type batch struct {
	conn Conn

	mu      sync.Mutex
	active  int // collectors still running
	pending []*batchedCall
	rpcs    int // rpc calls made, for the cost benchmark
}

type batchedCall struct {
	module, function string
	args             []etf.Term
	done             chan callResult
	same             []*batchedCall // identical calls answered by this one
}

// deliver answers the call and the identical calls it stands for.
func (c *batchedCall) deliver(r callResult) {
	c.done <- r
	for _, s := range c.same {
		s.done <- r
	}
}

// dedup folds identical calls (the same function and arguments, such as
// the process table walk two collectors share) into the first of them.
func dedup(calls []*batchedCall) []*batchedCall {
	out := calls[:0:0]
next:
	for _, c := range calls {
		for _, u := range out {
			if u.module == c.module && u.function == c.function && reflect.DeepEqual(u.args, c.args) {
				u.same = append(u.same, c)
				continue next
			}
		}
		out = append(out, c)
	}
	return out
}

type callResult struct {
	t   etf.Term
	err error
}

func newBatch(conn Conn, collectors int) *batch { return &batch{conn: conn, active: collectors} }

func (b *batch) Node() string      { return b.conn.Node() }
func (b *batch) AgentLoaded() bool { return agentLoaded(b.conn) }
func (b *batch) Self() string      { return b.conn.Self() }

// Call queues one call and waits for its round.
func (b *batch) Call(ctx context.Context, module, function string, args ...etf.Term) (etf.Term, error) {
	bc := &batchedCall{module: module, function: function, args: args, done: make(chan callResult, 1)}
	b.mu.Lock()
	b.pending = append(b.pending, bc)
	ready := b.takeReadyLocked()
	b.mu.Unlock()
	if ready != nil {
		go b.flush(ctx, ready)
	}
	select {
	case r := <-bc.done:
		return r.t, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// finished tells the batch a collector will make no more calls.
func (b *batch) finished(ctx context.Context) {
	b.mu.Lock()
	b.active--
	ready := b.takeReadyLocked()
	b.mu.Unlock()
	if ready != nil {
		go b.flush(ctx, ready)
	}
}

// takeReadyLocked returns the pending calls when every running collector
// waits on one.
func (b *batch) takeReadyLocked() []*batchedCall {
	if len(b.pending) == 0 || len(b.pending) < b.active {
		return nil
	}
	ready := b.pending
	b.pending = nil
	return ready
}

func (b *batch) flush(ctx context.Context, calls []*batchedCall) {
	calls = dedup(calls)
	if len(calls) == 1 {
		b.one(ctx, calls[0])
		return
	}
	funs := make(etf.List, len(calls))
	argLists := make(etf.List, len(calls))
	for i, c := range calls {
		funs[i] = etf.Export{Module: etf.Atom(c.module), Function: etf.Atom(c.function), Arity: uint8(len(c.args))}
		args := c.args
		if args == nil {
			args = []etf.Term{}
		}
		argLists[i] = etf.List(args)
	}
	b.count()
	r, err := b.conn.Call(ctx, "lists", "zipwith", applyExport, funs, argLists)
	var results []etf.Term
	if err == nil {
		results, err = etf.ToList(r)
		if err == nil && len(results) != len(calls) {
			err = errors.New("lists:zipwith returned the wrong number of results")
		}
	}
	if err != nil {
		// One call raised (or the batch failed otherwise): retry each
		// alone so that errors land where they belong.
		var wg sync.WaitGroup
		for _, c := range calls {
			wg.Add(1)
			go func() { defer wg.Done(); b.one(ctx, c) }()
		}
		wg.Wait()
		return
	}
	for i, c := range calls {
		c.deliver(callResult{t: results[i]})
	}
}

func (b *batch) one(ctx context.Context, c *batchedCall) {
	b.count()
	t, err := b.conn.Call(ctx, c.module, c.function, c.args...)
	c.deliver(callResult{t: t, err: err})
}

func (b *batch) count() {
	b.mu.Lock()
	b.rpcs++
	b.mu.Unlock()
}
