// Package app is the lifecycle of beamctl serve: it discovers the nodes of
// every configured cluster, keeps one hidden connection per node (through a
// dist.Pool per cluster), collects every node on an interval into the
// store, and serves the HTTP API. It never touches OS signals, so tests run
// it in-process: New, Start, Stop.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/beamctl/beamctl/internal/alarm"
	"github.com/beamctl/beamctl/internal/capture"
	"github.com/beamctl/beamctl/internal/collector"
	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/export"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/store"
	"github.com/beamctl/beamctl/internal/web"
)

// Options configure the server.
type Options struct {
	Config *config.Config
	// ConfigFile, when set, is read again by ReloadFile and POST /-/reload.
	ConfigFile  string
	StoragePath string
	// Store configures the store (retention); nil: store.DefaultOptions.
	Store *store.Options
	// Notifications configures the notification store (retention).
	Notifications journal.Options
	Listen        string // e.g. 127.0.0.1:9464; port 0 picks a free one
	Logger        *slog.Logger
}

// App is a running (or stopped) server.
type App struct {
	opts    Options
	log     *slog.Logger
	db      *store.DB
	notes   *journal.Recorder
	srv     *http.Server
	ln      net.Listener
	rootCtx context.Context
	cancel  context.CancelFunc

	notesDone chan struct{} // closed when the recorder's loop ends

	alarms      *alarm.Engine
	alarmsDone  chan struct{}
	evaluating  atomic.Bool    // the alarm engine runs (the warm-up is over)
	firstPasses sync.WaitGroup // the clusters' first discovery passes at Start
	deliveryMu  sync.Mutex
	deliveries  []*delivery // alarm destinations

	exportMu     sync.Mutex // guards exports and exportsStop
	exports      []*export.Target
	exportsStop  context.CancelFunc
	exportsDone  sync.WaitGroup
	exportConfig string // the exports' configuration, to see a reload change it

	runMu sync.Mutex // guards cfg and runs (Start, Reload, Stop)
	cfg   *config.Config
	runs  map[string]*clusterRun

	mu       sync.Mutex // guards nodes and metadata
	nodes    map[nodeKey]*nodeInfo
	metadata map[string]web.Metadata
}

// clusterRun is one cluster being discovered and collected. Its pool
// (the connections) can outlive it across a reload.
type clusterRun struct {
	// firstPasses, for the clusters of Start, is told when the first
	// discovery pass is over (once).
	firstPasses *sync.WaitGroup
	firstPass   sync.Once
	cfg         config.Cluster
	global      config.Global
	pool        *dist.Pool
	set         *collector.Set
	cancel      context.CancelFunc
	wg          sync.WaitGroup
}

type nodeKey struct{ cluster, node string }

type nodeInfo struct {
	lastCollect time.Time
	// series stored by the last round of all collectors (true) and of a
	// part of them (false).
	series     map[bool]int
	family     string
	otpRelease string
	release    string // name and version
	uptime     float64
	apps       map[string]string // running applications and their versions
	sysmon     *capture.Sysmon   // beamctl's system_monitor on the node, if any
}

// New opens the store; nothing runs before Start.
func New(o Options) (*App, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Config == nil {
		return nil, errors.New("no configuration")
	}
	db, err := store.Open(o.StoragePath, o.Logger.With("component", "store"), o.Store)
	if err != nil {
		return nil, err
	}
	a := &App{opts: o, log: o.Logger, db: db, cfg: o.Config, runs: map[string]*clusterRun{}, nodes: map[nodeKey]*nodeInfo{},
		metadata: map[string]web.Metadata{
			"beamctl_node_up": {Type: "gauge", Help: "Whether beamctl is connected to the node (1) or not (0)."},
			"erlang_vm_system_monitor_events_total": {Type: "counter",
				Help: "system_monitor events (long_gc, long_schedule, large_heap, busy_port, busy_dist_port, and busy_dist_port_to_beamctl: on beamctl's own connection) since beamctl's monitor started on the node."},
		}}
	if err := checkCollectors(o.Config); err != nil {
		_ = db.Close()
		return nil, err
	}
	ns, err := journal.Open(filepath.Join(o.StoragePath, "notifications"), o.Notifications)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	a.notes = journal.NewRecorder(ns, o.Logger.With("component", "notifications"), journal.RecorderOptions{})
	a.alarms, err = alarm.Open(context.Background(), alarm.Options{Dir: filepath.Join(o.StoragePath, "alarms"),
		Logger: o.Logger.With("component", "alarms")})
	if err != nil {
		_ = db.Close()
		_ = ns.Close()
		return nil, err
	}
	if err := a.setAlarmRules(o.Config); err != nil {
		_ = a.alarms.Close()
		_ = db.Close()
		_ = ns.Close()
		return nil, err
	}
	return a, nil
}

// Start listens, then discovers and collects in the background.
func (a *App) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.opts.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.opts.Listen, err)
	}
	a.ln = ln
	a.srv = &http.Server{Handler: web.New(a.db, a, a.selfMetrics(), a.reloadHandler(), a.log), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("HTTP server stopped", "err", err)
		}
	}()
	a.rootCtx, a.cancel = context.WithCancel(context.WithoutCancel(ctx))
	a.firstPasses.Add(len(a.cfg.Clusters)) // before warmUp waits on it
	a.notesDone = make(chan struct{})
	go func() {
		defer close(a.notesDone)
		a.notes.Run(a.rootCtx, 10*time.Second)
	}()
	a.alarmsDone = make(chan struct{})
	interval := time.Duration(a.cfg.Alarms.Interval)
	warm := 2*time.Duration(a.cfg.Global.FastInterval) + time.Duration(a.cfg.Global.CollectTimeout)
	a.startDeliveries(a.cfg.Alarms)
	go func() {
		defer close(a.alarmsDone)
		a.warmUp(warm)
		a.evaluating.Store(true)
		a.alarms.Run(a.rootCtx, interval)
	}()
	if err := a.startExports(a.cfg.Exports); err != nil {
		return err
	}
	a.runMu.Lock()
	defer a.runMu.Unlock()
	for _, cl := range a.cfg.Clusters {
		if err := a.startRun(cl, a.cfg.Global, nil, &a.firstPasses); err != nil {
			return err
		}
	}
	a.log.Info("Serving", "addr", ln.Addr().String(), "clusters", len(a.cfg.Clusters))
	return nil
}

// startExports (re)starts the export targets if their configuration
// changed; targets whose configuration did not change keep their queues.
func (a *App) startExports(cfg []config.Export) error {
	key := fmt.Sprintf("%+v", cfg)
	a.exportMu.Lock()
	same := a.exportsStop != nil && key == a.exportConfig
	a.exportMu.Unlock()
	if same {
		return nil
	}
	var targets []*export.Target
	for i, e := range cfg {
		t, err := export.New(export.Options{Format: e.Format, Protocol: e.Protocol, Address: e.Address, URL: e.URL, Headers: e.Headers,
			Facility: e.Facility, MinSeverity: e.MinSeverity, Hostname: e.Hostname})
		if err != nil {
			return fmt.Errorf("exports[%d]: %w", i, err)
		}
		t.Name = fmt.Sprintf("exports[%d] %s", i, t.Name) // unique, as a metric label
		targets = append(targets, t)
	}
	a.stopExports()
	ctx, cancel := context.WithCancel(a.rootCtx)
	a.exportMu.Lock()
	defer a.exportMu.Unlock()
	a.exports, a.exportsStop, a.exportConfig = targets, cancel, key
	for _, t := range targets {
		a.exportsDone.Add(1)
		go func() {
			defer a.exportsDone.Done()
			t.Run(ctx, a.notes, a.log.With("component", "export"))
		}()
	}
	return nil
}

func (a *App) stopExports() {
	a.exportMu.Lock()
	stop := a.exportsStop
	a.exportsStop = nil
	a.exportMu.Unlock()
	if stop != nil {
		stop()
		a.exportsDone.Wait()
	}
}

// warmUp waits, before the first alarm evaluation, for every cluster's
// first discovery pass (at most a minute), then for d (two collection
// ticks), so that a restart of beamctl does not clear alarms of nodes it
// has not reconnected to yet, and raise them again a moment later.
func (a *App) warmUp(d time.Duration) {
	done := make(chan struct{})
	go func() { a.firstPasses.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
	case <-a.rootCtx.Done():
		return
	}
	select {
	case <-time.After(d):
	case <-a.rootCtx.Done():
	}
}

// builtinOverrides splits the configuration's built-in alarm overrides
// into those of the query rules and the on/off and for: of the others
// (computed from the model or from notifications), which have no window
// and no levels to set.
func builtinOverrides(cfg *config.Config) (query map[string]alarm.Override, off map[string]bool, fors map[string]time.Duration, err error) {
	query, off, fors = map[string]alarm.Override{}, map[string]bool{}, map[string]time.Duration{}
	for name, b := range cfg.Alarms.Builtin {
		if slices.Contains(modelRuleNames, name) || name == "mnesia_inconsistent" || name == "mnesia_overloaded" || name == "node_restart_loop" {
			if b.Window != nil && slices.Contains(modelRuleNames, name) {
				return nil, nil, nil, fmt.Errorf("alarms.builtin: %s has no window: it is not a rate or a growth", name)
			}
			if len(b.Levels) > 0 {
				return nil, nil, nil, fmt.Errorf("alarms.builtin: %s has no levels to set (its severity is fixed: docs/alarms.md)", name)
			}
			off[name] = b.Disabled
			if b.For != nil {
				fors[name] = time.Duration(*b.For)
			}
			continue
		}
		o := alarm.Override{Disabled: b.Disabled, Levels: map[alarm.Severity]float64{}}
		if b.For != nil {
			d := time.Duration(*b.For)
			o.For = &d
		}
		if b.Window != nil {
			w := time.Duration(*b.Window)
			o.Window = &w
		}
		for lvl, v := range b.Levels {
			o.Levels[alarm.Severity(lvl)] = v
		}
		query[name] = o
	}
	return query, off, fors, nil
}

// CheckConfig checks what the config package cannot alone: the
// collectors' names and the built-in alarms' overrides.
func CheckConfig(cfg *config.Config) error {
	if err := checkCollectors(cfg); err != nil {
		return err
	}
	overrides, _, _, err := builtinOverrides(cfg)
	if err != nil {
		return err
	}
	if _, err := alarm.BuiltinRules(nil, overrides); err != nil {
		return fmt.Errorf("alarms.builtin: %w", err)
	}
	return nil
}

// setAlarmRules builds the built-in and the user's alarm rules from the
// configuration and gives them to the engine.
func (a *App) setAlarmRules(cfg *config.Config) error {
	overrides, modelOff, modelFor, err := builtinOverrides(cfg)
	if err != nil {
		return err
	}
	rules, err := alarm.BuiltinRules(a.db, overrides)
	if err != nil {
		return fmt.Errorf("alarms.builtin: %w", err)
	}
	rules = append(rules, a.modelRules(modelOff, modelFor)...)
	for _, ur := range cfg.Alarms.Rules {
		text := ur.Description
		if text == "" {
			text = ur.Name + " on {{.Node}}: {{num .Value}}"
		}
		r := &alarm.QueryRule{RuleName: ur.Name, Expr: ur.Expr, Severity: alarm.Severity(ur.Severity), ForDur: time.Duration(ur.For),
			Text: text, Labels: ur.Labels, Annotations: ur.Annotations, Q: a.db}
		if err := r.Check(); err != nil {
			return fmt.Errorf("alarms.rules: %w", err)
		}
		if _, err := a.db.Query(context.Background(), ur.Expr, time.Now()); err != nil {
			return fmt.Errorf("alarms.rules: rule %s: %w", ur.Name, err)
		}
		rules = append(rules, r)
	}
	// Built-in event rules: restarts, and mnesia's own alarms from its
	// system events.
	for _, br := range []*alarm.EventRule{
		{RuleName: "node_restart_loop", Kind: "node_restarted", Count: 2, Window: 30 * time.Minute,
			Levels:      &alarm.Thresholds{Levels: []alarm.Level{{Severity: alarm.Minor, At: 2}, {Severity: alarm.Major, At: 3}, {Severity: alarm.Critical, At: 6}}},
			Description: "The node restarts in a loop"},
		{RuleName: "mnesia_inconsistent", Kind: "mnesia_inconsistent_database", Count: 1, Window: time.Hour, Severity: alarm.Critical,
			Description: "mnesia reports an inconsistent database (a partition healed with diverging tables)"},
		{RuleName: "mnesia_overloaded", Kind: "mnesia_overload", Count: 1, Window: 10 * time.Minute, Severity: alarm.Major,
			Description: "mnesia is overloaded (its transaction log dump falls behind)"},
	} {
		if b, ok := cfg.Alarms.Builtin[br.RuleName]; ok && b.Disabled {
			continue
		}
		if b, ok := cfg.Alarms.Builtin[br.RuleName]; ok && b.For != nil {
			br.ForDur = time.Duration(*b.For)
		}
		if b, ok := cfg.Alarms.Builtin[br.RuleName]; ok && b.Window != nil {
			br.Window = time.Duration(*b.Window)
		}
		br.N = a.notes.Store()
		rules = append(rules, br)
	}
	for _, er := range cfg.Alarms.EventRules {
		rules = append(rules, &alarm.EventRule{RuleName: er.Name, Kind: er.Kind, Grep: er.Grep, Count: er.Count, Window: time.Duration(er.Window),
			GroupBy: er.GroupBy, Severity: alarm.Severity(er.Severity), ForDur: time.Duration(er.For), Description: er.Description,
			N: a.notes.Store()})
	}
	a.alarms.SetRules(rules)
	return nil
}

// Evaluating reports whether the alarm engine has started evaluating
// rules (after the warm-up that follows a start).
func (a *App) Evaluating() bool { return a.evaluating.Load() }

// Alarms is the alarm engine (web.Model).
func (a *App) Alarms() *alarm.Engine { return a.alarms }

// setOptions are a cluster's collector settings.
func setOptions(cl config.Cluster, g config.Global) collector.SetOptions {
	o := collector.SetOptions{Overrides: map[string]collector.Override{}, Timeout: time.Duration(g.CollectTimeout),
		Interval: time.Duration(g.CollectInterval), FastInterval: time.Duration(g.FastInterval)}
	for name, cc := range cl.Collectors {
		o.Overrides[name] = collector.Override{Enabled: cc.Enabled, Interval: time.Duration(cc.Interval)}
	}
	return o
}

// checkCollectors reports a collector name no collector has.
func checkCollectors(cfg *config.Config) error {
	for _, cl := range cfg.Clusters {
		if _, err := collector.NewSet(nil, setOptions(cl, cfg.Global)); err != nil {
			return fmt.Errorf("cluster %q: %w", cl.Name, err)
		}
	}
	return nil
}

// startRun starts discovering and collecting a cluster, on pool or, when
// pool is nil, on a new one; firstPasses (if set) is told when its first
// discovery pass is over. The caller holds runMu.
func (a *App) startRun(cl config.Cluster, g config.Global, pool *dist.Pool, firstPasses *sync.WaitGroup) error {
	set, err := collector.NewSet(a.log.With("cluster", cl.Name), setOptions(cl, g))
	if err != nil {
		return fmt.Errorf("cluster %q: %w", cl.Name, err)
	}
	if pool == nil {
		o := dist.Options{Cookie: cl.Cookie, Logger: a.log.With("cluster", cl.Name)}
		if t := cl.TLS; t != nil {
			o.TLS, err = dist.LoadTLS(dist.TLSFiles{CertFile: t.CertFile, KeyFile: t.KeyFile, CAFile: t.CAFile,
				ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify})
			if err != nil {
				return fmt.Errorf("cluster %q: %w", cl.Name, err)
			}
		}
		pool = dist.NewPool(dist.PoolOptions{Options: o})
	}
	ctx, cancel := context.WithCancel(a.rootCtx)
	run := &clusterRun{cfg: cl, global: g, pool: pool, set: set, cancel: cancel, firstPasses: firstPasses}
	a.runs[cl.Name] = run
	run.wg.Add(2)
	go a.discover(ctx, run)
	go a.lifecycle(ctx, run)
	return nil
}

// stopRun stops a cluster's goroutines and, with closePool, its
// connections. The caller holds runMu.
func (a *App) stopRun(run *clusterRun, closePool bool) {
	run.cancel()
	run.wg.Wait()
	if closePool {
		_ = run.pool.Close()
	}
}

// Reload applies a new configuration. Clusters whose cookie did not change
// keep their connections: only their discovery and collection restart if
// their settings changed; removed clusters are disconnected; new ones
// start.
func (a *App) Reload(cfg *config.Config) error {
	if err := checkCollectors(cfg); err != nil {
		return err
	}
	if err := a.setAlarmRules(cfg); err != nil {
		return err
	}
	a.runMu.Lock()
	defer a.runMu.Unlock()
	old := a.runs
	a.runs = map[string]*clusterRun{}
	for _, cl := range cfg.Clusters {
		prev := old[cl.Name]
		delete(old, cl.Name)
		switch {
		case prev != nil && sameCluster(prev.cfg, cl) && prev.global == cfg.Global:
			a.runs[cl.Name] = prev // untouched
			continue
		case prev != nil && prev.cfg.Cookie == cl.Cookie && fmt.Sprint(prev.cfg.TLS) == fmt.Sprint(cl.TLS):
			a.stopRun(prev, false)
			if err := a.startRun(cl, cfg.Global, prev.pool, nil); err != nil {
				return err
			}
		default:
			if prev != nil {
				a.stopRun(prev, true)
			}
			if err := a.startRun(cl, cfg.Global, nil, nil); err != nil {
				return err
			}
		}
	}
	for _, run := range old { // clusters no longer configured
		a.stopRun(run, true)
	}
	if err := a.startExports(cfg.Exports); err != nil {
		return err
	}
	a.startDeliveries(cfg.Alarms)
	a.cfg = cfg
	a.log.Info("Configuration reloaded", "clusters", len(cfg.Clusters))
	return nil
}

// sameCluster reports whether two cluster configurations are equal.
func sameCluster(x, y config.Cluster) bool {
	epmd := func(e *config.EpmdScan) string {
		if e == nil {
			return ""
		}
		return fmt.Sprint(e.Hosts, e.NamePattern)
	}
	dns := func(d *config.DNSScan) string {
		if d == nil {
			return ""
		}
		return fmt.Sprint(d.Names, d.Type, d.NamePattern)
	}
	return x.Name == y.Name && x.Cookie == y.Cookie && fmt.Sprint(x.Nodes) == fmt.Sprint(y.Nodes) &&
		fmt.Sprint(x.Seeds) == fmt.Sprint(y.Seeds) && epmd(x.Epmd) == epmd(y.Epmd) && dns(x.DNS) == dns(y.DNS) &&
		fmt.Sprint(x.Collectors) == fmt.Sprint(y.Collectors) && // fmt prints maps sorted by key
		x.AgentEnabled() == y.AgentEnabled() && x.Family == y.Family && fmt.Sprint(x.TLS) == fmt.Sprint(y.TLS)
}

// reloadHandler serves POST /-/reload when the server knows its
// configuration file.
func (a *App) reloadHandler() http.Handler {
	if a.opts.ConfigFile == "" {
		return nil
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.ReloadFile(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, "Configuration reloaded.")
	})
}

// ReloadFile reads the configuration file again and applies it; an invalid
// file changes nothing.
func (a *App) ReloadFile() error {
	cfg, err := config.Load(a.opts.ConfigFile)
	if err != nil {
		return err
	}
	return a.Reload(cfg)
}

// Addr is the address the API listens on.
func (a *App) Addr() string { return a.ln.Addr().String() }

// Stop stops collecting, closes every connection and the store.
func (a *App) Stop() error {
	if a.cancel != nil {
		a.cancel()
	}
	var errs []error
	if a.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, a.srv.Shutdown(ctx))
		cancel()
	}
	a.runMu.Lock()
	for _, run := range a.runs {
		a.stopRun(run, true)
	}
	a.runs = map[string]*clusterRun{}
	a.runMu.Unlock()
	a.stopExports()
	if a.notesDone != nil {
		<-a.notesDone
	}
	a.stopDeliveries()
	if a.alarmsDone != nil {
		<-a.alarmsDone
	}
	errs = append(errs, a.db.Close(), a.notes.Store().Close(), a.alarms.Close())
	return errors.Join(errs...)
}

// discover finds the cluster's nodes now and every DiscoverInterval: the
// static list, the seeds, and every node a known node is connected to
// (repeated until nothing new turns up). Each new node gets a collector
// loop; nodes that vanish stay known (their state goes down).
func (a *App) discover(ctx context.Context, run *clusterRun) {
	defer run.wg.Done()
	cl, pool := run.cfg, run.pool
	known := map[string]bool{}
	tick := time.NewTicker(time.Duration(run.global.DiscoverInterval))
	defer tick.Stop()
	for {
		queue := append(append([]string{}, cl.Nodes...), cl.Seeds...)
		queue = append(queue, a.scanEpmd(ctx, cl, run.global)...)
		queue = append(queue, a.scanDNS(ctx, cl, run.global)...)
		crawled := map[string]bool{}
		for len(queue) > 0 {
			n := queue[0]
			queue = queue[1:]
			if !known[n] {
				known[n] = true
				run.wg.Add(2)
				go a.collect(ctx, run, n)
				go a.watch(ctx, run, n)
			}
			if crawled[n] {
				continue
			}
			crawled[n] = true
			cctx, cancel := context.WithTimeout(ctx, time.Duration(run.global.CollectTimeout))
			r, err := pool.Call(cctx, n, "erlang", "nodes")
			cancel()
			if err != nil {
				continue
			}
			peers, _ := etf.ToList(r)
			for _, p := range peers {
				if name, ok := p.(etf.Atom); ok && !crawled[string(name)] {
					queue = append(queue, string(name))
				}
			}
		}
		if run.firstPasses != nil {
			run.firstPass.Do(run.firstPasses.Done)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// scanEpmd lists the nodes registered in the configured hosts' epmd whose
// names match the pattern.
func (a *App) scanEpmd(ctx context.Context, cl config.Cluster, g config.Global) []string {
	if cl.Epmd == nil {
		return nil
	}
	return a.epmdNodes(ctx, cl.Name, cl.Epmd.Hosts, cl.Epmd.Pattern, g)
}

// scanDNS resolves the configured names to hosts and lists their nodes.
func (a *App) scanDNS(ctx context.Context, cl config.Cluster, g config.Global) []string {
	if cl.DNS == nil {
		return nil
	}
	var hosts []string
	for _, name := range cl.DNS.Names {
		dctx, cancel := context.WithTimeout(ctx, time.Duration(g.CollectTimeout))
		if cl.DNS.Type == "SRV" {
			_, srvs, err := net.DefaultResolver.LookupSRV(dctx, "", "", name)
			for _, s := range srvs {
				hosts = append(hosts, strings.TrimSuffix(s.Target, "."))
			}
			if err != nil {
				a.log.Warn("DNS lookup failed", "cluster", cl.Name, "name", name, "err", err)
			}
		} else {
			addrs, err := net.DefaultResolver.LookupHost(dctx, name)
			hosts = append(hosts, addrs...)
			if err != nil {
				a.log.Warn("DNS lookup failed", "cluster", cl.Name, "name", name, "err", err)
			}
		}
		cancel()
	}
	return a.epmdNodes(ctx, cl.Name, hosts, cl.DNS.Pattern, g)
}

// epmdNodes lists name@host for every name registered in the hosts' epmd
// that matches pattern. A host without epmd is logged and skipped.
func (a *App) epmdNodes(ctx context.Context, cluster string, hosts []string, pattern *regexp.Regexp, g config.Global) []string {
	var out []string
	for _, host := range hosts {
		sctx, cancel := context.WithTimeout(ctx, time.Duration(g.CollectTimeout))
		names, err := dist.Names(sctx, host, 0)
		cancel()
		if err != nil {
			a.log.Warn("Cannot list the nodes of a host", "cluster", cluster, "host", host, "err", err)
			continue
		}
		for _, n := range names {
			if pattern.MatchString(n.Name) {
				out = append(out, n.Name+"@"+host)
			}
		}
	}
	return out
}

// collect runs the collectors that are due on one node, every tick of the
// shortest collector interval, into the store.
func (a *App) collect(ctx context.Context, run *clusterRun, node string) {
	defer run.wg.Done()
	tick := time.NewTicker(run.set.Tick())
	defer tick.Stop()
	sched := run.set.NewSchedule()
	stale := &staleTracker{last: map[string]map[string][]store.Label{}}
	for {
		a.collectOnce(ctx, run, node, sched.Due(time.Now()), stale)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (a *App) collectOnce(ctx context.Context, run *clusterRun, node string, due []string, stale *staleTracker) {
	cluster, pool := run.cfg.Name, run.pool
	now := time.Now()
	base := []store.Label{{Name: "cluster", Value: cluster}, {Name: "node", Value: node}}
	up := 0.0
	var samples []store.Sample
	cctx, cancel := context.WithTimeout(ctx, time.Duration(run.global.CollectTimeout))
	defer cancel()
	conn, connErr := pool.Conn(cctx, node)
	if connErr == nil {
		up = 1
		var cc collector.Conn = conn
		if run.cfg.AgentEnabled() {
			if _, err := inspect.EnsureAgent(cctx, conn); err != nil {
				a.log.Warn("Cannot load beamctl_agent; its collectors report nothing", "cluster", cluster, "node", node, "err", err)
			} else {
				cc = collector.WithAgent(conn)
			}
		}
		collected := run.set.CollectOnly(cctx, cc, due)
		a.learn(cluster, node, run.cfg.Family, collected)
		a.mu.Lock()
		for _, s := range collected {
			a.metadata[s.Name] = web.Metadata{Type: s.Type.String(), Help: s.Help}
		}
		a.mu.Unlock()
		byCollector := map[string][][]store.Label{}
		succeeded := map[string]bool{}
		for _, s := range collected {
			lbls := append([]store.Label{{Name: "__name__", Value: s.Name}}, base...)
			for _, l := range s.Labels {
				lbls = append(lbls, store.Label{Name: l.Name, Value: l.Value})
			}
			samples = append(samples, store.Sample{Labels: lbls, Time: now, Value: s.Value})
			byCollector[s.Collector] = append(byCollector[s.Collector], lbls)
			if s.Name == "beamctl_collector_success" && s.Value == 1 {
				succeeded[s.Collector] = true
			}
		}
		for _, name := range due {
			if succeeded[name] { // a collector that failed (timed out) ends none of its series
				samples = append(samples, stale.update(name, byCollector[name], now)...)
			}
		}
	} else if !errors.Is(connErr, context.DeadlineExceeded) && !errors.Is(connErr, context.Canceled) {
		// The node is down or unreachable: its series end, as Prometheus
		// ends a failed target's. A round that only ran out of time (a
		// loaded node, a connection being set up) ends nothing.
		samples = append(samples, stale.all(now)...)
	}
	samples = append(samples, store.Sample{Labels: append([]store.Label{{Name: "__name__", Value: "beamctl_node_up"}}, base...), Time: now, Value: up})
	a.mu.Lock()
	var sm *capture.Sysmon
	if info := a.nodes[nodeKey{cluster, node}]; info != nil {
		sm = info.sysmon
	}
	a.mu.Unlock()
	if sm != nil && up == 1 {
		for event, v := range sm.Counts() {
			samples = append(samples, store.Sample{Labels: append([]store.Label{{Name: "__name__", Value: "erlang_vm_system_monitor_events_total"}},
				append(base, store.Label{Name: "event", Value: event})...), Time: now, Value: v})
		}
	}
	if err := a.db.Append(ctx, samples); err != nil {
		a.log.Error("Cannot store samples", "cluster", cluster, "node", node, "err", err)
		return
	}
	a.mu.Lock()
	info := a.info(cluster, node)
	info.lastCollect = now
	info.series[len(due) == len(run.set.Names())] = len(samples)
	a.mu.Unlock()
}

// staleTracker remembers the series each collector last wrote for one
// node, so that a series that disappears (a process no longer the longest
// queue, a peer disconnected, a deleted table) gets a staleness marker, as
// Prometheus writes when a series leaves a scrape, instead of lingering in
// queries for the five-minute lookback.
type staleTracker struct {
	last map[string]map[string][]store.Label // collector -> series key -> labels
}

func seriesKey(l []store.Label) string {
	var b strings.Builder
	for _, x := range l {
		b.WriteString(x.Name)
		b.WriteByte(0)
		b.WriteString(x.Value)
		b.WriteByte(0)
	}
	return b.String()
}

// update records what the collector wrote now and returns staleness
// markers for the series it wrote last time and not now.
func (st *staleTracker) update(collector string, series [][]store.Label, now time.Time) []store.Sample {
	cur := make(map[string][]store.Label, len(series))
	for _, l := range series {
		cur[seriesKey(l)] = l
	}
	var out []store.Sample
	for k, l := range st.last[collector] {
		if _, ok := cur[k]; !ok {
			out = append(out, store.Sample{Labels: l, Time: now, Value: store.StaleNaN})
		}
	}
	st.last[collector] = cur
	return out
}

// all marks every series stale (the node is gone) and forgets them.
func (st *staleTracker) all(now time.Time) []store.Sample {
	var out []store.Sample
	for c, series := range st.last {
		for _, l := range series {
			out = append(out, store.Sample{Labels: l, Time: now, Value: store.StaleNaN})
		}
		delete(st.last, c)
	}
	return out
}

// info returns the node's record, created on first use. The caller holds mu.
func (a *App) info(cluster, node string) *nodeInfo {
	k := nodeKey{cluster, node}
	if a.nodes[k] == nil {
		a.nodes[k] = &nodeInfo{series: map[bool]int{}}
	}
	return a.nodes[k]
}

// learn keeps what the JSON API shows of a node from its samples: OTP
// release, uptime and family (the configured one, else the release name
// and version).
func (a *App) learn(cluster, node, family string, samples []collector.Sample) {
	a.mu.Lock()
	info := a.info(cluster, node)
	ns := a.changes(cluster, node, info, samples)
	defer a.record(ns...) // after Unlock: it writes to disk
	defer a.mu.Unlock()
	if family != "" {
		info.family = family
	}
	for _, s := range samples {
		switch s.Name {
		case "erlang_vm_info":
			info.otpRelease = label(s, "otp_release")
		case "erlang_vm_uptime_seconds":
			info.uptime = s.Value
		case "erlang_vm_release_info":
			if family == "" {
				info.family = label(s, "release") + " " + label(s, "version")
			}
		}
	}
}

func label(s collector.Sample, name string) string {
	for _, l := range s.Labels {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

// selfMetrics serves beamctl's own metrics: Go runtime and process, and
// how many managed nodes are in each state.
func (a *App) selfMetrics() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(prometheus.CollectorFunc(a.describeNodes))
	reg.MustRegister(prometheus.CollectorFunc(a.describeNotifications))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

var nodesDesc = prometheus.NewDesc("beamctl_managed_nodes", "Managed nodes by cluster and connection state.", []string{"cluster", "state"}, nil)

func (a *App) describeNodes(ch chan<- prometheus.Metric) {
	counts := map[[2]string]float64{}
	for _, n := range a.Nodes() {
		counts[[2]string{n.Cluster, n.State}]++
	}
	for k, v := range counts {
		ch <- prometheus.MustNewConstMetric(nodesDesc, prometheus.GaugeValue, v, k[0], k[1])
	}
}

var (
	notesDesc   = prometheus.NewDesc("beamctl_notifications_total", "Notifications recorded or dropped by the rate limit, by cluster, node and kind.", []string{"cluster", "node", "kind", "result"}, nil)
	exportsDesc = prometheus.NewDesc("beamctl_export_notifications_total", "Notifications an export target sent, or dropped because its queue was full.", []string{"target", "result"}, nil)
	exportFails = prometheus.NewDesc("beamctl_export_failures_total", "Failed attempts to send a batch to an export target (each is retried).", []string{"target"}, nil)
	alarmsDesc  = prometheus.NewDesc("beamctl_alarms_active", "Active alarms by cluster, rule and severity.", []string{"cluster", "rule", "severity"}, nil)
	deliverDesc = prometheus.NewDesc("beamctl_alarm_deliveries_total", "Alarm deliveries by destination: sent, failed attempts (retried), dropped (queue full).", []string{"destination", "result"}, nil)
)

func (a *App) describeNotifications(ch chan<- prometheus.Metric) {
	for _, c := range a.notes.Counts() {
		ch <- prometheus.MustNewConstMetric(notesDesc, prometheus.CounterValue, float64(c.Recorded), c.Cluster, c.Node, c.Kind, "recorded")
		ch <- prometheus.MustNewConstMetric(notesDesc, prometheus.CounterValue, float64(c.Dropped), c.Cluster, c.Node, c.Kind, "dropped")
	}
	active := map[[3]string]float64{}
	for _, x := range a.alarms.Active() {
		active[[3]string{x.Cluster, x.Rule, string(x.Severity)}]++
	}
	for k, v := range active {
		ch <- prometheus.MustNewConstMetric(alarmsDesc, prometheus.GaugeValue, v, k[0], k[1], k[2])
	}
	a.deliveryMu.Lock()
	i := 0 // the notifier's index in the configuration
	for _, d := range a.deliveries {
		if d.am != nil {
			ch <- prometheus.MustNewConstMetric(deliverDesc, prometheus.CounterValue, float64(d.am.Sent.Load()), "alertmanager", "sent")
			ch <- prometheus.MustNewConstMetric(deliverDesc, prometheus.CounterValue, float64(d.am.Failed.Load()), "alertmanager", "failed")
			continue
		}
		n := d.hook
		dest := fmt.Sprintf("notifiers[%d] %s%s", i, n.URL, n.SMTP)
		i++
		ch <- prometheus.MustNewConstMetric(deliverDesc, prometheus.CounterValue, float64(n.Sent.Load()), dest, "sent")
		ch <- prometheus.MustNewConstMetric(deliverDesc, prometheus.CounterValue, float64(n.Failed.Load()), dest, "failed")
		ch <- prometheus.MustNewConstMetric(deliverDesc, prometheus.CounterValue, float64(n.Dropped.Load()), dest, "dropped")
	}
	a.deliveryMu.Unlock()
	a.exportMu.Lock()
	targets := a.exports
	a.exportMu.Unlock()
	for _, t := range targets {
		ch <- prometheus.MustNewConstMetric(exportsDesc, prometheus.CounterValue, float64(t.Sent.Load()), t.Name, "sent")
		ch <- prometheus.MustNewConstMetric(exportsDesc, prometheus.CounterValue, float64(t.Dropped.Load()), t.Name, "dropped")
		ch <- prometheus.MustNewConstMetric(exportFails, prometheus.CounterValue, float64(t.Failed.Load()), t.Name)
	}
}

// Query evaluates PromQL against the store (for the demo's live figures).
func (a *App) Query(ctx context.Context, q string) (*store.Result, error) {
	return a.db.Query(ctx, q, time.Now())
}

// Conn returns the live connection to a managed node (web.Model).
func (a *App) Conn(ctx context.Context, node string) (*dist.Conn, error) {
	a.runMu.Lock()
	var pool *dist.Pool
	for _, run := range a.runs {
		for _, st := range run.pool.Status() {
			if st.Node == node {
				pool = run.pool
			}
		}
	}
	a.runMu.Unlock()
	if pool == nil {
		return nil, fmt.Errorf("node %s is not managed by this server", node)
	}
	return pool.Conn(ctx, node)
}

// Recorder holds the notifications (web.Model).
func (a *App) Recorder() *journal.Recorder { return a.notes }

// Metadata returns the type and help of every metric family seen so far.
func (a *App) Metadata() map[string]web.Metadata {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]web.Metadata, len(a.metadata))
	for k, v := range a.metadata {
		out[k] = v
	}
	return out
}

// Nodes reports every known node with its connection state (web.Model).
func (a *App) Nodes() []web.Node {
	a.runMu.Lock()
	pools := map[string]*dist.Pool{}
	for name, run := range a.runs {
		pools[name] = run.pool
	}
	a.runMu.Unlock()
	var out []web.Node
	for cluster, pool := range pools {
		for _, st := range pool.Status() {
			n := web.Node{Cluster: cluster, Node: st.Node, State: st.State.String(), Since: st.Since}
			if st.Err != nil {
				n.LastError = st.Err.Error()
			}
			a.mu.Lock()
			if info := a.nodes[nodeKey{cluster, st.Node}]; info != nil {
				n.LastCollect, n.Series = info.lastCollect, info.series[true]
				n.Family, n.OTPRelease, n.UptimeSeconds = info.family, info.otpRelease, info.uptime
			}
			a.mu.Unlock()
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Cluster != out[j].Cluster {
			return out[i].Cluster < out[j].Cluster
		}
		return out[i].Node < out[j].Node
	})
	return out
}
