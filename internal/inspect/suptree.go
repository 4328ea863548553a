package inspect

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/beamctl/beamctl/internal/etf"
)

// SupTreeOptions bound a walk of supervision trees.
type SupTreeOptions struct {
	// App is the one application to walk ("": every running application).
	App string
	// Depth is how many levels are shown, the top supervisor being level 1.
	Depth int
	// MaxChildren is how many children of one supervisor are shown.
	MaxChildren int
	// MaxNodes bounds the nodes shown in all, over every application.
	MaxNodes int
	// CallTimeout bounds each call to a supervisor (which_children) and to
	// an application master: one that is busy or suspended is marked as not
	// answering, and the walk goes on.
	CallTimeout time.Duration
	// Agentless walks with erl_eval instead of beamctl_agent: nothing is
	// loaded, at many times the node's CPU (the walk's reductions). It is
	// also the fallback when the agent cannot or may not be loaded.
	Agentless bool
}

// SupNode is one child of a supervisor (or an application's top
// supervisor) in a walk.
type SupNode struct {
	// Children are the children shown (supervisors only).
	Children []SupNode `json:"children,omitempty"`
	// Error says why the supervisor's children are not known: "did not
	// answer within 1s", or the reason which_children failed.
	Error string `json:"error,omitempty"`
	// ID is the child's id in Erlang text (undefined for the children of a
	// simple_one_for_one supervisor), or the top supervisor's registered name.
	ID string `json:"id"`
	// Modules are the child spec's modules, or ["dynamic"].
	Modules []string `json:"modules"`
	// NotShown is how many children were left out (Truncated says why).
	NotShown int `json:"not_shown,omitempty"`
	// Pid is the child's pid, or restarting or undefined.
	Pid string `json:"pid"`
	// Truncated says why children are missing: "max-children" (NotShown
	// more), "max-nodes" (the walk's node cap was reached), "depth" (a
	// supervisor at the deepest level shown: its children were not asked
	// for) or "deadline" (the walk ran out of time before asking).
	Truncated string `json:"truncated,omitempty"`
	// Type is worker or supervisor.
	Type string `json:"type"`
}

// SupApp is one application and its supervision tree.
type SupApp struct {
	// Error says why the tree is missing: the application master did not
	// answer, or the node cap was reached before this application.
	Error string `json:"error,omitempty"`
	Name  string `json:"name"`
	// Tree is the top supervisor; nil for a library application (no
	// supervisor) or with Error.
	Tree *SupNode `json:"tree"`
}

// SupTreeResult is what suptree returns.
type SupTreeResult struct {
	Applications []SupApp `json:"applications"`
	Node         string   `json:"node"`
	// Nodes is the number of tree nodes shown.
	Nodes int `json:"nodes"`
	// Reductions and WalkSeconds are what the walk cost the rpc process on
	// the node (the supervisors' own work to answer is not counted).
	Reductions  int64   `json:"reductions"`
	WalkSeconds float64 `json:"walk_seconds"`
}

// SupTree walks the supervision trees of the node's running applications
// (or of one) from their top supervisors, with supervisor:which_children
// calls bounded by CallTimeout, in one rpc on the node: beamctl_agent's
// suptree/6, or the same walk in erl_eval (Agentless). The walk stops
// asking before the context's deadline, so that what it found comes back;
// the result is bounded by Depth, MaxChildren and MaxNodes. An
// application name is looked up without creating an atom.
func SupTree(ctx context.Context, c Conn, o SupTreeOptions) (*SupTreeResult, error) {
	if o.Depth < 1 || o.MaxChildren < 1 || o.MaxNodes < 1 || o.CallTimeout <= 0 {
		return nil, fmt.Errorf("suptree: bad bounds %+v", o)
	}
	apps := etf.List{}
	if o.App != "" {
		a, err := existingAtom(ctx, c, o.App)
		if err != nil {
			return nil, err
		}
		if a == "" {
			return nil, fmt.Errorf("no application %s is loaded on %s", text(etf.Atom(o.App), c.Node()), c.Node())
		}
		apps = etf.List{a}
	}
	if !o.Agentless {
		if _, err := EnsureAgent(ctx, c); errors.Is(err, ErrNoCompiler) || errors.Is(err, ErrAgentDisabled) {
			o.Agentless = true
		} else if err != nil {
			return nil, err
		}
	}
	timeout, budget := o.CallTimeout.Milliseconds(), walkBudget(ctx).Milliseconds()
	var r etf.Term
	var err error
	if o.Agentless {
		r, err = EvalWith(ctx, c, supTreeExpr, map[string]etf.Term{
			"Only": apps, "MaxDepth": o.Depth, "MaxKids": o.MaxChildren, "MaxNodes": o.MaxNodes,
			"Timeout": timeout, "Budget": budget,
		})
	} else {
		r, err = c.Call(ctx, AgentModule, "suptree", apps, o.Depth, o.MaxChildren, o.MaxNodes, timeout, budget)
	}
	if err != nil {
		return nil, fmt.Errorf("suptree: %w", err)
	}
	res, err := decodeSupTree(r, c.Node(), o)
	if err == nil && o.App != "" && len(res.Applications) == 0 {
		return nil, fmt.Errorf("application %s is not running on %s", text(etf.Atom(o.App), c.Node()), c.Node())
	}
	return res, err
}

// walkBudget is how long the walk may keep asking supervisors: most of the
// time left before ctx's deadline, leaving room for the answer to come
// back (the rpc is killed at the deadline and what it found would be lost).
func walkBudget(ctx context.Context) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return 10 * time.Second
	}
	left := time.Until(dl)
	b := left - max(time.Second, left/5)
	return min(max(b, 100*time.Millisecond), time.Minute)
}

// supTreeExpr is beamctl_agent's suptree/6 as one erl_eval expression (keep
// them in step), for nodes where nothing may or can be loaded. Bound: Only ([] for every
// running application, or [App]), MaxDepth, MaxKids, MaxNodes, Timeout
// (ms per call) and Budget (ms for the walk). It returns {[{App, Tree}],
// NodesShown, Microseconds, Reductions}, where Tree is none (no
// supervisor), max_nodes, no_answer, {error, Reason} or a node
// {Id, Pid, Type, Modules, Children, NotShown, Note}.
//
// which_children is a gen_server:call with Timeout: a late answer is
// dropped (its alias is gone), so a supervisor that is busy or suspended
// costs Timeout, not the walk. application_master:get_child has no
// timeout, so it runs in a helper process that is killed at Timeout.
// The strategy is not shown: only sys:get_state has it, which copies the
// supervisor's whole state (every child spec).
const supTreeExpr = `
T0 = erlang:monotonic_time(microsecond),
{reductions, R0} = erlang:process_info(self(), reductions),
Deadline = erlang:monotonic_time(millisecond) + Budget,
Ask = fun(F) ->
          {P, M} = spawn_monitor(fun() -> exit({ok, F()}) end),
          receive {'DOWN', M, process, P, {ok, V}} -> {ok, V};
                  {'DOWN', M, process, P, Why} -> {error, Why}
          after Timeout -> exit(P, kill), receive {'DOWN', M, process, P, _} -> timeout end
          end end,
Reason = fun({R, _}) when is_atom(R) -> R; (R) when is_atom(R) -> R; (_) -> error end,
Walk = fun Walk(Id, Pid, Type, Mods, _, Left) when Type =/= supervisor; not is_pid(Pid) ->
               {{Id, Pid, Type, Mods, [], 0, ok}, Left};
           Walk(Id, Pid, Type, Mods, Level, Left) when Level >= MaxDepth ->
               {{Id, Pid, Type, Mods, [], 0, depth}, Left};
           Walk(Id, Pid, Type, Mods, Level, Left) ->
               case erlang:monotonic_time(millisecond) >= Deadline of
                   true -> {{Id, Pid, Type, Mods, [], 0, deadline}, Left};
                   false ->
                       case catch gen_server:call(Pid, which_children, Timeout) of
                           L when is_list(L) ->
                               {Kids, Left2, Cut} =
                                   lists:foldl(fun(_, {Ks, 0, C}) -> {Ks, 0, C + 1};
                                                  ({CId, CPid, CType, CMods}, {Ks, N, C}) ->
                                                       {K, N2} = Walk(CId, CPid, CType, CMods, Level + 1, N - 1),
                                                       {[K | Ks], N2, C}
                                               end, {[], Left, 0}, lists:sublist(L, MaxKids)),
                               Note = if Cut > 0 -> max_nodes; length(L) > MaxKids -> max_children; true -> ok end,
                               {{Id, Pid, Type, Mods, lists:reverse(Kids), length(L) - length(Kids), Note}, Left2};
                           {'EXIT', {timeout, _}} -> {{Id, Pid, Type, Mods, [], 0, no_answer}, Left};
                           {'EXIT', Why} -> {{Id, Pid, Type, Mods, [], 0, {error, Reason(Why)}}, Left}
                       end
               end
       end,
Top = fun(A, Left) ->
          case application_controller:get_master(A) of
              undefined -> {none, Left};
              Master ->
                  case Ask(fun() -> application_master:get_child(Master) end) of
                      {ok, {Pid, _}} when is_pid(Pid) ->
                          Name = case erlang:process_info(Pid, registered_name) of
                                     {registered_name, N} -> N;
                                     _ -> undefined
                                 end,
                          Walk(Name, Pid, supervisor, [], 1, Left - 1);
                      {ok, _} -> {none, Left};
                      timeout -> {no_answer, Left};
                      {error, W} -> {{error, Reason(W)}, Left}
                  end
          end end,
Running = [A || {A, _, _} <- application:which_applications(Timeout)],
Apps = case Only of
           [] -> Running;
           _ -> [A || A <- Only, lists:member(A, Running)]
       end,
{Res, LeftEnd} = lists:foldl(fun(A, {Acc, L}) when L =< 0 -> {[{A, max_nodes} | Acc], L};
                                (A, {Acc, L}) -> {R, L2} = Top(A, L), {[{A, R} | Acc], L2}
                             end, {[], MaxNodes}, Apps),
{reductions, R1} = erlang:process_info(self(), reductions),
{lists:reverse(Res), MaxNodes - LeftEnd, erlang:monotonic_time(microsecond) - T0, R1 - R0}.
`

func decodeSupTree(r etf.Term, node string, o SupTreeOptions) (*SupTreeResult, error) {
	t, err := etf.ToTuple(r, 4)
	if err != nil {
		return nil, fmt.Errorf("suptree: %s", text(r, node))
	}
	l, err := etf.ToList(t[0])
	if err != nil {
		return nil, fmt.Errorf("suptree: %w", err)
	}
	res := &SupTreeResult{Node: node, Applications: make([]SupApp, 0, len(l))}
	n, _ := etf.ToInt64(t[1])
	us, _ := etf.ToInt64(t[2])
	reds, _ := etf.ToInt64(t[3])
	res.Nodes, res.WalkSeconds, res.Reductions = int(n), float64(us)/1e6, reds
	for _, e := range l {
		at, err := etf.ToTuple(e, 2)
		if err != nil {
			return nil, fmt.Errorf("suptree: %w", err)
		}
		app := SupApp{Name: text(at[0], node)}
		switch v := at[1].(type) {
		case etf.Atom:
			switch v {
			case "none":
			case "max_nodes":
				app.Error = fmt.Sprintf("not walked: %d nodes shown already (max-nodes)", o.MaxNodes)
			case "no_answer":
				app.Error = fmt.Sprintf("its application master did not answer within %s", o.CallTimeout)
			default:
				app.Error = text(v, node)
			}
		case etf.Tuple:
			if len(v) == 2 && v[0] == etf.Atom("error") {
				app.Error = "its application master failed: " + text(v[1], node)
				break
			}
			tree, err := decodeSupNode(v, node, o)
			if err != nil {
				return nil, err
			}
			app.Tree = &tree
		}
		res.Applications = append(res.Applications, app)
	}
	return res, nil
}

// maxIDText bounds a child id's text: ids are any term.
const maxIDText = 200

func decodeSupNode(t etf.Tuple, node string, o SupTreeOptions) (SupNode, error) {
	if len(t) != 7 {
		return SupNode{}, fmt.Errorf("suptree: node %s", text(t, node))
	}
	id := text(t[0], node)
	if len(id) > maxIDText {
		id = id[:maxIDText] + "..."
	}
	s := SupNode{ID: id, Pid: text(t[1], node), Type: text(t[2], node), Modules: []string{}}
	if mods, err := etf.ToList(t[3]); err == nil {
		for _, m := range mods {
			s.Modules = append(s.Modules, text(m, node))
		}
	} else {
		s.Modules = append(s.Modules, text(t[3], node)) // dynamic
	}
	kids, err := etf.ToList(t[4])
	if err != nil {
		return s, fmt.Errorf("suptree: %w", err)
	}
	for _, k := range kids {
		kt, ok := k.(etf.Tuple)
		if !ok {
			return s, fmt.Errorf("suptree: child %s", text(k, node))
		}
		child, err := decodeSupNode(kt, node, o)
		if err != nil {
			return s, err
		}
		s.Children = append(s.Children, child)
	}
	notShown, _ := etf.ToInt64(t[5])
	s.NotShown = int(notShown)
	switch note := t[6].(type) {
	case etf.Atom:
		switch note {
		case "ok":
		case "max_children":
			s.Truncated = "max-children"
		case "max_nodes":
			s.Truncated = "max-nodes"
		case "depth", "deadline":
			s.Truncated = string(note)
		case "no_answer":
			s.Error = fmt.Sprintf("did not answer within %s", o.CallTimeout)
		default:
			s.Error = string(note)
		}
	case etf.Tuple:
		if len(note) == 2 {
			s.Error = "which_children failed: " + text(note[1], node)
		}
	}
	return s, nil
}

// TruncationText says in words what is missing below a node ("" when
// nothing is): the marker the command line and the UI show.
func (s *SupNode) TruncationText() string {
	switch s.Truncated {
	case "max-children":
		return fmt.Sprintf("%d more children not shown (max-children)", s.NotShown)
	case "max-nodes":
		return fmt.Sprintf("%d more children not shown (max-nodes reached)", s.NotShown)
	case "depth":
		return "children not shown (depth)"
	case "deadline":
		return "children not shown (the walk ran out of time)"
	}
	return ""
}
