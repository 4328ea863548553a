package sim

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
)

// RecordOptions configure a Recorder.
type RecordOptions struct {
	// Node is the real node to record (alive@host), Cookie its cookie.
	Node, Cookie string
	// EpmdPort is the EPMD the real node is registered in (default 4369:
	// not $ERL_EPMD_PORT, which points beamctl at the simulator).
	EpmdPort int
	// CallTimeout bounds every call forwarded to the node (default 10s).
	CallTimeout time.Duration
}

// Recorder is a Backend that forwards every call to a real node and
// records its answer: a recording proxy between beamctl and the node.
// Calls run as spawned processes that are killed at their deadline
// (dist.RPCSpawn), so that no forwarded call outlives it on the node.
type Recorder struct {
	opts RecordOptions
	conn *dist.Conn

	mu      sync.Mutex
	entries map[string]*Entry
	frozen  bool // Last no longer changes; new calls are still recorded
}

// NewRecorder connects to the real node.
func NewRecorder(ctx context.Context, o RecordOptions) (*Recorder, error) {
	if o.EpmdPort == 0 {
		o.EpmdPort = 4369
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 10 * time.Second
	}
	c, err := dist.Dial(ctx, o.Node, dist.Options{Cookie: o.Cookie, EpmdPort: o.EpmdPort, RPC: dist.RPCSpawn})
	if err != nil {
		return nil, err
	}
	return &Recorder{opts: o, conn: c, entries: map[string]*Entry{}}, nil
}

// Close closes the connection to the real node.
func (r *Recorder) Close() error { return r.conn.Close() }

// Call implements Backend: the call goes to the real node with the
// simulated node's and beamctl's names replaced by the real node's and the
// recorder's own, and the answer comes back with the names replaced the
// other way.
func (r *Recorder) Call(ctx context.Context, n *Node, p Peer, module, function string, args []etf.Term) (etf.Term, bool) {
	realNode, self := etf.Atom(r.conn.Node()), etf.Atom(r.conn.Self())
	toReal := &rename{from: [2]etf.Atom{n.Name, p.Name}, to: [2]etf.Atom{realNode, self},
		cr: [2]uint32{r.conn.PeerCreation(), r.conn.Pid().Creation}}
	toPlaceholders := &rename{from: [2]etf.Atom{realNode, self}, to: [2]etf.Atom{nodeAtom, clientAtom}}
	fromPlaceholders := &rename{from: [2]etf.Atom{nodeAtom, clientAtom}, to: [2]etf.Atom{n.Name, p.Name},
		cr: [2]uint32{n.Creation, p.Creation}}

	ctx, cancel := context.WithTimeout(ctx, r.opts.CallTimeout)
	defer cancel()
	realArgs := toReal.apply(etf.List(args), 0).(etf.List)
	v, err := r.conn.Call(ctx, module, function, realArgs...)
	now := time.Now()
	var raised bool
	if err != nil {
		var bad *dist.BadRPCError
		if !errors.As(err, &bad) {
			// Not the node's answer (a timeout, a lost connection):
			// not recorded.
			return etf.Tuple{etf.Atom("EXIT"), etf.Tuple{etf.Atom("beamsim_proxy"), etf.String(err.Error())}}, true
		}
		v, raised = bad.Reason, true
	}
	v = redact(toPlaceholders.apply(v, 0), r.opts.Cookie)
	recArgs := redact(toPlaceholders.apply(realArgs, 0), r.opts.Cookie).(etf.List)
	r.record(module, function, recArgs, Reply{At: now, Raised: raised, Value: v})
	return fromPlaceholders.apply(v, 0), raised
}

// record keeps the first and the last answer to a call. A batch of
// collector calls (lists:zipwith(fun erlang:apply/2, Funs, Args)) is
// recorded call by call, as Replay answers it.
func (r *Recorder) record(module, function string, args etf.List, rep Reply) {
	if module == "lists" && function == "zipwith" && len(args) == 3 && etf.Equal(args[0], applyFun) {
		funs, ok1 := args[1].(etf.List)
		argLists, ok2 := args[2].(etf.List)
		results, ok3 := rep.Value.(etf.List)
		if ok1 && ok2 && len(funs) == len(argLists) {
			if rep.Raised || !ok3 || len(results) != len(funs) {
				return // beamctl retries the calls one by one
			}
			for i, f := range funs {
				ex, ok := f.(etf.Export)
				al, okA := argLists[i].(etf.List)
				if ok && okA {
					r.record(string(ex.Module), string(ex.Function), al, Reply{At: rep.At, Value: results[i]})
				}
			}
			return
		}
	}
	k, err := callKey(module, function, args)
	if err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.entries[k]; e != nil {
		if !r.frozen {
			e.Last = rep
		}
		return
	}
	r.entries[k] = &Entry{Module: module, Function: function, Args: args, First: rep, Last: rep}
}

// Freeze keeps the last replies recorded so far as they are, while calls
// not seen yet are still recorded: the calls that depend on a last reply
// (port_info on the ports erlang:ports returned) come in the same round,
// after it.
func (r *Recorder) Freeze() {
	r.mu.Lock()
	r.frozen = true
	r.mu.Unlock()
}

// Recording returns what was recorded so far.
func (r *Recorder) Recording() *Recording {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := &Recording{Node: r.conn.Node()}
	for _, e := range r.entries {
		rec.Entries = append(rec.Entries, *e)
	}
	return rec
}

// Calls is the number of distinct calls recorded.
func (r *Recorder) Calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.entries)
}

// String describes the recorder.
func (r *Recorder) String() string { return fmt.Sprintf("recorder of %s", r.conn.Node()) }
