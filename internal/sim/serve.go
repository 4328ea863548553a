package sim

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/beamctl/beamctl/internal/app"
	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/inspect"
)

// ServeOptions configure StartServe: beamctl serve (internal/app) in this
// process against a static list of nodes.
type ServeOptions struct {
	Nodes  []string
	Cookie string
	// Storage is the server's storage directory.
	Storage string
	// CollectInterval, FastInterval and CollectTimeout are the global
	// settings of the same names (zero: the server's defaults).
	CollectInterval, FastInterval, CollectTimeout time.Duration
	// CodeInterval is the cluster's notifications.code_interval: how often
	// the watch polls code, alarms and its own subscriptions (zero: 30s).
	CodeInterval time.Duration
	Logger       *slog.Logger
}

// StartServe starts beamctl serve on a loopback port with one cluster,
// "sim", holding the nodes. The server finds the nodes through the EPMD of
// $ERL_EPMD_PORT. Stop it with Stop.
func StartServe(ctx context.Context, o ServeOptions) (*app.App, error) {
	var y strings.Builder
	var global []string
	for _, s := range []struct {
		key string
		d   time.Duration
	}{{"collect_interval", o.CollectInterval}, {"fast_interval", o.FastInterval}, {"collect_timeout", o.CollectTimeout}} {
		if s.d > 0 {
			global = append(global, s.key+": "+s.d.String())
		}
	}
	if len(global) > 0 {
		fmt.Fprintf(&y, "global: {%s}\n", strings.Join(global, ", "))
	}
	fmt.Fprintf(&y, "clusters:\n  - name: sim\n    cookie: %s\n    nodes:\n", strconv.Quote(o.Cookie))
	for _, n := range o.Nodes {
		fmt.Fprintf(&y, "      - %s\n", strconv.Quote(n))
	}
	if o.CodeInterval > 0 {
		fmt.Fprintf(&y, "    notifications: {code_interval: %s}\n", o.CodeInterval)
	}
	cfg, err := config.Parse([]byte(y.String()), o.Storage)
	if err != nil {
		return nil, fmt.Errorf("serve configuration: %w", err)
	}
	a, err := app.New(app.Options{Config: cfg, StoragePath: o.Storage, Listen: "127.0.0.1:0", Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	if err := a.Start(ctx); err != nil {
		_ = a.Stop()
		return nil, err
	}
	return a, nil
}

// RecordedTools are the inspection tools a recording holds, with their
// arguments (the defaults otherwise): the read-only ones the web UI runs.
var RecordedTools = []struct {
	Name string
	Args map[string]string
}{
	{"memory", nil}, {"top", nil}, {"top", map[string]string{"by": "memory"}}, {"alloc", nil},
	{"ets", nil}, {"apps", nil}, {"suptree", nil}, {"pi", map[string]string{"pid": "code_server"}},
}

// RunTools runs RecordedTools on the node of c.
func RunTools(ctx context.Context, c inspect.Conn) error {
	for _, rt := range RecordedTools {
		t, ok := inspect.Lookup(rt.Name)
		if !ok {
			return fmt.Errorf("no inspection tool %s", rt.Name)
		}
		a, err := t.Parse(rt.Args)
		if err != nil {
			return fmt.Errorf("%s: %w", rt.Name, err)
		}
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = t.Run(tctx, c, a)
		cancel()
		if err != nil {
			return fmt.Errorf("%s on %s: %w", rt.Name, c.Node(), err)
		}
	}
	return nil
}

// Record records what node o.Node answers to beamctl serve: it runs a
// simulated node whose Backend is a Recorder of the real node, and serve
// against it for d (long enough for every collector to run twice, some
// seconds apart: at least three collection intervals of 3s). It sets
// ERL_EPMD_PORT for the time it runs (serve reads the EPMD port from the
// environment), so nothing else in the process may dial nodes meanwhile.
func Record(ctx context.Context, o RecordOptions, d time.Duration, storage string, logger *slog.Logger) (*Recording, error) {
	rec, err := NewRecorder(ctx, o)
	if err != nil {
		return nil, err
	}
	defer rec.Close()
	srv, err := Listen(Options{Cookie: o.Cookie, Logger: logger})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	n, err := srv.AddNode("recorded", rec)
	if err != nil {
		return nil, err
	}
	old, had := os.LookupEnv("ERL_EPMD_PORT")
	_ = os.Setenv("ERL_EPMD_PORT", strconv.Itoa(srv.EpmdPort()))
	defer func() {
		if had {
			_ = os.Setenv("ERL_EPMD_PORT", old)
		} else {
			_ = os.Unsetenv("ERL_EPMD_PORT")
		}
	}()
	a, err := StartServe(ctx, ServeOptions{
		Nodes: []string{string(n.Name)}, Cookie: o.Cookie, Storage: storage,
		CollectInterval: 3 * time.Second, FastInterval: time.Second, CollectTimeout: 3 * time.Second, Logger: logger,
		// The watch's periodic checks (after its first poll) are recorded
		// too: a 12 s recording holds three of them.
		CodeInterval: 3 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	// The inspection tools the web UI and the CLI run, twice (a first and
	// a last reply), while serve collects.
	tools := func() error {
		c, err := dist.Dial(ctx, string(n.Name), dist.Options{Cookie: o.Cookie, EpmdPort: srv.EpmdPort(), RPC: dist.RPCSpawn})
		if err != nil {
			return fmt.Errorf("record the tools: %w", err)
		}
		defer c.Close()
		return RunTools(ctx, c)
	}
	select {
	case <-time.After(d / 2):
	case <-ctx.Done():
	}
	if err := tools(); err != nil {
		return nil, err
	}
	select {
	case <-time.After(d / 2):
	case <-ctx.Done():
	}
	if err := tools(); err != nil {
		return nil, err
	}
	// A round whose last replies are kept gets to make its dependent
	// calls (at most a collect timeout later).
	rec.Freeze()
	select {
	case <-time.After(4 * time.Second):
	case <-ctx.Done():
	}
	if err := a.Stop(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return rec.Recording(), nil
}
