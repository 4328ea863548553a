package inspect

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/testnode"
)

// supTreeApp is an application (st) whose tree has every shape suptree
// must bound: a simple_one_for_one supervisor with 2,000 workers (st_wide),
// a chain of 25 supervisors (deep), one to be suspended (st_frozen) and a
// worker.
const supTreeApp = `-module(st_app).
-behaviour(application).
-behaviour(supervisor).
-export([start/2, stop/1, init/1, start_link/1, start_wide/0, worker/0]).
start(_, _) -> supervisor:start_link({local, st_sup}, ?MODULE, top).
stop(_) -> ok.
start_link(Arg) -> supervisor:start_link(?MODULE, Arg).
worker() -> {ok, spawn_link(fun() -> receive stop -> ok end end)}.
start_wide() ->
    {ok, P} = supervisor:start_link({local, st_wide}, ?MODULE, wide),
    [{ok, _} = supervisor:start_child(P, []) || _ <- lists:seq(1, 2000)],
    {ok, P}.
init(top) ->
    {ok, {#{strategy => one_for_one},
          [#{id => wide, start => {?MODULE, start_wide, []}, type => supervisor},
           #{id => deep, start => {?MODULE, start_link, [{deep, 25}]}, type => supervisor},
           #{id => frozen, start => {supervisor, start_link, [{local, st_frozen}, ?MODULE, {deep, 0}]}, type => supervisor},
           #{id => w, start => {?MODULE, worker, []}}]}};
init(wide) ->
    {ok, {#{strategy => simple_one_for_one}, [#{id => w, start => {?MODULE, worker, []}}]}};
init({deep, 0}) ->
    {ok, {#{}, [#{id => leaf, start => {?MODULE, worker, []}}]}};
init({deep, N}) ->
    {ok, {#{}, [#{id => {level, N}, start => {?MODULE, start_link, [{deep, N - 1}]}, type => supervisor}]}}.
`

// supTreeAppEval loads and starts st on the node (after -pa of its module).
const supTreeAppEval = `ok = application:load({application, st, [{vsn, "1"}, {modules, [st_app]}, {registered, []},
	{applications, [kernel, stdlib]}, {mod, {st_app, []}}]}), ok = application:start(st)`

// walkTree calls f on every node of a tree.
func walkTree(n *SupNode, depth int, f func(n *SupNode, depth int)) {
	f(n, depth)
	for i := range n.Children {
		walkTree(&n.Children[i], depth+1, f)
	}
}

func child(t *testing.T, n *SupNode, id string) *SupNode {
	t.Helper()
	for i := range n.Children {
		if n.Children[i].ID == id {
			return &n.Children[i]
		}
	}
	require.Failf(t, "no child", "%s has no child %s", n.ID, id)
	return nil
}

func TestSupTree(t *testing.T) {
	t.Parallel()
	dir := testnode.Compile(t, "st_app", supTreeApp)
	n := testnode.Start(t, testnode.Options{Args: []string{"-pa", dir}, Eval: supTreeAppEval})
	c := dial(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, agentless := range []bool{false, true} {
		t.Run(map[bool]string{false: "agent", true: "agentless"}[agentless], func(t *testing.T) {
			testSupTree(t, ctx, c, n.Name, agentless)
		})
	}
	// A walk that runs out of time returns what it found: st_sup's children
	// come newest first (w, frozen, deep, wide); st_frozen takes the whole
	// call-timeout, past the walk's budget (8s less a fifth), so deep and
	// wide are not asked. The rpc ends well before the context's deadline.
	t.Run("the walk keeps to its deadline", func(t *testing.T) {
		_, err := c.Call(ctx, "sys", "suspend", etf.Atom("st_frozen"))
		require.NoError(t, err)
		defer func() {
			_, err := c.Call(ctx, "sys", "resume", etf.Atom("st_frozen"))
			require.NoError(t, err)
		}()
		short, cancel := context.WithTimeout(ctx, 8*time.Second)
		defer cancel()
		res, err := SupTree(short, c, SupTreeOptions{App: "st", Depth: 6, MaxChildren: 50, MaxNodes: 5000, CallTimeout: 7 * time.Second})
		require.NoError(t, err)
		tree := res.Applications[0].Tree
		require.Equal(t, "did not answer within 7s", child(t, tree, "frozen").Error)
		for _, id := range []string{"deep", "wide"} {
			require.Equal(t, "deadline", child(t, tree, id).Truncated, id)
			require.Equal(t, "children not shown (the walk ran out of time)", child(t, tree, id).TruncationText())
		}
	})
}

func testSupTree(t *testing.T, ctx context.Context, c Conn, node string, agentless bool) {
	opts := func(app string) SupTreeOptions {
		return SupTreeOptions{App: app, Depth: 6, MaxChildren: 50, MaxNodes: 5000, CallTimeout: time.Second, Agentless: agentless}
	}
	one := func(t *testing.T, o SupTreeOptions) *SupNode {
		t.Helper()
		nodeReds := func() int64 {
			r, err := c.Call(ctx, "erlang", "statistics", etf.Atom("exact_reductions"))
			require.NoError(t, err)
			tup, err := etf.ToTuple(r, 2)
			require.NoError(t, err)
			v, _ := etf.ToInt64(tup[0])
			return v
		}
		before := nodeReds()
		start := time.Now()
		res, err := SupTree(ctx, c, o)
		require.NoError(t, err)
		nodeTotal := nodeReds() - before
		require.Len(t, res.Applications, 1)
		require.Equal(t, o.App, res.Applications[0].Name)
		require.NotNil(t, res.Applications[0].Tree, res.Applications[0].Error)
		t.Logf("%s: %d nodes, %d reductions (the whole node: %d), walk %.1fms, round trip %s", o.App, res.Nodes, res.Reductions,
			nodeTotal, res.WalkSeconds*1000, time.Since(start))
		return res.Applications[0].Tree
	}

	t.Run("kernel", func(t *testing.T) {
		tree := one(t, opts("kernel"))
		require.Equal(t, "kernel_sup", tree.ID)
		require.Equal(t, "supervisor", tree.Type)
		require.Regexp(t, `^<0\.\d+\.0>$`, tree.Pid)
		safe := child(t, tree, "kernel_safe_sup")
		require.Equal(t, "supervisor", safe.Type)
		require.Equal(t, []string{"kernel"}, safe.Modules)
		code := child(t, tree, "code_server")
		require.Equal(t, "worker", code.Type)
		require.Empty(t, tree.Truncated)
		require.Empty(t, tree.Error)
	})
	t.Run("bounded by max-children and depth", func(t *testing.T) {
		tree := one(t, opts("st"))
		require.Equal(t, "st_sup", tree.ID)
		wide := child(t, tree, "wide")
		require.Len(t, wide.Children, 50)
		require.Equal(t, 1950, wide.NotShown)
		require.Equal(t, "max-children", wide.Truncated)
		require.Equal(t, "1950 more children not shown (max-children)", wide.TruncationText())
		require.Equal(t, "undefined", wide.Children[0].ID)
		require.Equal(t, "worker", wide.Children[0].Type)
		deepest := 0
		walkTree(child(t, tree, "deep"), 2, func(n *SupNode, d int) {
			deepest = max(deepest, d)
			if d == 6 {
				require.Equal(t, "depth", n.Truncated)
				require.Empty(t, n.Children)
			}
		})
		require.Equal(t, 6, deepest)
	})
	t.Run("the node-wide cap holds", func(t *testing.T) {
		o := opts("")
		o.MaxChildren, o.MaxNodes, o.Depth = 1000, 300, 20
		res, err := SupTree(ctx, c, o)
		require.NoError(t, err)
		require.Equal(t, 300, res.Nodes)
		total, capped := 0, 0
		for _, a := range res.Applications {
			if a.Tree == nil {
				continue
			}
			walkTree(a.Tree, 1, func(n *SupNode, _ int) {
				total++
				if n.Truncated == "max-nodes" {
					capped++
				}
			})
		}
		require.Equal(t, 300, total)
		require.Positive(t, capped)
	})
	t.Run("wide and deep at the largest bounds", func(t *testing.T) {
		o := opts("st")
		o.MaxChildren, o.MaxNodes, o.Depth = 1000, 20000, 20
		tree := one(t, o)
		wide := child(t, tree, "wide")
		require.Len(t, wide.Children, 1000)
		require.Equal(t, 1000, wide.NotShown)
		deepest := 0
		walkTree(tree, 1, func(_ *SupNode, d int) { deepest = max(deepest, d) })
		require.Equal(t, 20, deepest)
	})
	t.Run("unknown application", func(t *testing.T) {
		atoms := func() int64 {
			r, err := c.Call(ctx, "erlang", "system_info", etf.Atom("atom_count"))
			require.NoError(t, err)
			n, _ := etf.ToInt64(r)
			return n
		}
		before := atoms()
		_, err := SupTree(ctx, c, opts("no_such_app_xyzzy"))
		require.EqualError(t, err, "no application no_such_app_xyzzy is loaded on "+node)
		require.Equal(t, before, atoms(), "no atom created")
		_, err = SupTree(ctx, c, opts("erts")) // an atom, but no running application
		require.EqualError(t, err, "application erts is not running on "+node)
	})
	t.Run("a suspended supervisor does not hang the walk", func(t *testing.T) {
		_, err := c.Call(ctx, "sys", "suspend", etf.Atom("st_frozen"))
		require.NoError(t, err)
		defer func() {
			_, err := c.Call(ctx, "sys", "resume", etf.Atom("st_frozen"))
			require.NoError(t, err)
		}()
		o := opts("st")
		o.CallTimeout = 200 * time.Millisecond
		tree := one(t, o)
		frozen := child(t, tree, "frozen")
		require.Equal(t, "did not answer within 200ms", frozen.Error)
		require.Empty(t, frozen.Children)
		require.Len(t, child(t, tree, "wide").Children, 50, "the walk went on")
	})
}
