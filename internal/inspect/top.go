package inspect

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/beamctl/beamctl/internal/etf"
)

// TopAttrs are the process attributes top can rank by.
var TopAttrs = []string{"reductions", "memory", "message_queue_len", "binary_memory", "total_heap_size"}

// TopOptions select what top ranks.
type TopOptions struct {
	By     string        // one of TopAttrs
	N      int           // how many processes to return (1..1000)
	Window time.Duration // 0: absolute values; else growth over the window
	// ScanLimit bounds how many processes the node looks at (0: all).
	ScanLimit int
	// Agentless runs the scan with erl_eval instead of beamctl_agent:
	// nothing is loaded on the node, at about 17 times the node's CPU
	// (docs/benchmarks.md). It is also the fallback when the node has no
	// compiler, or when the agent is not to be loaded (WithoutAgent).
	Agentless bool
}

// TopEntry is one process of a top listing.
type TopEntry struct {
	Pid             string `json:"pid"`
	Value           int64  `json:"value"`
	Name            string `json:"registered_name,omitempty"`
	CurrentFunction string `json:"current_function"`
	InitialCall     string `json:"initial_call"`
	// Elixir spells the process's names as Elixir does, when it runs
	// Elixir code (the fields above keep Erlang's spelling).
	Elixir *ElixirNames `json:"elixir,omitempty"`
}

// Top ranks the node's processes by an attribute. The scan runs on the node
// in beamctl_agent (see EnsureAgent); only the N results
// cross the wire.
func Top(ctx context.Context, c Conn, o TopOptions) ([]TopEntry, error) {
	if !validAttr(o.By) {
		return nil, fmt.Errorf("cannot rank by %q; choose one of %v", o.By, TopAttrs)
	}
	if o.N < 1 || o.N > 1000 {
		return nil, fmt.Errorf("the number of processes must be between 1 and 1000, not %d", o.N)
	}
	var r etf.Term
	var err error
	if !o.Agentless {
		if _, err = EnsureAgent(ctx, c); errors.Is(err, ErrNoCompiler) || errors.Is(err, ErrAgentDisabled) {
			o.Agentless = true
		} else if err != nil {
			return nil, err
		}
	}
	switch {
	case o.Agentless:
		r, err = Eval(ctx, c, topExpr(o))
	case o.Window > 0:
		r, err = c.Call(ctx, AgentModule, "top_window", etf.Atom(o.By), o.N, o.ScanLimit, o.Window.Milliseconds())
	default:
		r, err = c.Call(ctx, AgentModule, "top", etf.Atom(o.By), o.N, o.ScanLimit)
	}
	if err != nil {
		return nil, err
	}
	l, err := etf.ToList(r)
	if err != nil {
		return nil, fmt.Errorf("top: %w", err)
	}
	node := c.Node()
	out := make([]TopEntry, 0, len(l))
	for _, e := range l {
		t, err := etf.ToTuple(e, 5)
		if err != nil {
			return nil, fmt.Errorf("top: %w", err)
		}
		v, _ := etf.ToInt64(t[1])
		entry := TopEntry{Pid: text(t[0], node), Value: v, CurrentFunction: mfaText(t[3], node), InitialCall: mfaText(t[4], node)}
		if name, ok := t[2].(etf.Atom); ok && name != etf.Undefined {
			entry.Name = string(name)
		}
		entry.Elixir = elixirNames(entry.Pid, entry.Name, entry.CurrentFunction, entry.InitialCall)
		out = append(out, entry)
	}
	return out, nil
}

func validAttr(a string) bool {
	for _, x := range TopAttrs {
		if a == x {
			return true
		}
	}
	return false
}

// topExpr is beamctl_agent's top/3 and top_window/4 as one erl_eval
// expression, for nodes where nothing may or can be loaded. By and N come
// validated from TopOptions.
func topExpr(o TopOptions) string {
	value := fmt.Sprintf(`fun(P) -> case erlang:process_info(P, %s) of {_, V} -> V; undefined -> undefined end end`, o.By)
	if o.By == "binary_memory" {
		value = `fun(P) -> case erlang:process_info(P, binary) of
		           {binary, Bins} -> lists:sum([S || {_, S, _} <- Bins]); undefined -> undefined end end`
	}
	procs := "erlang:processes()"
	if o.ScanLimit > 0 {
		procs = fmt.Sprintf("lists:sublist(erlang:processes(), %d)", o.ScanLimit)
	}
	before, delta := "Before = #{},", "V"
	if o.Window > 0 {
		before = fmt.Sprintf(`Before = lists:foldl(fun(P, M) -> case Value(P) of undefined -> M; V -> M#{P => V} end end, #{}, %s),
		          timer:sleep(%d),`, procs, o.Window.Milliseconds())
		delta = "V - maps:get(P, Before, 0)"
	}
	return fmt.Sprintf(`
Value = %s,
Self = self(),
Score = fun(P, _, Acc) when P =:= Self -> Acc;
           (P, V, {Len, _, L}) when Len < %d -> L2 = lists:merge([{V, P}], L), {Len + 1, element(1, hd(L2)), L2};
           (_, V, {_, Min, _} = Acc) when V =< Min -> Acc;
           (P, V, {Len, _, [_ | T]}) -> L2 = lists:merge([{V, P}], T), {Len, element(1, hd(L2)), L2} end,
%s
{_, _, Top} = lists:foldl(fun(P, Acc) -> case Value(P) of undefined -> Acc; V -> Score(P, %s, Acc) end end, {0, 0, []}, %s),
Info = fun(P, Item) -> case erlang:process_info(P, Item) of {Item, I} -> I; _ -> undefined end end,
Init = fun(P) -> case Info(P, initial_call) of
                     {proc_lib, init_p, _} -> try proc_lib:translate_initial_call(P) catch _:_ -> undefined end;
                     MFA -> MFA end end,
[{P, V, case Info(P, registered_name) of [] -> undefined; N -> N end, Info(P, current_function), Init(P)}
 || {V, P} <- lists:reverse(Top)].`, value, o.N, before, delta, procs)
}
