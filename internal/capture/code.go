package capture

import (
	"context"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/beamctl/beamctl/internal/etf"
)

// Caller makes rpc calls; *dist.Conn is one.
type Caller interface {
	Call(ctx context.Context, module, function string, args ...etf.Term) (etf.Term, error)
}

// Modules is a node's loaded modules: name -> md5 (hex).
type Modules map[string]string

// LoadedModules reads code:all_loaded() and every module's md5 in two
// round trips (the md5s with lists:zipwith over erlang:get_module_info/2).
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
	r, err = c.Call(ctx, "lists", "zipwith", etf.Export{Module: "erlang", Function: "get_module_info", Arity: 2}, mods, items)
	if err != nil {
		return nil, fmt.Errorf("md5 of the loaded modules: %w", err)
	}
	md5s, err := etf.ToList(r)
	if err != nil || len(md5s) != len(mods) {
		return nil, fmt.Errorf("md5 of the loaded modules: unexpected reply")
	}
	out := make(Modules, len(mods))
	for i, m := range mods {
		name, _ := m.(etf.Atom)
		b, _ := md5s[i].([]byte)
		out[string(name)] = hex.EncodeToString(b)
	}
	return out, nil
}

// Change is one module's difference between two readings.
type Change struct {
	Module string
	Kind   string // loaded, reloaded or deleted
	OldMD5 string
	NewMD5 string
}

// Diff lists what changed from prev to cur, by module name.
func Diff(prev, cur Modules) []Change {
	var out []Change
	for m, md5 := range cur {
		old, ok := prev[m]
		switch {
		case !ok:
			out = append(out, Change{Module: m, Kind: "loaded", NewMD5: md5})
		case old != md5:
			out = append(out, Change{Module: m, Kind: "reloaded", OldMD5: old, NewMD5: md5})
		}
	}
	for m, md5 := range prev {
		if _, ok := cur[m]; !ok {
			out = append(out, Change{Module: m, Kind: "deleted", OldMD5: md5})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Module < out[j].Module })
	return out
}
