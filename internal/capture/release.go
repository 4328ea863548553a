package capture

import (
	"context"
	"fmt"
	"strings"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
)

// checkFiles is evaluated on the node with erl_eval. It reads the files
// the running release depends on — the sys.config files (-config), the
// vm.args files (-args_file), the boot file (-boot) and the .app file of
// every loaded application — and returns [{File, Problem}] for those that
// cannot be read, hold control characters (a file damaged by a power cut)
// or do not parse. The node still runs on what it read at boot; the next
// restart would not.
const checkFiles = `
Ctl = fun(B) -> lists:any(fun(C) -> C < 32 andalso C =/= $\n andalso C =/= $\r andalso C =/= $\t end, binary_to_list(B)) end,
Args = fun(K) -> case init:get_argument(K) of {ok, L} -> lists:append(L); error -> [] end end,
WithExt = fun(F, Ext) -> case filename:extension(F) of Ext -> F; _ -> F ++ Ext end end,
Check = fun(F, Kind) ->
    case file:read_file(F) of
        {error, R} -> [{F, io_lib:format("cannot be read: ~p", [R])}];
        {ok, B} ->
            case Ctl(B) of
                true -> [{F, "holds control characters"}];
                false ->
                    case Kind of
                        terms -> case file:consult(F) of
                                     {ok, _} -> [];
                                     {error, E} -> [{F, "does not parse: " ++ file:format_error(E)}]
                                 end;
                        boot -> try binary_to_term(B) of {script, _, _} -> []; _ -> [{F, "is not a boot script"}]
                                catch _:_ -> [{F, "is not a boot script"}] end;
                        text -> []
                    end
            end
    end
end,
Configs = [{WithExt(F, ".config"), terms} || F <- Args(config)],
VmArgs = [{F, text} || F <- Args(args_file)],
Boot = [{WithExt(F, ".boot"), boot} || F <- Args(boot), filename:pathtype(F) =/= relative orelse filelib:is_file(WithExt(F, ".boot"))],
Apps = [{F, terms} || {App, _, _} <- application:loaded_applications(), F <- [code:where_is_file(atom_to_list(App) ++ ".app")], F =/= non_existing],
[{unicode:characters_to_binary(F), unicode:characters_to_binary(P)} || {F0, K} <- Configs ++ VmArgs ++ Boot ++ Apps, {F, P} <- Check(F0, K)].
`

// CheckReleaseFiles reads the files the running release depends on, on
// the node, and returns file -> problem for those that would break the
// next restart.
func CheckReleaseFiles(ctx context.Context, c *dist.Conn) (map[string]string, error) {
	r, err := inspect.EvalWith(ctx, c, checkFiles, nil)
	if err != nil {
		return nil, fmt.Errorf("check the release's files on %s: %w", c.Node(), err)
	}
	l, err := etf.ToList(r)
	if err != nil {
		return nil, fmt.Errorf("check the release's files on %s: %w", c.Node(), err)
	}
	out := map[string]string{}
	for _, e := range l {
		t, err := etf.ToTuple(e, 2)
		if err != nil {
			continue
		}
		f, _ := etf.ToString(t[0])
		p, _ := etf.ToString(t[1])
		out[f] = p
	}
	return out, nil
}

// ModuleClashes lists the modules found in more than one directory of the
// node's code path (module -> directories, in path order): which one
// loads depends on the order, and a release can pick up a stale copy.
// Two round trips: code:get_path/0, then erl_prim_loader:list_dir/1 over
// every directory.
func ModuleClashes(ctx context.Context, c Caller) (map[string][]string, error) {
	r, err := c.Call(ctx, "code", "get_path")
	if err != nil {
		return nil, err
	}
	dirs, err := etf.ToList(r)
	if err != nil {
		return nil, fmt.Errorf("code:get_path: %w", err)
	}
	r, err = c.Call(ctx, "lists", "map", etf.Export{Module: "erl_prim_loader", Function: "list_dir", Arity: 1}, dirs)
	if err != nil {
		return nil, err
	}
	listings, err := etf.ToList(r)
	if err != nil || len(listings) != len(dirs) {
		return nil, fmt.Errorf("listing the code path: unexpected reply")
	}
	where := map[string][]string{}
	for i, l := range listings {
		t, err := etf.ToTuple(l, 2)
		if err != nil || t[0] != etf.Atom("ok") {
			continue // a directory that does not exist
		}
		dir, _ := etf.ToString(dirs[i])
		files, _ := etf.ToList(t[1])
		for _, f := range files {
			name, _ := etf.ToString(f)
			if m, ok := strings.CutSuffix(name, ".beam"); ok {
				where[m] = append(where[m], dir)
			}
		}
	}
	out := map[string][]string{}
	for m, ds := range where {
		if len(ds) > 1 {
			out[m] = ds
		}
	}
	return out, nil
}
