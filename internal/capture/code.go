package capture

import (
	"context"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/beamctl/beamctl/internal/etf"
)

// Modules is a node's loaded modules: name -> md5 (hex), with "+old"
// appended when the module also has old code (not purged yet).
type Modules map[string]string

// LoadedModules reads code:all_loaded(), then every module's md5 and
// whether it has old code, in two round trips (lists:zipwith over
// erlang:get_module_info/2 and erlang:check_old_code/1, batched).
// A module purged between the two calls makes the second fail; the caller
// tries again at its next poll.
func LoadedModules(ctx context.Context, c Caller) (Modules, error) {
	r, err := c.Call(ctx, "code", "all_loaded")
	if err != nil {
		return nil, err
	}
	l, err := etf.ToList(r)
	if err != nil {
		return nil, fmt.Errorf("code:all_loaded: %w", err)
	}
	mods := make(etf.List, 0, len(l))
	items := make(etf.List, 0, len(l))
	for _, e := range l {
		t, err := etf.ToTuple(e, 2)
		if err != nil {
			return nil, fmt.Errorf("code:all_loaded: %w", err)
		}
		mods = append(mods, t[0])
		items = append(items, etf.Atom("md5"))
	}
	apply := etf.Export{Module: "erlang", Function: "apply", Arity: 2}
	r, err = c.Call(ctx, "lists", "zipwith", apply,
		etf.List{etf.Export{Module: "lists", Function: "zipwith", Arity: 3}, etf.Export{Module: "lists", Function: "map", Arity: 2}},
		etf.List{
			etf.List{etf.Export{Module: "erlang", Function: "get_module_info", Arity: 2}, mods, items},
			etf.List{etf.Export{Module: "erlang", Function: "check_old_code", Arity: 1}, mods},
		})
	if err != nil {
		return nil, fmt.Errorf("md5 of the loaded modules: %w", err)
	}
	both, err := etf.ToList(r)
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
