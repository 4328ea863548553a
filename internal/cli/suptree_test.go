package cli

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/testnode"
)

// wideSup is a simple_one_for_one supervisor's callback module.
const wideSup = `-module(wide_sup).
-behaviour(supervisor).
-export([init/1, worker/0]).
worker() -> {ok, spawn_link(fun() -> receive stop -> ok end end)}.
init([]) -> {ok, {#{strategy => simple_one_for_one}, [#{id => w, start => {?MODULE, worker, []}}]}}.
`

func TestSuptree(t *testing.T) {
	t.Parallel()
	dir := testnode.Compile(t, "wide_sup", wideSup)
	// wide_sup is hung under kernel_safe_sup, so that it is in kernel's tree.
	n := testnode.Start(t, testnode.Options{Args: []string{"-pa", dir}, Eval: `{ok, _} = supervisor:start_child(kernel_safe_sup,
		#{id => wide, start => {supervisor, start_link, [{local, wide_sup}, wide_sup, []]}, type => supervisor}),
		[{ok, _} = supervisor:start_child(wide_sup, []) || _ <- lists:seq(1, 2000)]`})
	cookie := "--cookie=" + n.Cookie

	t.Run("table", func(t *testing.T) {
		code, stdout, stderr := run(t, cookie, "suptree", n.Name, "--app", "kernel", "-n", "10")
		require.Zero(t, code, stderr)
		require.Regexp(t, `(?m)^kernel\n  kernel_sup  <0\.\d+\.0>  supervisor$`, stdout)
		require.Regexp(t, `(?m)^    kernel_safe_sup  <0\.\d+\.0>  supervisor  kernel$`, stdout)
		require.Regexp(t, `(?m)^      wide  <0\.\d+\.0>  supervisor  supervisor$`, stdout)
		require.Regexp(t, `(?m)^        undefined  <0\.\d+\.0>  worker  wide_sup$`, stdout)
		require.Contains(t, stdout, "\n        ... 1990 more children not shown (max-children)\n")
		require.Len(t, regexp.MustCompile(`(?m)^        undefined `).FindAllString(stdout, -1), 10)
	})
	t.Run("json", func(t *testing.T) {
		var res inspect.SupTreeResult
		runJSON(t, &res, cookie, "suptree", n.Name, "--depth", "2")
		require.Equal(t, n.Name, res.Node)
		names := map[string]*inspect.SupNode{}
		for _, a := range res.Applications {
			names[a.Name] = a.Tree
		}
		require.Contains(t, names, "stdlib")
		require.Nil(t, names["stdlib"], "a library application has no tree")
		require.NotNil(t, names["kernel"])
		require.Equal(t, "kernel_sup", names["kernel"].ID)
		for _, c := range names["kernel"].Children {
			if c.Type == "supervisor" {
				require.Equal(t, "depth", c.Truncated, c.ID)
			}
		}
	})
	t.Run("unknown application", func(t *testing.T) {
		code, _, stderr := run(t, cookie, "suptree", n.Name, "--app", "no_such_app_q")
		require.Equal(t, 1, code)
		require.Contains(t, stderr, "no application no_such_app_q is loaded on "+n.Name)
	})
	t.Run("depth out of bounds", func(t *testing.T) {
		code, _, stderr := run(t, cookie, "suptree", n.Name, "--depth", "21")
		require.Equal(t, 2, code)
		require.Contains(t, stderr, `depth must be a whole number from 1 to 20, not "21"`)
	})
}
