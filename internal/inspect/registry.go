package inspect

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ParamKind is the type of a tool's parameter.
type ParamKind int

const (
	// ParamString is free text.
	ParamString ParamKind = iota
	// ParamInt is a whole number from Min to Max.
	ParamInt
	// ParamBool is true or false.
	ParamBool
	// ParamDuration is a Go duration (300ms, 5s) from Min to Max nanoseconds.
	ParamDuration
	// ParamEnum is one of Choices.
	ParamEnum
)

func (k ParamKind) String() string {
	switch k {
	case ParamString:
		return "string"
	case ParamInt:
		return "int"
	case ParamBool:
		return "bool"
	case ParamDuration:
		return "duration"
	case ParamEnum:
		return "enum"
	}
	return "unknown"
}

// Param is one parameter of a tool: a command line flag (or argument) and
// an HTTP query parameter of the same name.
type Param struct {
	Name  string
	Short rune // the flag's one-letter name, if any
	Kind  ParamKind
	Help  string
	// Default is the value when the parameter is not given, in the
	// parameter's syntax ("" for none).
	Default string
	// Min and Max bound a ParamInt, and a ParamDuration in nanoseconds.
	Min, Max int64
	// Choices are the values a ParamEnum allows.
	Choices  []string
	Required bool
	// Arg makes the parameter a positional argument on the command line
	// (after the node name).
	Arg bool
}

// MarshalJSON describes the parameter for GET /api/v1/tools; the bounds of
// a duration are in its syntax ("10s").
func (p Param) MarshalJSON() ([]byte, error) {
	out := struct {
		Name     string   `json:"name"`
		Type     string   `json:"type"`
		Help     string   `json:"help"`
		Default  string   `json:"default,omitempty"`
		Required bool     `json:"required"`
		Min      any      `json:"min,omitempty"`
		Max      any      `json:"max,omitempty"`
		Choices  []string `json:"choices,omitempty"`
	}{Name: p.Name, Type: p.Kind.String(), Help: p.Help, Default: p.Default, Required: p.Required, Choices: p.Choices}
	switch p.Kind {
	case ParamInt:
		out.Min, out.Max = p.Min, p.Max
	case ParamDuration:
		out.Min, out.Max = time.Duration(p.Min).String(), time.Duration(p.Max).String()
	}
	return json.Marshal(out)
}

// bounds says what values the parameter takes, for error messages.
func (p Param) bounds() string {
	switch p.Kind {
	case ParamInt:
		return fmt.Sprintf("a whole number from %d to %d", p.Min, p.Max)
	case ParamDuration:
		return fmt.Sprintf("a duration from %s to %s", time.Duration(p.Min), time.Duration(p.Max))
	case ParamBool:
		return "true or false"
	case ParamEnum:
		return "one of " + strings.Join(p.Choices, ", ")
	}
	return "text"
}

// parse reads one value in the parameter's syntax and checks its bounds.
func (p Param) parse(s string) (any, error) {
	bad := func() error { return fmt.Errorf("%s must be %s, not %q", p.Name, p.bounds(), s) }
	switch p.Kind {
	case ParamInt:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < p.Min || n > p.Max {
			return nil, bad()
		}
		return int(n), nil
	case ParamDuration:
		d, err := time.ParseDuration(s)
		if err != nil || int64(d) < p.Min || int64(d) > p.Max {
			return nil, bad()
		}
		return d, nil
	case ParamBool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, bad()
		}
		return b, nil
	case ParamEnum:
		if !slices.Contains(p.Choices, s) {
			return nil, bad()
		}
		return s, nil
	}
	return s, nil
}

// Effect is the most a tool may change on a node (besides loading
// beamctl_agent, which Tool.Agent tells), from the least to the most.
type Effect int

const (
	// ReadOnly tools only read the node's state.
	ReadOnly Effect = iota
	// FlipsFlag tools turn a VM flag on while they run and put it back as
	// they found it, also when interrupted.
	FlipsFlag
	// GarbageCollects tools force garbage collections of processes.
	GarbageCollects
	// ChangesCode tools load code; they may kill the processes that still
	// run the old code.
	ChangesCode
	// RunsAnyCode tools evaluate whatever Erlang they are given.
	RunsAnyCode
)

func (e Effect) String() string {
	switch e {
	case ReadOnly:
		return "read-only"
	case FlipsFlag:
		return "flips a VM flag and restores it"
	case GarbageCollects:
		return "garbage collects processes"
	case ChangesCode:
		return "changes code and may kill processes"
	case RunsAnyCode:
		return "runs any code"
	}
	return "unknown"
}

// MarshalText writes the effect as its String.
func (e Effect) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// AgentUse says whether a tool loads beamctl_agent on the node.
type AgentUse int

const (
	// NoAgent tools use only OTP's own modules.
	NoAgent AgentUse = iota
	// LoadsAgent tools load beamctl_agent (see EnsureAgent).
	LoadsAgent
	// AgentUnlessAgentless tools load it unless their agentless parameter
	// is true, and fall back to erl_eval when the node cannot load it.
	AgentUnlessAgentless
)

func (a AgentUse) String() string {
	switch a {
	case NoAgent:
		return "no"
	case LoadsAgent:
		return "yes"
	case AgentUnlessAgentless:
		return "unless agentless"
	}
	return "unknown"
}

// MarshalText writes the agent use as its String.
func (a AgentUse) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// Tool is one inspection tool: what it takes, what it costs and changes on
// the node, and how to run it. The command line and the HTTP API both go
// through it, so defaults and bounds live here only.
type Tool struct {
	Name    string   `json:"name"`
	Summary string   `json:"summary"`
	Params  []Param  `json:"params"`
	Agent   AgentUse `json:"agent"`
	Effect  Effect   `json:"effect"`
	// Changes says in words what the tool changes on the node ("" when
	// it only reads).
	Changes string `json:"changes,omitempty"`
	// Web is true for the tools the HTTP API runs: read-only, done within
	// a request's deadline, and showing nothing secret.
	Web bool `json:"web"`
	// WebAdmin is true for the tools the HTTP API runs for admins only, by
	// POST (audited): they change something on the node for a bounded
	// time (a flag put back, garbage collections) and show nothing secret.
	WebAdmin bool `json:"web_admin"`
	// Time is how long a run takes beyond its round trips (a window it
	// measures), for the caller's deadline; nil means none.
	Time func(Args) time.Duration `json:"-"`
	// Run runs the tool with arguments from Parse. Its result is the
	// command's -o json and the HTTP API's data.
	Run func(ctx context.Context, c Conn, a Args) (any, error) `json:"-"`
}

// Args are a tool's parameters, parsed and within bounds.
type Args struct {
	vals map[string]any
}

// Int returns a ParamInt.
func (a Args) Int(name string) int { v, _ := a.vals[name].(int); return v }

// Duration returns a ParamDuration.
func (a Args) Duration(name string) time.Duration { v, _ := a.vals[name].(time.Duration); return v }

// String returns a ParamString or ParamEnum.
func (a Args) String(name string) string { v, _ := a.vals[name].(string); return v }

// Bool returns a ParamBool.
func (a Args) Bool(name string) bool { v, _ := a.vals[name].(bool); return v }

// Param returns the tool's parameter called name.
func (t *Tool) Param(name string) (Param, bool) {
	for _, p := range t.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// Parse checks raw values (in each parameter's syntax, as flags and query
// parameters give them) against the tool's parameters and fills in the
// defaults. Every error is a sentence naming the parameter and its bounds.
func (t *Tool) Parse(raw map[string]string) (Args, error) {
	a := Args{vals: map[string]any{}}
	for name := range raw {
		if _, ok := t.Param(name); !ok {
			names := make([]string, len(t.Params))
			for i, p := range t.Params {
				names[i] = p.Name
			}
			if len(names) == 0 {
				return a, fmt.Errorf("%s takes no parameters, not %q", t.Name, name)
			}
			return a, fmt.Errorf("%s has no parameter %q; it takes %s", t.Name, name, strings.Join(names, ", "))
		}
	}
	for _, p := range t.Params {
		s := raw[p.Name]
		if s == "" { // not given, or given empty as in ?match=
			s = p.Default
		}
		if s == "" {
			if p.Required {
				return a, fmt.Errorf("%s is required", p.Name)
			}
			if p.Kind == ParamString {
				a.vals[p.Name] = ""
				continue
			}
			if p.Kind == ParamBool {
				a.vals[p.Name] = false
				continue
			}
		}
		v, err := p.parse(s)
		if err != nil {
			return a, err
		}
		a.vals[p.Name] = v
	}
	return a, nil
}

// Tools returns the registry, in the order the commands are documented.
func Tools() []*Tool { return tools }

// Lookup returns the tool called name.
func Lookup(name string) (*Tool, bool) {
	for _, t := range tools {
		if t.Name == name {
			return t, true
		}
	}
	return nil, false
}

// MustLookup returns the tool called name and panics if there is none: for
// the command line, whose commands are fixed at build time.
func MustLookup(name string) *Tool {
	t, ok := Lookup(name)
	if !ok {
		panic("inspect: no tool " + name)
	}
	return t
}

// maxN bounds the number of processes or tables a tool returns.
const maxN = 1000

// TopResult is what top returns.
type TopResult struct {
	By            string     `json:"by"`
	Node          string     `json:"node"`
	Processes     []TopEntry `json:"processes"`
	WindowSeconds float64    `json:"window_seconds"`
}

// ETSResult is what ets returns.
type ETSResult struct {
	Node   string  `json:"node"`
	Tables []Table `json:"tables"`
}

// AppsResult is what apps returns.
type AppsResult struct {
	Applications []App  `json:"applications"`
	Node         string `json:"node"`
}

// AppEnvResult is what app_env returns.
type AppEnvResult struct {
	Application string     `json:"application"`
	Env         []EnvEntry `json:"env"`
	Node        string     `json:"node"`
}

// LeaksResult is what leaks returns.
type LeaksResult struct {
	GC        bool   `json:"gc"`
	Node      string `json:"node"`
	Processes []Leak `json:"processes"`
}

var tools = []*Tool{
	{
		Name:    "pi",
		Summary: "Process info, like ectl pi: location, stack, queue, memory, links, dictionary. One process_info call.",
		Params: []Param{{Name: "pid", Kind: ParamString, Required: true, Arg: true,
			Help: "Pid (<0.54.0>, 0.54.0, or 54 for <0.54.0>) or registered name."}},
		Effect: ReadOnly, Web: true,
		Run: func(ctx context.Context, c Conn, a Args) (any, error) {
			proc, err := ParsePid(a.String("pid"), c.Node())
			if err != nil {
				return nil, err
			}
			return ProcessInfo(ctx, c, proc)
		},
	},
	{
		Name: "top",
		Summary: "Top processes by an attribute, absolute or over a window (recon's proc_count/proc_window). " +
			"The scan runs on the node (beamctl_agent, loaded there) and only the top N cross the wire.",
		Params: []Param{
			{Name: "by", Kind: ParamEnum, Choices: TopAttrs, Default: "reductions", Help: "Attribute: " + strings.Join(TopAttrs, ", ") + "."},
			{Name: "n", Short: 'n', Kind: ParamInt, Min: 1, Max: maxN, Default: "10", Help: "Number of processes (at most 1000)."},
			{Name: "window", Kind: ParamDuration, Min: 0, Max: int64(time.Minute), Default: "0s",
				Help: "Rank by growth over this window instead of absolute values (e.g. 1s; at most 1m)."},
			{Name: "scan-limit", Kind: ParamInt, Min: 0, Max: math.MaxInt32, Default: "0",
				Help: "Look at no more than this many processes (0: all; the scan is linear in the process count)."},
			{Name: "agentless", Kind: ParamBool, Help: "Scan with erl_eval instead of loading beamctl_agent (costs the node more CPU)."},
		},
		Agent: AgentUnlessAgentless, Effect: ReadOnly, Web: true,
		Time: func(a Args) time.Duration { return a.Duration("window") },
		Run: func(ctx context.Context, c Conn, a Args) (any, error) {
			o := TopOptions{By: a.String("by"), N: a.Int("n"), Window: a.Duration("window"),
				ScanLimit: a.Int("scan-limit"), Agentless: a.Bool("agentless")}
			top, err := Top(ctx, c, o)
			if err != nil {
				return nil, err
			}
			return &TopResult{Node: c.Node(), By: o.By, WindowSeconds: o.Window.Seconds(), Processes: top}, nil
		},
	},
	{
		Name:    "memory",
		Summary: "erlang:memory() breakdown, and process/port/atom/ETS counts against their limits.",
		Effect:  ReadOnly, Web: true,
		Run: func(ctx context.Context, c Conn, _ Args) (any, error) { return Memory(ctx, c) },
	},
	{
		Name: "alloc",
		Summary: "erl_alloc: per allocator type, carriers allocated vs blocks used, block count and size, strategy; " +
			"and the most fragmented instances. One round trip (beamctl_agent).",
		Agent: LoadsAgent, Effect: ReadOnly, Web: true,
		Run: func(ctx context.Context, c Conn, _ Args) (any, error) { return Alloc(ctx, c) },
	},
	{
		Name: "leaks",
		Summary: "erl_leaks: the processes holding the most refc binary memory, garbage collected one by one " +
			"(at most -n, --pause apart) to show what they really hold: before (after GC).",
		Params: []Param{
			{Name: "n", Short: 'n', Kind: ParamInt, Min: 1, Max: maxN, Default: "10", Help: "Number of processes (each is garbage collected)."},
			{Name: "no-gc", Kind: ParamBool, Help: "Rank by binary memory only; collect nothing."},
			{Name: "pause", Kind: ParamDuration, Min: 0, Max: int64(10 * time.Second), Default: "50ms",
				Help: "Pause between two garbage collections (at most 10s)."},
		},
		Agent: LoadsAgent, Effect: GarbageCollects, WebAdmin: true,
		Changes: "forces a garbage collection of each listed process, one at a time (unless no-gc)",
		Time: func(a Args) time.Duration {
			if a.Bool("no-gc") {
				return 0
			}
			return a.Duration("pause") * time.Duration(a.Int("n"))
		},
		Run: func(ctx context.Context, c Conn, a Args) (any, error) {
			gc := !a.Bool("no-gc")
			leaks, err := Leaks(ctx, c, a.Int("n"), gc, a.Duration("pause"))
			if err != nil {
				return nil, err
			}
			return &LeaksResult{Node: c.Node(), GC: gc, Processes: leaks}, nil
		},
	},
	{
		Name: "msacc",
		Summary: "Microstate accounting over a window: where each thread type spends its time. " +
			"The microstate_accounting flag is put back as found, also on Ctrl-C.",
		Params: []Param{{Name: "duration", Kind: ParamDuration, Min: int64(time.Millisecond), Max: int64(time.Hour), Default: "5s",
			Help: "How long to measure (at most 1h)."}},
		Effect:   FlipsFlag,
		WebAdmin: true,
		Changes:  "turns microstate_accounting on for the measurement and back off if it was off",
		Time:     func(a Args) time.Duration { return a.Duration("duration") },
		Run: func(ctx context.Context, c Conn, a Args) (any, error) {
			return Msacc(ctx, c, a.Duration("duration"))
		},
	},
	{
		Name:    "ets",
		Summary: "The largest ETS tables by memory or size. Listed on the node (beamctl_agent); at most -n tables cross the wire.",
		Params: []Param{
			{Name: "sort", Kind: ParamEnum, Choices: []string{"memory", "size"}, Default: "memory", Help: "Sort by memory or size."},
			{Name: "n", Short: 'n', Kind: ParamInt, Min: 1, Max: maxN, Default: "20", Help: "Number of tables (at most 1000)."},
			{Name: "match", Kind: ParamString, Help: "Only tables whose name contains this text."},
		},
		Agent: LoadsAgent, Effect: ReadOnly, Web: true,
		Run: func(ctx context.Context, c Conn, a Args) (any, error) {
			tabs, err := ETS(ctx, c, a.String("sort"), a.Int("n"), a.String("match"))
			if err != nil {
				return nil, err
			}
			return &ETSResult{Node: c.Node(), Tables: tabs}, nil
		},
	},
	{
		Name: "stat",
		Summary: "Realtime per-interval table (wsar): queues, run queue, reductions, distribution traffic, " +
			"scheduler utilisation, GC, memory. scheduler_wall_time is held on by a process on the node that ends with beamctl.",
		Params: []Param{
			{Name: "interval", Kind: ParamDuration, Min: int64(100 * time.Millisecond), Max: int64(time.Hour), Default: "1s",
				Help: "Sampling interval (from 100ms to 1h)."},
			{Name: "no-queues", Kind: ParamBool, Help: "Skip the message queue scan (it is linear in the number of processes)."},
		},
		Agent: LoadsAgent, Effect: FlipsFlag,
		Changes: "holds scheduler_wall_time on through a process that ends with beamctl's connection, " +
			"after which the VM turns it back off unless another process wants it",
		Time: func(a Args) time.Duration { return a.Duration("interval") },
		// Run measures one interval; the command line keeps sampling.
		Run: func(ctx context.Context, c Conn, a Args) (any, error) {
			s, err := NewStat(ctx, c, !a.Bool("no-queues"))
			if err != nil {
				return nil, err
			}
			defer s.Close()
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(a.Duration("interval")):
			}
			return s.Next(ctx)
		},
	},
	{
		Name:    "apps",
		Summary: "Applications loaded and running, with versions.",
		Effect:  ReadOnly, Web: true,
		Run: func(ctx context.Context, c Conn, _ Args) (any, error) {
			apps, err := Apps(ctx, c)
			if err != nil {
				return nil, err
			}
			return &AppsResult{Node: c.Node(), Applications: apps}, nil
		},
	},
	{
		Name: "suptree",
		Summary: "Applications with their supervision trees (as observer shows them), walked on the node with " +
			"supervisor:which_children, each call bounded by call-timeout; bounded in depth, children and nodes.",
		Params: []Param{
			{Name: "app", Kind: ParamString, Help: "Only this application (default: every running application)."},
			{Name: "depth", Kind: ParamInt, Min: 1, Max: 20, Default: "6", Help: "Levels shown, the top supervisor being level 1 (at most 20)."},
			{Name: "max-children", Short: 'n', Kind: ParamInt, Min: 1, Max: maxN, Default: "50",
				Help: "Children shown per supervisor (at most 1000); the others are counted."},
			{Name: "max-nodes", Kind: ParamInt, Min: 1, Max: 20000, Default: "5000", Help: "Nodes shown in all (at most 20000)."},
			{Name: "call-timeout", Kind: ParamDuration, Min: int64(10 * time.Millisecond), Max: int64(10 * time.Second), Default: "1s",
				Help: "How long each supervisor may take to answer; one that does not is marked and skipped (at most 10s)."},
			{Name: "agentless", Kind: ParamBool, Help: "Walk with erl_eval instead of loading beamctl_agent (costs the node more CPU)."},
		},
		Agent: AgentUnlessAgentless, Effect: ReadOnly, Web: true,
		Run: func(ctx context.Context, c Conn, a Args) (any, error) {
			return SupTree(ctx, c, SupTreeOptions{App: a.String("app"), Depth: a.Int("depth"), MaxChildren: a.Int("max-children"),
				MaxNodes: a.Int("max-nodes"), CallTimeout: a.Duration("call-timeout"), Agentless: a.Bool("agentless")})
		},
	},
	{
		// Not on the HTTP API: application environments hold passwords.
		Name:    "app_env",
		Summary: "One application's environment (application:get_all_env/1).",
		Params:  []Param{{Name: "app", Kind: ParamString, Required: true, Help: "The application."}},
		Effect:  ReadOnly,
		Run: func(ctx context.Context, c Conn, a Args) (any, error) {
			env, err := AppEnv(ctx, c, a.String("app"))
			if err != nil {
				return nil, err
			}
			return &AppEnvResult{Node: c.Node(), Application: a.String("app"), Env: env}, nil
		},
	},
	{
		Name: "load",
		Summary: "Hot-load a compiled module (code:load_binary) with ectl's purge semantics: old code is soft purged, " +
			"processes get purge-wait to leave it; with force, those still in it are killed (and listed).",
		Params: []Param{
			{Name: "beam", Kind: ParamString, Required: true, Help: "The compiled module (.beam)."},
			{Name: "force", Kind: ParamBool, Help: "Kill processes that still run the old code after --purge-wait (they are listed)."},
			{Name: "purge-wait", Kind: ParamDuration, Min: 0, Max: int64(time.Hour), Default: "30s",
				Help: "How long to let processes leave the old code (soft purge; at most 1h)."},
			{Name: "dry-run", Kind: ParamBool, Help: "Only show what would happen: md5s, old code, lingering processes."},
		},
		Agent: LoadsAgent, Effect: ChangesCode,
		Changes: "loads a new version of the module; with force, kills the processes still running its old code " +
			"(the agent is loaded only to list them)",
		Time: func(a Args) time.Duration { return a.Duration("purge-wait") },
		// Run reads the module from the local file beam, and returns a
		// *LoadPlan with dry-run, else a *LoadResult.
		Run: func(ctx context.Context, c Conn, a Args) (any, error) {
			path := a.String("beam")
			beam, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("read the module: %w", err)
			}
			if a.Bool("dry-run") {
				return PlanLoad(ctx, c, beam)
			}
			return Load(ctx, c, beam, filepath.Base(path), a.Bool("force"), a.Duration("purge-wait"))
		},
	},
	{
		Name:    "eval",
		Summary: "Evaluate Erlang expressions on a node (erl_eval), scanned and parsed on the node.",
		Params: []Param{{Name: "expression", Kind: ParamString, Required: true, Arg: true,
			Help: "Erlang expressions, e.g. 'lists:sum([1,2,3]).'"}},
		Effect:  RunsAnyCode,
		Changes: "whatever the expressions do",
		// Run returns the value as an etf.Term.
		Run: func(ctx context.Context, c Conn, a Args) (any, error) {
			expr := strings.TrimSpace(a.String("expression"))
			if !strings.HasSuffix(expr, ".") {
				expr += "."
			}
			return EvalTyped(ctx, c, expr)
		},
	},
}
