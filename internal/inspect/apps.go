package inspect

import (
	"context"
	"fmt"
	"sort"

	"github.com/beamctl/beamctl/internal/etf"
)

// App is one loaded application.
type App struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	Running     bool   `json:"running"`
	Description string `json:"description"`
}

// EnvEntry is one key of an application's environment, in Erlang text.
type EnvEntry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Apps lists loaded applications and which of them run.
func Apps(ctx context.Context, c Conn) ([]App, error) {
	loaded, err := c.Call(ctx, "application", "loaded_applications")
	if err != nil {
		return nil, err
	}
	running, err := c.Call(ctx, "application", "which_applications")
	if err != nil {
		return nil, err
	}
	isRunning := map[etf.Atom]bool{}
	rl, _ := etf.ToList(running)
	for _, e := range rl {
		if t, err := etf.ToTuple(e, 3); err == nil {
			if a, ok := t[0].(etf.Atom); ok {
				isRunning[a] = true
			}
		}
	}
	ll, err := etf.ToList(loaded)
	if err != nil {
		return nil, fmt.Errorf("loaded_applications: %w", err)
	}
	apps := []App{}
	for _, e := range ll {
		t, err := etf.ToTuple(e, 3)
		if err != nil {
			continue
		}
		name, _ := etf.ToAtom(t[0])
		desc, _ := etf.ToString(t[1])
		vsn, _ := etf.ToString(t[2])
		apps = append(apps, App{Name: string(name), Version: vsn, Running: isRunning[name], Description: desc})
	}
	sort.Slice(apps, func(i, j int) bool { return apps[i].Name < apps[j].Name })
	return apps, nil
}

// AppEnv returns application:get_all_env(App), sorted by key. The name is
// looked up on the node without creating an atom (existingAtom).
func AppEnv(ctx context.Context, c Conn, app string) ([]EnvEntry, error) {
	a, err := existingAtom(ctx, c, app)
	if err != nil {
		return nil, err
	}
	if a == "" {
		return nil, fmt.Errorf("no application %s is loaded on %s", text(etf.Atom(app), c.Node()), c.Node())
	}
	r, err := c.Call(ctx, "application", "get_all_env", a)
	if err != nil {
		return nil, err
	}
	l, err := etf.ToList(r)
	if err != nil {
		return nil, fmt.Errorf("get_all_env: %w", err)
	}
	env := []EnvEntry{}
	for _, e := range l {
		if t, err := etf.ToTuple(e, 2); err == nil {
			env = append(env, EnvEntry{Key: text(t[0], c.Node()), Value: text(t[1], c.Node())})
		}
	}
	sort.Slice(env, func(i, j int) bool { return env[i].Key < env[j].Key })
	return env, nil
}
