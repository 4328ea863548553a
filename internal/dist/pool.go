package dist

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/beamctl/beamctl/internal/etf"
)

// Backoff bounds for reconnecting.
const (
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 10 * time.Second
)

// State is the connection state of a node in a Pool.
type State int

// Node states.
const (
	// StateConnecting: the first dial is in progress.
	StateConnecting State = iota
	// StateUp: connected.
	StateUp
	// StateDown: the connection was lost; reconnecting with backoff.
	StateDown
	// StateUnreachable: never connected yet; dials fail (see Err).
	StateUnreachable
)

func (s State) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateUp:
		return "up"
	case StateDown:
		return "down"
	case StateUnreachable:
		return "unreachable"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// NodeStatus describes one node of a Pool.
type NodeStatus struct {
	Node  string
	State State
	Err   error     // the last dial or connection error
	Since time.Time // when State was entered
}

// EventKind says what happened to a node.
type EventKind int

// Event kinds.
const (
	NodeUp EventKind = iota
	NodeDown
)

func (k EventKind) String() string {
	if k == NodeUp {
		return "nodeup"
	}
	return "nodedown"
}

// NodeEvent is a nodeup or nodedown of a node in a Pool.
type NodeEvent struct {
	Node string
	Kind EventKind
	Err  error // why the node went down
	Time time.Time
}

// UnreachableError is returned for a node the Pool cannot connect to now.
type UnreachableError struct {
	Node string
	Err  error
}

func (e *UnreachableError) Error() string {
	return "node " + e.Node + " is unreachable: " + e.Err.Error()
}
func (e *UnreachableError) Unwrap() error { return e.Err }

// PoolOptions configure a Pool.
type PoolOptions struct {
	Options
	MinBackoff time.Duration
	MaxBackoff time.Duration
}

// Pool keeps one connection per node and reconnects lost ones in the
// background with exponential backoff. It is safe for concurrent use.
// Close stops every connection and reconnect loop.
type Pool struct {
	opts PoolOptions

	mu     sync.Mutex
	nodes  map[string]*poolNode
	subs   map[chan NodeEvent]struct{}
	closed bool
	wg     sync.WaitGroup
}

type poolNode struct {
	name     string
	conn     *Conn
	state    State
	err      error
	since    time.Time
	attempts int
	changed  chan struct{} // closed and replaced on every change
	stop     chan struct{}
}

// NewPool returns an empty pool.
func NewPool(opts PoolOptions) *Pool {
	opts.Options = opts.Options.withDefaults()
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(DefaultMaxBackoff, opts.MinBackoff)
	}
	return &Pool{opts: opts, nodes: map[string]*poolNode{}, subs: map[chan NodeEvent]struct{}{}}
}

// Call runs module:function(args...) on node, connecting first if needed.
// See Conn.Call.
func (p *Pool) Call(ctx context.Context, node, module, function string, args ...etf.Term) (etf.Term, error) {
	c, err := p.Conn(ctx, node)
	if err != nil {
		return nil, err
	}
	return c.Call(ctx, module, function, args...)
}

// Conn returns the live connection to node. A node not seen before is added
// to the pool and dialled; Conn waits for that first dial (bounded by ctx).
// While a node is down or unreachable it fails fast with an
// *UnreachableError carrying the last error.
func (p *Pool) Conn(ctx context.Context, node string) (*Conn, error) {
	if _, err := ParseNodeName(node); err != nil {
		return nil, err
	}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, errors.New("pool closed")
		}
		pn := p.nodes[node]
		if pn == nil {
			pn = &poolNode{name: node, changed: make(chan struct{}), stop: make(chan struct{}), since: time.Now()}
			p.nodes[node] = pn
			p.wg.Add(1)
			go p.keep(pn)
		}
		conn, err, attempts, changed := pn.conn, pn.err, pn.attempts, pn.changed
		p.mu.Unlock()
		switch {
		case conn != nil:
			return conn, nil
		case attempts > 0 && err != nil:
			return nil, &UnreachableError{Node: node, Err: err}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to %s: %w", node, ctx.Err())
		}
	}
}

// Status returns the state of every node in the pool.
func (p *Pool) Status() []NodeStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]NodeStatus, 0, len(p.nodes))
	for _, pn := range p.nodes {
		out = append(out, NodeStatus{Node: pn.name, State: pn.state, Err: pn.err, Since: pn.since})
	}
	return out
}

// Subscribe returns a channel of node events. Events are dropped, not
// queued without bound, when the subscriber does not keep up. Call cancel to
// unsubscribe.
func (p *Pool) Subscribe(buf int) (<-chan NodeEvent, func()) {
	ch := make(chan NodeEvent, max(buf, 1))
	p.mu.Lock()
	p.subs[ch] = struct{}{}
	p.mu.Unlock()
	return ch, func() {
		p.mu.Lock()
		delete(p.subs, ch)
		p.mu.Unlock()
	}
}

// Forget closes the connection to node and stops reconnecting to it.
func (p *Pool) Forget(node string) {
	p.mu.Lock()
	pn := p.nodes[node]
	delete(p.nodes, node)
	p.mu.Unlock()
	if pn != nil {
		close(pn.stop)
	}
}

// Close closes every connection and waits for the reconnect loops to end.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	nodes := p.nodes
	p.nodes = map[string]*poolNode{}
	p.mu.Unlock()
	for _, pn := range nodes {
		close(pn.stop)
	}
	p.wg.Wait()
	return nil
}

// keep connects to pn and reconnects after every loss, until stopped.
func (p *Pool) keep(pn *poolNode) {
	defer p.wg.Done()
	backoff := p.opts.MinBackoff
	for {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-pn.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		c, err := Dial(ctx, pn.name, p.opts.Options)
		cancel()
		if err != nil {
			p.update(pn, func() {
				pn.err = err
				pn.attempts++
				if pn.state == StateConnecting {
					pn.state, pn.since = StateUnreachable, time.Now()
				}
			})
			// Full jitter keeps many beamctl clients from retrying in step.
			wait := backoff/2 + rand.N(backoff/2+1)
			backoff = min(backoff*2, p.opts.MaxBackoff)
			select {
			case <-pn.stop:
				return
			case <-time.After(wait):
				continue
			}
		}
		backoff = p.opts.MinBackoff
		p.update(pn, func() {
			pn.conn, pn.err, pn.state, pn.since = c, nil, StateUp, time.Now()
			pn.attempts++
		})
		p.emit(NodeEvent{Node: pn.name, Kind: NodeUp, Time: time.Now()})
		select {
		case <-pn.stop:
			_ = c.Close()
			return
		case <-c.Done():
		}
		p.update(pn, func() {
			pn.conn, pn.err, pn.state, pn.since = nil, c.Err(), StateDown, time.Now()
		})
		p.emit(NodeEvent{Node: pn.name, Kind: NodeDown, Err: c.Err(), Time: time.Now()})
	}
}

func (p *Pool) update(pn *poolNode, f func()) {
	p.mu.Lock()
	f()
	close(pn.changed)
	pn.changed = make(chan struct{})
	p.mu.Unlock()
}

func (p *Pool) emit(ev NodeEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for ch := range p.subs {
		select {
		case ch <- ev:
		default:
			p.opts.Logger.Warn("Dropped a node event: subscriber too slow", "node", ev.Node, "event", ev.Kind)
		}
	}
}
