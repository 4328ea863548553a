package inspect

import (
	"context"
	"fmt"

	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/termtext"
)

// Frame is one entry of a stack trace.
type Frame struct {
	MFA  string `json:"mfa"`
	File string `json:"file,omitempty"`
	Line int64  `json:"line,omitempty"`
}

func (f Frame) String() string {
	if f.File == "" {
		return f.MFA
	}
	return fmt.Sprintf("%s (%s:%d)", f.MFA, f.File, f.Line)
}

// DictEntry is one process dictionary entry, in Erlang text.
type DictEntry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// KeyElixir and ValueElixir are the entry in Elixir's syntax, for a
	// process that runs Elixir code (when they differ).
	KeyElixir   string `json:"key_elixir,omitempty"`
	ValueElixir string `json:"value_elixir,omitempty"`
}

// ProcInfo is what `beamctl pi` shows of one process.
type ProcInfo struct {
	Pid             string      `json:"pid"`
	RegisteredName  string      `json:"registered_name,omitempty"`
	CurrentLocation *Frame      `json:"current_location,omitempty"`
	CurrentFunction string      `json:"current_function"`
	InitialCall     string      `json:"initial_call"`
	Status          string      `json:"status"`
	MessageQueueLen int64       `json:"message_queue_len"`
	MemoryBytes     int64       `json:"memory_bytes"`
	HeapBytes       int64       `json:"heap_bytes"`
	StackBytes      int64       `json:"stack_bytes"`
	TotalHeapBytes  int64       `json:"total_heap_bytes"`
	Reductions      int64       `json:"reductions"`
	Stack           []Frame     `json:"stacktrace"`
	Links           []string    `json:"links"`
	Monitors        []string    `json:"monitors"`
	MonitoredBy     []string    `json:"monitored_by"`
	Dictionary      []DictEntry `json:"dictionary"`
	GroupLeader     string      `json:"group_leader"`
	TrapExit        bool        `json:"trap_exit"`
	Priority        string      `json:"priority"`
	// Elixir spells the process's names as Elixir does, when it runs
	// Elixir code (the fields above keep Erlang's spelling).
	Elixir *ElixirNames `json:"elixir,omitempty"`
}

var piItems = etf.List{
	etf.Atom("registered_name"), etf.Atom("current_function"), etf.Atom("current_stacktrace"),
	etf.Atom("initial_call"), etf.Atom("status"), etf.Atom("message_queue_len"), etf.Atom("memory"),
	etf.Atom("heap_size"), etf.Atom("stack_size"), etf.Atom("total_heap_size"), etf.Atom("reductions"),
	etf.Atom("links"), etf.Atom("monitors"), etf.Atom("monitored_by"), etf.Atom("dictionary"),
	etf.Atom("group_leader"), etf.Atom("trap_exit"), etf.Atom("priority"),
}

// ProcessInfo reads one process with a single process_info/2 call (plus a
// whereis for a registered name and the word size).
func ProcessInfo(ctx context.Context, c Conn, proc etf.Term) (*ProcInfo, error) {
	pid, err := resolvePid(ctx, c, proc)
	if err != nil {
		return nil, err
	}
	ws, err := c.Call(ctx, "erlang", "system_info", etf.Atom("wordsize"))
	if err != nil {
		return nil, err
	}
	word, err := etf.ToInt64(ws)
	if err != nil {
		return nil, fmt.Errorf("wordsize: %w", err)
	}
	r, err := c.Call(ctx, "erlang", "process_info", pid, piItems)
	if err != nil {
		return nil, err
	}
	if r == etf.Undefined {
		return nil, fmt.Errorf("process %s is not alive on %s", text(pid, c.Node()), c.Node())
	}
	node := c.Node()
	get := func(item string) etf.Term {
		v, _ := etf.PropGet(r, etf.Atom(item))
		return v
	}
	num := func(item string) int64 {
		n, _ := etf.ToInt64(get(item))
		return n
	}
	pids := func(item string) []string {
		out := []string{}
		l, _ := etf.ToList(get(item))
		for _, e := range l {
			out = append(out, text(e, node))
		}
		return out
	}
	pi := &ProcInfo{
		Pid:             text(pid, node),
		CurrentFunction: mfaText(get("current_function"), node),
		InitialCall:     mfaText(get("initial_call"), node),
		Status:          text(get("status"), node),
		MessageQueueLen: num("message_queue_len"),
		MemoryBytes:     num("memory"),
		HeapBytes:       num("heap_size") * word,
		StackBytes:      num("stack_size") * word,
		TotalHeapBytes:  num("total_heap_size") * word,
		Reductions:      num("reductions"),
		Links:           pids("links"),
		MonitoredBy:     pids("monitored_by"),
		Monitors:        []string{},
		Dictionary:      []DictEntry{},
		GroupLeader:     text(get("group_leader"), node),
		TrapExit:        get("trap_exit") == etf.True,
		Priority:        text(get("priority"), node),
	}
	if name, ok := get("registered_name").(etf.Atom); ok {
		pi.RegisteredName = string(name)
	}
	if l, err := etf.ToList(get("monitors")); err == nil {
		for _, m := range l { // {process, Pid} or {process, {Name, Node}}
			if t, err := etf.ToTuple(m, 2); err == nil {
				pi.Monitors = append(pi.Monitors, text(t[1], node))
			}
		}
	}
	if l, err := etf.ToList(get("current_stacktrace")); err == nil {
		for _, e := range l {
			pi.Stack = append(pi.Stack, frame(e, node))
		}
	}
	if len(pi.Stack) > 0 {
		pi.CurrentLocation = &pi.Stack[0]
	}
	var dict []etf.Tuple
	if l, err := etf.ToList(get("dictionary")); err == nil {
		for _, e := range l {
			if t, err := etf.ToTuple(e, 2); err == nil {
				dict = append(dict, t)
				pi.Dictionary = append(pi.Dictionary, DictEntry{Key: text(t[0], node), Value: text(t[1], node)})
				// proc_lib keeps the real initial call in '$initial_call'.
				if t[0] == etf.Atom("$initial_call") {
					pi.InitialCall = mfaText(t[1], node)
				}
			}
		}
	}
	pi.Elixir = elixirNames(pi.Pid, pi.RegisteredName, pi.CurrentFunction, pi.InitialCall)
	if pi.Elixir != nil {
		o := termtext.Options{LocalNode: etf.Atom(node)}
		for i, t := range dict {
			d := &pi.Dictionary[i]
			if k := termtext.FormatElixir(t[0], o); k != d.Key {
				d.KeyElixir = k
			}
			if v := termtext.FormatElixir(t[1], o); v != d.Value {
				d.ValueElixir = v
			}
		}
	}
	return pi, nil
}

// frame reads {M, F, Arity, [{file, F}, {line, L}]}.
func frame(t etf.Term, node string) Frame {
	tup, err := etf.ToTuple(t, 4)
	if err != nil {
		return Frame{MFA: text(t, node)}
	}
	f := Frame{MFA: mfaText(tup[:3], node)}
	if v, ok := etf.PropGet(tup[3], etf.Atom("file")); ok {
		f.File, _ = etf.ToString(v)
	}
	if v, ok := etf.PropGet(tup[3], etf.Atom("line")); ok {
		f.Line, _ = etf.ToInt64(v)
	}
	return f
}
