package capture

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/termtext"
)

// Modules is a node's loaded modules: name -> md5 (hex), with "+old"
// appended when the module also has old code (not purged yet).
type Modules map[string]string

// Loaded is one reading of a node's loaded modules.
type Loaded struct {
	Modules Modules
	// From is where each module was loaded from, as code:all_loaded
	// gives it.
	From map[string]From
}

// From is where a module was loaded from, as code:all_loaded gives it:
// a file name (IsFile), or for code not loaded from a named file the
// term in Erlang syntax (preloaded, cover_compiled, or whatever was
// passed to code:load_binary/3 as its file name). Unknown is code the
// code server does not know (loaded with erlang:load_module/2 behind its
// back: code:all_loaded does not list it).
type From struct {
	Name    string
	IsFile  bool
	Unknown bool
}

// LoadedDigestCheck is LoadedDigest's call.
var LoadedDigestCheck = Check{Module: inspect.AgentModule, Function: "loaded_digest"}

// LoadedDigest asks beamctl_agent (which must be loaded) for the md5 of
// what LoadedModules reads: one small round trip, whose answer is the same
// as long as the node's code is. The modules' list stays on the node.
func LoadedDigest(ctx context.Context, c Caller) ([]byte, error) {
	r, err := c.Call(ctx, LoadedDigestCheck.Module, LoadedDigestCheck.Function)
	if err != nil {
		return nil, fmt.Errorf("digest of the loaded modules: %w", err)
	}
	b, ok := r.([]byte)
	if !ok || len(b) != 16 {
		return nil, fmt.Errorf("digest of the loaded modules: unexpected reply")
	}
	return b, nil
}

// LoadedModules reads erlang:loaded() and code:all_loaded() (batched),
// then every module's md5 and whether it has old code (lists:zipwith over
// erlang:get_module_info/2 and erlang:check_old_code/1, batched): two
// round trips, three when a module is loaded that the code server does not
// list (checked with erlang:module_loaded/1: erlang:loaded() lists old
// code too). A module purged between the calls makes one fail; the caller
// tries again at its next poll.
func LoadedModules(ctx context.Context, c Caller) (*Loaded, error) {
	apply := etf.Export{Module: "erlang", Function: "apply", Arity: 2}
	r, err := c.Call(ctx, "lists", "zipwith", apply,
		etf.List{etf.Export{Module: "erlang", Function: "loaded", Arity: 0}, etf.Export{Module: "code", Function: "all_loaded", Arity: 0}},
		etf.List{etf.List{}, etf.List{}})
	if err != nil {
		return nil, err
	}
	both, err := etf.ToList(r)
	if err != nil || len(both) != 2 {
		return nil, fmt.Errorf("code:all_loaded: unexpected reply")
	}
	all, err1 := etf.ToList(both[0])
	l, err2 := etf.ToList(both[1])
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("code:all_loaded: %w", err)
	}
	mods := make(etf.List, 0, len(all))
	from := make(map[string]From, len(all))
	for _, e := range l {
		t, err := etf.ToTuple(e, 2)
		if err != nil {
			return nil, fmt.Errorf("code:all_loaded: %w", err)
		}
		mods = append(mods, t[0])
		name, _ := t[0].(etf.Atom)
		if a, ok := t[1].(etf.Atom); ok {
			from[string(name)] = From{Name: string(a)}
		} else if f, err := etf.ToString(t[1]); err == nil {
			from[string(name)] = From{Name: f, IsFile: true}
		} else {
			from[string(name)] = From{Name: termtext.Format(t[1])}
		}
	}
	var unknown etf.List
	for _, m := range all {
		if name, ok := m.(etf.Atom); ok {
			if _, known := from[string(name)]; !known {
				unknown = append(unknown, m)
			}
		}
	}
	if len(unknown) > 0 {
		r, err := c.Call(ctx, "lists", "filter", etf.Export{Module: "erlang", Function: "module_loaded", Arity: 1}, unknown)
		if err != nil {
			return nil, fmt.Errorf("erlang:loaded: %w", err)
		}
		current, err := etf.ToList(r)
		if err != nil {
			return nil, fmt.Errorf("erlang:loaded: %w", err)
		}
		for _, m := range current {
			name, _ := m.(etf.Atom)
			mods = append(mods, m)
			from[string(name)] = From{Unknown: true}
		}
	}
	items := make(etf.List, len(mods))
	for i := range items {
		items[i] = etf.Atom("md5")
	}
	r, err = c.Call(ctx, "lists", "zipwith", apply,
		etf.List{etf.Export{Module: "lists", Function: "zipwith", Arity: 3}, etf.Export{Module: "lists", Function: "map", Arity: 2}},
		etf.List{
			etf.List{etf.Export{Module: "erlang", Function: "get_module_info", Arity: 2}, mods, items},
			etf.List{etf.Export{Module: "erlang", Function: "check_old_code", Arity: 1}, mods},
		})
	if err != nil {
		return nil, fmt.Errorf("md5 of the loaded modules: %w", err)
	}
	both, err = etf.ToList(r)
	if err != nil || len(both) != 2 {
		return nil, fmt.Errorf("md5 of the loaded modules: unexpected reply")
	}
	md5s, err1 := etf.ToList(both[0])
	old, err2 := etf.ToList(both[1])
	if err1 != nil || err2 != nil || len(md5s) != len(mods) || len(old) != len(mods) {
		return nil, fmt.Errorf("md5 of the loaded modules: unexpected reply")
	}
	out := make(Modules, len(mods))
	for i, m := range mods {
		name, _ := m.(etf.Atom)
		b, _ := md5s[i].([]byte)
		v := hex.EncodeToString(b)
		if old[i] == etf.True {
			v += oldSuffix
		}
		out[string(name)] = v
	}
	return &Loaded{Modules: out, From: from}, nil
}

// Origin is what the node's disk says about a loaded module's file.
type Origin struct {
	From
	// InCodePath: From is a .beam file in a directory of the node's code
	// path (where the code server would find the module again).
	InCodePath bool
	// FileMD5 is the md5 (beam_lib:md5/1, as module_info(md5)) of the
	// module in the file From names, read now; "" when there is no .beam
	// file of the module there.
	FileMD5 string
}

// Routine reports whether code loaded with md5 came from where code is
// expected to come from: a .beam file of the code path that holds that
// very code, or the VM itself (preloaded). Anything else (a binary
// loaded from elsewhere or with no file, a file changed or deleted since)
// is a hand-made change.
func (o Origin) Routine(md5 string) bool {
	return o.IsFile && o.InCodePath && o.FileMD5 == md5 || o == Origin{From: From{Name: "preloaded"}}
}

// checkOrigins is evaluated on the node with erl_eval, with Mods bound to
// [{Module, FileName}] (module atoms the node gave, file names as UTF-8
// binaries) and Ms to a time budget in milliseconds. For each module, in
// order, until the budget is spent (at least one), it returns {Module,
// InCodePath, MD5 | no_file}: whether the file is a .beam in a directory
// of the code path, and the md5 of the module in it. The file is read
// with file:read_file (no logging on the node when it is missing), and
// through erl_prim_loader when it is a regular file only that one can
// read (an archive).
const checkOrigins = `
Stop = erlang:monotonic_time(millisecond) + Ms,
Dirs = [filename:absname(D) || D <- code:get_path()],
Read = fun(F) ->
    case file:read_file(F) of
        {ok, B} -> {ok, B};
        {error, _} ->
            case erl_prim_loader:read_file_info(F) of
                {ok, I} when element(3, I) =:= regular ->
                    case erl_prim_loader:get_file(F) of {ok, B, _} -> {ok, B}; error -> error end;
                _ -> error
            end
    end
end,
MD5 = fun(M, F) ->
    case F =/= "" andalso Read(F) of
        {ok, B} -> case catch beam_lib:md5(B) of {ok, {M, D}} -> D; _ -> no_file end;
        _ -> no_file
    end
end,
Check = fun({M, B}) ->
    F = unicode:characters_to_list(B),
    InPath = filename:extension(F) =:= ".beam" andalso lists:member(filename:dirname(filename:absname(F)), Dirs),
    {M, InPath, MD5(M, F)}
end,
Loop = fun Loop([], Acc) -> Acc;
           Loop([X | Xs], Acc) ->
               Acc1 = [Check(X) | Acc],
               case erlang:monotonic_time(millisecond) < Stop of true -> Loop(Xs, Acc1); false -> Acc1 end
       end,
Loop(Mods, []).
`

// CheckOrigins reads, on the node, where the modules named came from:
// whether their file is in the code path and the md5 of the module in it.
// It reads at most limit files and stops when half the time left to ctx is
// spent (after the first file); the modules it did not get to are left
// out of the result, for the caller to check at its next poll. Modules
// not loaded from a file need no reading: their Origin has IsFile false.
// One erl_eval round (three calls), which reads each file once.
func CheckOrigins(ctx context.Context, c *dist.Conn, l *Loaded, mods []string, limit int) (map[string]Origin, error) {
	budget := time.Second
	if d, ok := ctx.Deadline(); ok {
		budget = time.Until(d) / 2
	}
	return checkOriginsWithin(ctx, c, l, mods, limit, budget)
}

// checkOriginsWithin is CheckOrigins with the node's time budget given.
func checkOriginsWithin(ctx context.Context, c *dist.Conn, l *Loaded, mods []string, limit int, budget time.Duration) (map[string]Origin, error) {
	out := make(map[string]Origin, len(mods))
	var args etf.List
	for _, m := range mods {
		f, ok := l.From[m]
		switch {
		case !ok:
		case !f.IsFile:
			out[m] = Origin{From: f}
		case len(args) < limit:
			args = append(args, etf.Tuple{etf.Atom(m), []byte(f.Name)})
		}
	}
	if len(args) == 0 {
		return out, nil
	}
	r, err := inspect.EvalWith(ctx, c, checkOrigins, map[string]etf.Term{"Mods": args, "Ms": max(budget.Milliseconds(), 0)})
	if err != nil {
		return nil, fmt.Errorf("check where the loaded modules came from: %w", err)
	}
	res, err := etf.ToList(r)
	if err != nil {
		return nil, fmt.Errorf("check where the loaded modules came from: %w", err)
	}
	for _, e := range res {
		t, err := etf.ToTuple(e, 3)
		if err != nil {
			return nil, fmt.Errorf("check where the loaded modules came from: %w", err)
		}
		name, _ := t[0].(etf.Atom)
		o := Origin{From: l.From[string(name)], InCodePath: t[1] == etf.True}
		if b, ok := t[2].([]byte); ok {
			o.FileMD5 = hex.EncodeToString(b)
		}
		out[string(name)] = o
	}
	return out, nil
}

const oldSuffix = "+old"

// Change is one module's difference between two readings.
type Change struct {
	Module string
	Kind   string // loaded, reloaded, purged or deleted
	OldMD5 string
	NewMD5 string
}

// Diff lists what changed from prev to cur, by module name. A reload and
// the purge of the code it replaced in the same interval are one reload.
func Diff(prev, cur Modules) []Change {
	var out []Change
	split := func(v string) (string, bool) { return strings.CutSuffix(v, oldSuffix) }
	for m, v := range cur {
		md5, _ := split(v)
		pv, ok := prev[m]
		oldMD5, hadOld := split(pv)
		switch {
		case !ok:
			out = append(out, Change{Module: m, Kind: "loaded", NewMD5: md5})
		case oldMD5 != md5:
			out = append(out, Change{Module: m, Kind: "reloaded", OldMD5: oldMD5, NewMD5: md5})
		case hadOld && !strings.HasSuffix(v, oldSuffix):
			out = append(out, Change{Module: m, Kind: "purged", NewMD5: md5})
		}
	}
	for m, v := range prev {
		if _, ok := cur[m]; !ok {
			md5, _ := split(v)
			out = append(out, Change{Module: m, Kind: "deleted", OldMD5: md5})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Module < out[j].Module })
	return out
}
