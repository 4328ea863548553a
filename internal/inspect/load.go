package inspect

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/beamctl/beamctl/internal/etf"
)

// maxLingering bounds how many lingering processes are listed.
const maxLingering = 1000

// LoadPlan is what a hot code load finds before it acts.
type LoadPlan struct {
	Node          string   `json:"node"`
	Module        string   `json:"module"`
	MD5Before     string   `json:"md5_before"` // "" when not loaded
	MD5New        string   `json:"md5_new"`
	OldCode       bool     `json:"old_code"`  // old code is present (it must be purged first)
	Lingering     []string `json:"lingering"` // processes running the old code
	AlreadyLoaded bool     `json:"already_loaded"`
}

// LoadResult is the outcome of a load.
type LoadResult struct {
	LoadPlan
	Killed   []string `json:"killed"` // processes --force killed
	MD5After string   `json:"md5_after"`
}

// PlanLoad inspects what loading the compiled module beam would do.
func PlanLoad(ctx context.Context, c Conn, beam []byte) (*LoadPlan, error) {
	name, newMD5, err := BeamMD5(ctx, c, beam)
	if err != nil {
		return nil, err
	}
	mod := etf.Atom(name)
	p := &LoadPlan{Node: c.Node(), Module: name, MD5New: newMD5, Lingering: []string{}}
	if p.MD5Before, err = LoadedMD5(ctx, c, name); err != nil {
		return nil, err
	}
	p.AlreadyLoaded = p.MD5Before == p.MD5New
	old, err := c.Call(ctx, "erlang", "check_old_code", mod)
	if err != nil {
		return nil, err
	}
	p.OldCode = old == etf.True
	if p.OldCode {
		if p.Lingering, err = lingering(ctx, c, mod); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// BeamMD5 is the module name and md5 of object code as the node computes
// them (beam_lib:md5: the md5 module_info(md5) has once it is loaded).
func BeamMD5(ctx context.Context, c Conn, beam []byte) (module, md5 string, err error) {
	return beamLibMD5(ctx, c, beam)
}

// FileMD5 is BeamMD5 of an object code file on the node (read there: no
// object code travels).
func FileMD5(ctx context.Context, c Conn, path string) (module, md5 string, err error) {
	return beamLibMD5(ctx, c, charlist(path))
}

func beamLibMD5(ctx context.Context, c Conn, beamOrFile etf.Term) (module, md5 string, err error) {
	r, err := c.Call(ctx, "beam_lib", "md5", beamOrFile)
	if err != nil {
		return "", "", err
	}
	t, err := etf.ToTuple(r, 2)
	if err != nil || t[0] != etf.Atom("ok") {
		return "", "", fmt.Errorf("not a valid .beam file: %s", text(r, c.Node()))
	}
	mm, err := etf.ToTuple(t[1], 2)
	if err != nil {
		return "", "", fmt.Errorf("beam_lib:md5: %s", text(r, c.Node()))
	}
	mod, _ := etf.ToAtom(mm[0])
	b, _ := mm[1].([]byte)
	return string(mod), hex.EncodeToString(b), nil
}

// LoadedMD5 is the md5 of a module as loaded on the node now ("" when it
// is not loaded).
func LoadedMD5(ctx context.Context, c Conn, module string) (string, error) {
	mod := etf.Atom(module)
	loaded, err := c.Call(ctx, "erlang", "module_loaded", mod)
	if err != nil || loaded != etf.True {
		return "", err
	}
	r, err := c.Call(ctx, "erlang", "get_module_info", mod, etf.Atom("md5"))
	if err != nil {
		return "", err
	}
	b, _ := r.([]byte)
	return hex.EncodeToString(b), nil
}

func lingering(ctx context.Context, c Conn, mod etf.Atom) ([]string, error) {
	if _, err := EnsureAgent(ctx, c); err != nil {
		return nil, err
	}
	r, err := c.Call(ctx, AgentModule, "lingering", mod, maxLingering)
	if err != nil {
		return nil, err
	}
	l, _ := etf.ToList(r)
	out := []string{}
	for _, p := range l {
		out = append(out, text(p, c.Node()))
	}
	return out, nil
}

// Load hot-loads a compiled module with ectl's semantics: old code is soft
// purged, waiting up to purgeWait for processes to leave it; if some still
// run it, force kills them (code:purge) and reports them, else the load
// fails and nothing changes.
func Load(ctx context.Context, c Conn, beam []byte, filename string, force bool, purgeWait time.Duration) (*LoadResult, error) {
	plan, err := PlanLoad(ctx, c, beam)
	if err != nil {
		return nil, err
	}
	res := &LoadResult{LoadPlan: *plan, Killed: []string{}}
	mod := etf.Atom(plan.Module)
	if plan.OldCode {
		deadline := time.Now().Add(purgeWait)
		for {
			r, err := c.Call(ctx, "code", "soft_purge", mod)
			if err != nil {
				return nil, err
			}
			if r == etf.True {
				break
			}
			if time.Now().After(deadline) {
				procs, err := lingering(ctx, c, mod)
				if err != nil {
					return nil, err
				}
				if !force {
					return nil, fmt.Errorf("%d processes still run the old code of %s after %s (%v); nothing was loaded; use --force to kill them",
						len(procs), plan.Module, purgeWait, procs)
				}
				if _, err := c.Call(ctx, "code", "purge", mod); err != nil {
					return nil, err
				}
				res.Killed = procs
				break
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	r, err := c.Call(ctx, "code", "load_binary", mod, charlist(filename), beam)
	if err != nil {
		return nil, err
	}
	if t, err := etf.ToTuple(r, 2); err != nil || t[0] != etf.Atom("module") {
		return nil, fmt.Errorf("code:load_binary of %s: %s", plan.Module, text(r, c.Node()))
	}
	if res.MD5After, err = LoadedMD5(ctx, c, plan.Module); err != nil {
		return nil, err
	}
	return res, nil
}
