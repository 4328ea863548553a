package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beamctl/beamctl/internal/capture"
	"github.com/beamctl/beamctl/internal/etf"
)

// Placeholders that stand for the recorded node and for beamctl's node in a
// recording's terms (atoms, and the node of pids, ports and references,
// whose creation is then 0). Replay puts the simulated node and the
// connected peer in their place.
const (
	nodeAtom   etf.Atom = "$sim_node"
	clientAtom etf.Atom = "$sim_client"
)

// recordingVersion is the format version of a recording file.
const recordingVersion = 1

// Reply is one recorded answer.
type Reply struct {
	At     time.Time
	Raised bool     // Value is a rex {badrpc, Value} reason
	Value  etf.Term // with placeholders for the node names
}

// Entry is every answer recorded for one call: the first and the last.
type Entry struct {
	Module, Function string
	Args             etf.List // with placeholders
	First, Last      Reply
}

// Recording is what a node answered to the calls beamctl serve made.
type Recording struct {
	// Node is the recorded node's name; OTPRelease its OTP release.
	Node    string
	Entries []Entry
}

// callKey identifies a call: module, function and the ETF of its
// (placeholder) arguments.
func callKey(module, function string, args etf.List) (string, error) {
	// beamctl's pids in a call (the mailbox a capture sends to) differ
	// from connection to connection: any of them matches.
	b, err := etf.Encode((&rename{anyClientPid: true}).apply(args, 0))
	if err != nil {
		return "", err
	}
	return module + "\x00" + function + "\x00" + string(b), nil
}

// Encode writes the recording as one ETF term:
// {beamsim_recording, Version, Node, [{M, F, Args, First, Last}]} with each
// reply {UnixNano, Raised, Value}. Entries are sorted by call.
func (r *Recording) Encode() ([]byte, error) {
	entries := make(etf.List, 0, len(r.Entries))
	sorted := append([]Entry(nil), r.Entries...)
	keys := map[*Entry]string{}
	for i := range sorted {
		k, err := callKey(sorted[i].Module, sorted[i].Function, sorted[i].Args)
		if err != nil {
			return nil, err
		}
		keys[&sorted[i]] = k
	}
	sort.Slice(sorted, func(i, j int) bool { return keys[&sorted[i]] < keys[&sorted[j]] })
	for _, e := range sorted {
		entries = append(entries, etf.Tuple{
			etf.Atom(e.Module), etf.Atom(e.Function), e.Args, encodeReply(e.First), encodeReply(e.Last),
		})
	}
	return etf.Encode(etf.Tuple{etf.Atom("beamsim_recording"), int64(recordingVersion), etf.Atom(r.Node), entries})
}

func encodeReply(r Reply) etf.Term {
	raised := etf.False
	if r.Raised {
		raised = etf.True
	}
	return etf.Tuple{r.At.UnixNano(), raised, r.Value}
}

// DecodeRecording reads what Encode wrote.
func DecodeRecording(b []byte) (*Recording, error) {
	t, err := etf.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("decode recording: %w", err)
	}
	top, ok := t.(etf.Tuple)
	if !ok || len(top) != 4 || top[0] != etf.Atom("beamsim_recording") {
		return nil, errors.New("not a beamsim recording")
	}
	if v, _ := etf.ToInt64(top[1]); v != recordingVersion {
		return nil, fmt.Errorf("recording format version %v, want %d", top[1], recordingVersion)
	}
	node, _ := top[2].(etf.Atom)
	list, err := etf.ToList(top[3])
	if err != nil {
		return nil, fmt.Errorf("recording entries: %w", err)
	}
	r := &Recording{Node: string(node)}
	for i, et := range list {
		e, ok := et.(etf.Tuple)
		if !ok || len(e) != 5 {
			return nil, fmt.Errorf("recording entry %d is malformed", i)
		}
		m, okM := e[0].(etf.Atom)
		f, okF := e[1].(etf.Atom)
		args, okA := e[2].(etf.List)
		if !okA {
			if e[2] == nil {
				args, okA = etf.List{}, true
			} else if s, ok := e[2].(etf.String); ok && s == "" {
				args, okA = etf.List{}, true
			}
		}
		first, err1 := decodeReply(e[3])
		last, err2 := decodeReply(e[4])
		if !okM || !okF || !okA || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("recording entry %d is malformed", i)
		}
		r.Entries = append(r.Entries, Entry{Module: string(m), Function: string(f), Args: args, First: first, Last: last})
	}
	return r, nil
}

func decodeReply(t etf.Term) (Reply, error) {
	tt, ok := t.(etf.Tuple)
	if !ok || len(tt) != 3 {
		return Reply{}, errors.New("malformed reply")
	}
	ns, err := etf.ToInt64(tt[0])
	if err != nil {
		return Reply{}, err
	}
	return Reply{At: time.Unix(0, ns), Raised: tt[1] == etf.True, Value: tt[2]}, nil
}

// ReadRecording reads a recording file.
func ReadRecording(path string) (*Recording, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return DecodeRecording(b)
}

// WriteFile writes the recording to path.
func (r *Recording) WriteFile(path string) error {
	b, err := r.Encode()
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// rename maps node names in a term, for recording (real names to
// placeholders) and replay (placeholders to the simulated ones).
type rename struct {
	from [2]etf.Atom
	to   [2]etf.Atom
	cr   [2]uint32 // the creation of the renamed node's pids, ports and refs
	// anyClientPid makes every pid of the client placeholder the same.
	anyClientPid bool
}

func (rn *rename) node(a etf.Atom) (etf.Atom, uint32, bool) {
	for i, f := range rn.from {
		if f != "" && a == f {
			return rn.to[i], rn.cr[i], true
		}
	}
	return a, 0, false
}

// atom renames a node name, or a name derived from beamctl's node name
// (the log handler's id, capture.HandlerID), which would otherwise differ
// between the recording's server and the one replayed to.
func (rn *rename) atom(a etf.Atom) etf.Atom {
	if to, _, ok := rn.node(a); ok {
		return to
	}
	for i, f := range rn.from {
		if f != "" && strings.HasPrefix(string(a), "beamctl_") && a == capture.HandlerID(string(f)) {
			return capture.HandlerID(string(rn.to[i]))
		}
	}
	return a
}

// apply copies t with the names replaced; moving values (*moving) are
// resolved at time at.
func (rn *rename) apply(t etf.Term, at time.Duration) etf.Term {
	switch v := t.(type) {
	case etf.Atom:
		return rn.atom(v)
	case etf.Pid:
		if a, cr, ok := rn.node(v.Node); ok {
			v.Node, v.Creation = a, cr
		}
		if rn.anyClientPid && v.Node == clientAtom {
			v.ID, v.Serial, v.Creation = 0, 0, 0
		}
		return v
	case etf.Port:
		if a, cr, ok := rn.node(v.Node); ok {
			v.Node, v.Creation = a, cr
		}
		return v
	case etf.Ref:
		if a, cr, ok := rn.node(v.Node); ok {
			v.Node, v.Creation = a, cr
		}
		return v
	case etf.Tuple:
		out := make(etf.Tuple, len(v))
		for i, e := range v {
			out[i] = rn.apply(e, at)
		}
		return out
	case etf.List:
		out := make(etf.List, len(v))
		for i, e := range v {
			out[i] = rn.apply(e, at)
		}
		return out
	case etf.ImproperList:
		out := etf.ImproperList{Elems: make([]etf.Term, len(v.Elems)), Tail: rn.apply(v.Tail, at)}
		for i, e := range v.Elems {
			out.Elems[i] = rn.apply(e, at)
		}
		return out
	case etf.Map:
		out := make(etf.Map, len(v))
		for i, p := range v {
			out[i] = etf.MapPair{Key: rn.apply(p.Key, at), Value: rn.apply(p.Value, at)}
		}
		return out
	case etf.Fun:
		v.Pid = rn.apply(v.Pid, at).(etf.Pid)
		fv := make([]etf.Term, len(v.FreeVars))
		for i, e := range v.FreeVars {
			fv[i] = rn.apply(e, at)
		}
		v.FreeVars = fv
		return v
	case *moving:
		return v.at(at)
	}
	return t
}

// hasPlaceholder tells whether a rename is needed at all (most replies
// hold no pid, port, reference or node name).
func hasNodes(t etf.Term) bool {
	switch v := t.(type) {
	case etf.Atom:
		return v == nodeAtom || v == clientAtom || v == capture.HandlerID(string(clientAtom))
	case etf.Pid, etf.Port, etf.Ref, etf.Fun, *moving:
		return true
	case etf.Tuple:
		for _, e := range v {
			if hasNodes(e) {
				return true
			}
		}
	case etf.List:
		for _, e := range v {
			if hasNodes(e) {
				return true
			}
		}
	case etf.ImproperList:
		for _, e := range v.Elems {
			if hasNodes(e) {
				return true
			}
		}
		return hasNodes(v.Tail)
	case etf.Map:
		for _, p := range v {
			if hasNodes(p.Key) || hasNodes(p.Value) {
				return true
			}
		}
	}
	return false
}

// moving is an integer that changed between the first and the last reply
// of a recording.
type moving struct {
	a, b   int64         // first and last value
	dt     time.Duration // between the two
	kind   movingKind
	perSec float64 // clock: the unit's ticks per second
}

type movingKind int

const (
	// counterKind grows on at its recorded rate, from the last value.
	counterKind movingKind = iota
	// gaugeKind went down: it moves between the two values and back, in
	// the recorded time each way.
	gaugeKind
	// clockKind is a wall-clock time (os:system_time/1 and friends): it
	// reads the current time in its unit.
	clockKind
)

func (m *moving) at(elapsed time.Duration) etf.Term {
	switch m.kind {
	case clockKind:
		return int64(float64(time.Now().UnixNano()) / 1e9 * m.perSec)
	case counterKind:
		return m.b + int64(float64(m.b-m.a)*elapsed.Seconds()/m.dt.Seconds())
	}
	phase := math.Mod(elapsed.Seconds()/m.dt.Seconds(), 2) // 0..2
	if phase > 1 {
		phase = 2 - phase
	}
	return m.b + int64(float64(m.a-m.b)*phase)
}

// clockUnits are the units a wall-clock integer may be in, in ticks per
// second.
var clockUnits = []float64{1e9, 1e6, 1e3, 1}

// template merges the first and the last reply: integers that differ become
// *moving, anything else that differs is the last reply's.
func template(first, last etf.Term, t1, t2 time.Time) etf.Term {
	dt := t2.Sub(t1)
	if dt <= 0 {
		return last
	}
	var merge func(a, b etf.Term) etf.Term
	merge = func(a, b etf.Term) etf.Term {
		switch bv := b.(type) {
		case int64:
			av, ok := a.(int64)
			if !ok || av == bv {
				return b
			}
			for _, u := range clockUnits {
				wa, wb := float64(t1.UnixNano())/1e9*u, float64(t2.UnixNano())/1e9*u
				if math.Abs(float64(av)-wa) < 60*u && math.Abs(float64(bv)-wb) < 60*u {
					return &moving{a: av, b: bv, dt: dt, kind: clockKind, perSec: u}
				}
			}
			k := counterKind
			if bv < av {
				k = gaugeKind
			}
			return &moving{a: av, b: bv, dt: dt, kind: k}
		case etf.Tuple:
			at, ok := a.(etf.Tuple)
			if !ok || len(at) != len(bv) {
				return b
			}
			out := make(etf.Tuple, len(bv))
			for i := range bv {
				out[i] = merge(at[i], bv[i])
			}
			return out
		case etf.List:
			al, ok := a.(etf.List)
			if !ok || len(al) != len(bv) {
				return b
			}
			al = alignByKey(al, bv)
			out := make(etf.List, len(bv))
			for i := range bv {
				out[i] = merge(al[i], bv[i])
			}
			return out
		case etf.Map:
			am, ok := a.(etf.Map)
			if !ok || len(am) != len(bv) {
				return b
			}
			out := make(etf.Map, len(bv))
			for i, p := range bv {
				if !etf.Equal(am[i].Key, p.Key) {
					return b
				}
				out[i] = etf.MapPair{Key: p.Key, Value: merge(am[i].Value, p.Value)}
			}
			return out
		}
		return b
	}
	return merge(first, last)
}

// alignByKey reorders a, a list of tuples keyed by their first element
// ({SchedulerId, Active, Total}), into the order of the same keys in b, so
// that the template interpolates each entry with its own: a node may list
// the same entries in another order in its two replies. Lists that are not
// such tuples with the same unique keys on both sides are returned as
// they are.
func alignByKey(a, b etf.List) etf.List {
	if len(a) > 2000 {
		return a
	}
	key := func(t etf.Term) (etf.Term, bool) {
		tu, ok := t.(etf.Tuple)
		if !ok || len(tu) == 0 {
			return nil, false
		}
		return tu[0], true
	}
	out := make(etf.List, len(b))
	used := make([]bool, len(a))
	for i, e := range b {
		kb, ok := key(e)
		if !ok {
			return a
		}
		found := false
		for j, x := range a {
			if ka, ok := key(x); ok && !used[j] && etf.Equal(ka, kb) {
				out[i], used[j], found = x, true, true
				break
			}
		}
		if !found {
			return a
		}
	}
	return out
}

// Replay answers calls from a recording. It is safe for concurrent use by
// any number of nodes.
type Replay struct {
	calls map[string]replayEntry
	// byForms answers erl_eval:exprs/2 by its expression alone when its
	// bindings were not recorded: beamctl binds values that vary from
	// call to call (a time budget, the modules to check).
	byForms map[string]replayEntry
	start   time.Time
	misses  sync.Map // "module:function/arity" -> *atomic.Int64: calls not recorded
}

// Misses counts the calls the recording could not answer, by function.
func (rp *Replay) Misses() map[string]int64 {
	out := map[string]int64{}
	rp.misses.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// miss counts a call the recording could not answer.
func (rp *Replay) miss(module, function string, args []etf.Term) {
	k := fmt.Sprintf("%s:%s/%d", module, function, len(args))
	v, ok := rp.misses.Load(k)
	if !ok {
		v, _ = rp.misses.LoadOrStore(k, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}

type replayEntry struct {
	raised bool
	value  etf.Term // a template: may hold *moving
	plain  bool     // no placeholder or moving value: value can be sent as is
}

// NewReplay prepares a recording for replay.
func NewReplay(r *Recording) (*Replay, error) {
	rp := &Replay{calls: map[string]replayEntry{}, byForms: map[string]replayEntry{}, start: time.Now()}
	for _, e := range r.Entries {
		k, err := callKey(e.Module, e.Function, e.Args)
		if err != nil {
			return nil, fmt.Errorf("recording of %s:%s: %w", e.Module, e.Function, err)
		}
		v := e.Last.Value
		if e.First.Raised == e.Last.Raised {
			v = template(e.First.Value, e.Last.Value, e.First.At, e.Last.At)
		}
		re := replayEntry{raised: e.Last.Raised, value: v, plain: !hasNodes(v)}
		rp.calls[k] = re
		if fk, ok := formsKey(e.Module, e.Function, e.Args); ok {
			rp.byForms[fk] = re
		}
	}
	return rp, nil
}

// formsKey is the key of an erl_eval:exprs(Forms, Bindings) call by its
// forms alone.
func formsKey(module, function string, args etf.List) (string, bool) {
	if module != "erl_eval" || function != "exprs" || len(args) != 2 {
		return "", false
	}
	k, err := callKey(module, function, args[:1])
	return k, err == nil
}

// Len is the number of recorded calls.
func (rp *Replay) Len() int { return len(rp.calls) }

var applyFun = etf.Export{Module: "erlang", Function: "apply", Arity: 2}

// Call implements Backend. lists:zipwith(fun erlang:apply/2, Funs, Args),
// the batch beamctl's collectors make of their calls, is answered call by
// call, since which calls a batch joins varies from round to round.
func (rp *Replay) Call(_ context.Context, n *Node, p Peer, module, function string, args []etf.Term) (etf.Term, bool) {
	toSim := &rename{from: [2]etf.Atom{n.Name, p.Name}, to: [2]etf.Atom{nodeAtom, clientAtom}}
	fromSim := &rename{from: [2]etf.Atom{nodeAtom, clientAtom}, to: [2]etf.Atom{n.Name, p.Name}, cr: [2]uint32{n.Creation, p.Creation}}
	return rp.call(toSim, fromSim, time.Since(rp.start)+n.Phase, module, function, args)
}

// call answers one call; a batch within a batch (a collector's own
// independent calls made together) is answered call by call too, as
// Recorder records it.
func (rp *Replay) call(toSim, fromSim *rename, elapsed time.Duration, module, function string, args []etf.Term) (etf.Term, bool) {
	if module == "lists" && function == "zipwith" && len(args) == 3 && etf.Equal(args[0], applyFun) {
		funs, ok1 := args[1].(etf.List)
		argLists, ok2 := args[2].(etf.List)
		if ok1 && ok2 && len(funs) == len(argLists) {
			out := make(etf.List, len(funs))
			for i, f := range funs {
				ex, ok := f.(etf.Export)
				al, okA := argLists[i].(etf.List)
				if !ok || !okA {
					return undef(module, function, args), true
				}
				v, raised := rp.call(toSim, fromSim, elapsed, string(ex.Module), string(ex.Function), al)
				if raised {
					// The batch fails as a whole, as on a node.
					return v, true
				}
				out[i] = v
			}
			return out, false
		}
	}
	return rp.one(toSim, fromSim, elapsed, module, function, args)
}

func (rp *Replay) one(toSim, fromSim *rename, elapsed time.Duration, module, function string, args []etf.Term) (etf.Term, bool) {
	renamed := toSim.apply(etf.List(args), 0).(etf.List)
	k, err := callKey(module, function, renamed)
	if err != nil {
		return undef(module, function, args), true
	}
	e, ok := rp.calls[k]
	if !ok {
		var fk string
		if fk, ok = formsKey(module, function, renamed); ok {
			e, ok = rp.byForms[fk]
		}
	}
	if !ok {
		rp.miss(module, function, args)
		return undef(module, function, args), true
	}
	if e.plain {
		return e.value, e.raised
	}
	return fromSim.apply(e.value, elapsed), e.raised
}

// undef is the rex reason for a call of an undefined function, as a node
// gives it: {'EXIT', {undef, [{M, F, Args, []}]}}; but with the arity in
// place of arguments of more than 256 bytes. A call the recording cannot
// answer is one a node would answer, and echoing large arguments (a
// capture's set-up, a sweep of many modules) cost both sides tens of KiB
// a miss that no node costs.
func undef(module, function string, args []etf.Term) etf.Term {
	var a etf.Term = etf.List(args)
	if b, err := etf.Encode(a); err != nil || len(b) > 256 {
		a = int64(len(args))
	}
	return etf.Tuple{etf.Atom("EXIT"), etf.Tuple{etf.Atom("undef"),
		etf.List{etf.Tuple{etf.Atom(module), etf.Atom(function), a, etf.List{}}}}}
}

// redact replaces every binary, string or atom holding secret in t (the
// cookie, which no collector should ever see) with "<redacted>".
func redact(t etf.Term, secret string) etf.Term {
	if secret == "" {
		return t
	}
	var walk func(t etf.Term) etf.Term
	walk = func(t etf.Term) etf.Term {
		switch v := t.(type) {
		case etf.Atom:
			if strings.Contains(string(v), secret) {
				return etf.Atom("<redacted>")
			}
		case etf.String:
			if strings.Contains(string(v), secret) {
				return etf.String("<redacted>")
			}
		case []byte:
			if bytes.Contains(v, []byte(secret)) {
				return []byte("<redacted>")
			}
		case etf.Tuple:
			out := make(etf.Tuple, len(v))
			for i, e := range v {
				out[i] = walk(e)
			}
			return out
		case etf.List:
			out := make(etf.List, len(v))
			for i, e := range v {
				out[i] = walk(e)
			}
			return out
		case etf.ImproperList:
			out := etf.ImproperList{Elems: make([]etf.Term, len(v.Elems)), Tail: walk(v.Tail)}
			for i, e := range v.Elems {
				out.Elems[i] = walk(e)
			}
			return out
		case etf.Map:
			out := make(etf.Map, len(v))
			for i, p := range v {
				out[i] = etf.MapPair{Key: walk(p.Key), Value: walk(p.Value)}
			}
			return out
		}
		return t
	}
	return walk(t)
}
