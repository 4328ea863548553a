// Package app is the lifecycle of beamctl serve: it discovers the nodes of
// every configured cluster, keeps one hidden connection per node (through a
// dist.Pool per cluster), collects every node on an interval into the
// store, and serves the HTTP API. It never touches OS signals, so tests run
// it in-process: New, Start, Stop.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/beamctl/beamctl/internal/alarm"
	"github.com/beamctl/beamctl/internal/auth"
	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/deploy"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/export"
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
	// AuditRetention is how long audit records are kept (0: for ever);
	// pruning leaves a checkpoint record.
	AuditRetention time.Duration
	Listen         string // e.g. 127.0.0.1:9464; port 0 picks a free one
	Logger         *slog.Logger
	// WebConfigFile (--web.config.file) is the exporter-toolkit web
	// configuration: TLS and basic_auth_users (empty: none).
	WebConfigFile string
	// NoAuth (--web.no-auth) allows serving a non-loopback address
	// without users: every request is then an admin.
	NoAuth bool
	// ExternalURL (--web.external-url) is the URL users reach the API at.
	ExternalURL string
	// Version is beamctl's, for GET /api/v1/status/buildinfo.
	Version string
	// Auditor records the API's actions (nil: the server's audit trail,
	// <storage.path>/audit).
	Auditor web.Auditor
	// HTTP bounds the API's timeouts, concurrency and result sizes; zero
	// fields take web.DefaultLimits.
	HTTP web.Limits
}

// App is a running (or stopped) server.
type App struct {
	opts    Options
	log     *slog.Logger
	reg     *prometheus.Registry // beamctl's own metrics (/metrics)
	db      *store.DB
	notes   *journal.Recorder
	audit   *auditTrail
	srv     *http.Server
	ln      net.Listener
	tokens  *auth.Tokens // the API tokens (closed by Stop)
	tls     bool         // the API is served over TLS
	rootCtx context.Context
	cancel  context.CancelFunc
	name    *dist.NameLock // the server's node name (cluster.go), held from Start to Stop

	notesDone chan struct{} // closed when the recorder's loop ends

	alarms      *alarm.Engine
	deploys     *deploy.Manager // slow-roll deploys (deploy.go)
	rounds      rounds          // collection rounds on time (rounds.go)
	alarmsDone  chan struct{}
	warmed      chan struct{}  // closed when the warm-up is over: nodes known, alarms evaluated
	auditDone   chan struct{}  // closed when the audit retention loop ends
	evaluating  atomic.Bool    // the alarm engine runs (the warm-up is over)
	firstPasses sync.WaitGroup // the clusters' first discovery passes at Start
	deliveryMu  sync.Mutex
	deliveries  []*delivery // alarm destinations

	exportMu     sync.Mutex // guards exports and exportsStop
	exports      []*export.Target
	exportsStop  context.CancelFunc
	exportsDone  sync.WaitGroup
	exportConfig string // the exports' configuration, to see a reload change it

	stopOnce sync.Once
	stopErr  error

	runMu sync.Mutex // guards cfg and runs (Start, Reload, Stop)
	cfg   *config.Config
	runs  map[string]*clusterRun

	captureCfg atomic.Pointer[config.CaptureSettings] // cfg.Capture, read by the watchers without runMu

	mu       sync.Mutex // guards nodes, leaving and metadata
	nodes    map[nodeKey]*nodeInfo
	leaving  map[nodeKey]bool // nodes being forgotten
	metadata map[string]web.Metadata
}

// New opens the stores and builds the alarm rules; nothing runs before
// Start.
func New(o Options) (_ *App, err error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Config == nil {
		return nil, errors.New("no configuration")
	}
	if err := checkCollectors(o.Config); err != nil {
		return nil, err
	}
	var closers []func() error // what is open, closed again on error
	defer func() {
		for i := len(closers) - 1; err != nil && i >= 0; i-- {
			_ = closers[i]()
		}
	}()
	a := &App{opts: o, log: o.Logger, reg: prometheus.NewRegistry(), cfg: o.Config, runs: map[string]*clusterRun{},
		nodes: map[nodeKey]*nodeInfo{}, leaving: map[nodeKey]bool{}, metadata: map[string]web.Metadata{
			"beamctl_node_up": {Type: "gauge", Help: "Whether beamctl is connected to the node (1) or not (0)."},
			"beamctl_code_loads_total": {Type: "counter",
				Help: "New code (modules loaded or changed) found on the node since beamctl started, by where it came from: code_path (routine), outside_code_path, differs_from_file, no_file, not_a_file."},
			"erlang_vm_system_monitor_events_total": {Type: "counter",
				Help: "system_monitor events (long_gc, long_schedule, large_heap, busy_port, busy_dist_port, and busy_dist_port_to_beamctl: on beamctl's own connection) since beamctl's monitor started on the node."},
		}}
	a.captureCfg.Store(&o.Config.Capture)
	if a.db, err = store.Open(o.StoragePath, o.Logger.With("component", "store"), a.reg, o.Store); err != nil {
		return nil, err
	}
	closers = append(closers, a.db.Close)
	ns, err := journal.Open(filepath.Join(o.StoragePath, "notifications"), o.Notifications)
	if err != nil {
		return nil, err
	}
	closers = append(closers, ns.Close)
	a.notes = journal.NewRecorder(ns, o.Logger.With("component", "notifications"), journal.RecorderOptions{})
	a.alarms, err = alarm.Open(context.Background(), alarm.Options{Dir: filepath.Join(o.StoragePath, "alarms"),
		Logger: o.Logger.With("component", "alarms")})
	if err != nil {
		return nil, err
	}
	closers = append(closers, a.alarms.Close)
	if a.audit, err = a.openAudit(); err != nil {
		return nil, err
	}
	closers = append(closers, a.audit.close)
	if a.deploys, err = a.openDeploys(); err != nil {
		return nil, err
	}
	closers = append(closers, a.deploys.Close)
	if err := a.setAlarmRules(o.Config); err != nil {
		return nil, err
	}
	return a, nil
}

// Start builds the clusters' runs and the exports (a TLS file that is no
// certificate fails here, before anything runs), listens, then discovers,
// collects, evaluates alarms and exports in the background.
func (a *App) Start(ctx context.Context) (err error) {
	if err := a.lockName(ctx); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = a.name.Release()
		}
	}()
	a.runMu.Lock()
	steps, err := a.planRuns(a.cfg)
	a.runMu.Unlock() // not held while the self-metrics register: they read the runs
	if err != nil {
		return err
	}
	exports, err := a.buildExports(a.cfg.Exports)
	if err == nil {
		err = a.serveHTTP()
	}
	if err != nil {
		discardSteps(steps)
		return err
	}
	a.rootCtx, a.cancel = context.WithCancel(context.WithoutCancel(ctx))
	a.firstPasses.Add(len(steps)) // before warmUp waits on it
	a.startNotesAndAlarms()
	a.startAuditRetention()
	a.runExports(exports)
	a.deploys.Run(a.rootCtx, a.warmed) // resumes the deploys a stop interrupted
	a.runMu.Lock()
	defer a.runMu.Unlock()
	for _, s := range steps {
		a.launch(s.next, &a.firstPasses)
	}
	a.log.Info("Serving", "addr", a.Addr(), "clusters", len(steps))
	return nil
}

// serveHTTP listens and serves the API in the background, with the
// security of the web configuration (docs/security.md). It refuses a
// non-loopback address without users unless NoAuth says so.
func (a *App) serveHTTP() (err error) {
	sec, tlsCfg, err := a.webSecurity()
	if err != nil {
		return err
	}
	if sec.Tokens, err = auth.OpenTokens(a.opts.StoragePath); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = sec.Tokens.Close()
		}
	}()
	ln, err := net.Listen("tcp", a.opts.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.opts.Listen, err)
	}
	a.ln, a.tokens, a.tls = ln, sec.Tokens, tlsCfg != nil
	lim := a.opts.HTTP.WithDefaults()
	streamsDone := make(chan struct{}) // closed by Shutdown, which would wait for the streams
	a.srv = &http.Server{Handler: web.New(a.db, webModel{a}, a.selfMetrics(), a.reloadHandler(), a.log,
		web.WithSecurity(sec), web.WithLimits(lim, a.reg), web.WithStreamsDone(streamsDone), web.WithBuildInfo(a.opts.Version), web.WithUIConfig(a.uiConfig), web.WithDeploys(a.deploys)),
		ReadHeaderTimeout: lim.ReadHeaderTimeout, ReadTimeout: lim.ReadTimeout, WriteTimeout: lim.WriteTimeout, IdleTimeout: lim.IdleTimeout,
		TLSConfig: tlsCfg}
	a.srv.RegisterOnShutdown(func() { close(streamsDone) })
	go func() {
		serve := a.srv.Serve
		if tlsCfg != nil {
			serve = func(ln net.Listener) error { return a.srv.ServeTLS(ln, "", "") }
		}
		if err := serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("HTTP server stopped", "err", err)
		}
	}()
	return nil
}

// webSecurity reads the web configuration and the flags into the API's
// Security (without tokens) and its TLS configuration (nil: plain HTTP).
func (a *App) webSecurity() (web.Security, *tls.Config, error) {
	o := a.opts
	sec := web.Security{NoAuth: o.NoAuth, Auditor: o.Auditor, Registerer: a.reg}
	if sec.Auditor == nil {
		sec.Auditor = a.webAuditor()
	}
	if o.ExternalURL != "" {
		u, err := url.Parse(o.ExternalURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return sec, nil, fmt.Errorf("--web.external-url %q is not an http(s) URL such as https://beamctl.example.com", o.ExternalURL)
		}
		sec.ExternalURL = u
	}
	var tlsCfg *tls.Config
	if o.WebConfigFile != "" {
		users, err := auth.NewUsers(o.WebConfigFile, a.webRoles)
		if err != nil {
			return sec, nil, err
		}
		names := users.Names()
		if len(names) > 0 {
			sec.Users = users
		}
		a.runMu.Lock()
		roles := a.cfg.Web.Roles
		a.runMu.Unlock()
		for u := range roles {
			if !slices.Contains(names, u) {
				a.log.Warn("web.roles names a user that the web configuration does not have", "user", u, "file", o.WebConfigFile)
			}
		}
		if tlsCfg, err = auth.ServerTLS(o.WebConfigFile, true); err != nil {
			return sec, nil, err
		}
		sec.TLS = tlsCfg != nil
	}
	switch {
	case sec.Users != nil && o.NoAuth:
		return sec, nil, fmt.Errorf("--web.no-auth contradicts the basic_auth_users of %s: give one or the other", o.WebConfigFile)
	case sec.Users == nil && !o.NoAuth && !loopbackAddress(o.Listen):
		return sec, nil, fmt.Errorf("refusing to serve %s (not a loopback address) without authentication: give --web.config.file "+
			"with basic_auth_users, or pass --web.no-auth to let anyone who reaches it act as admin", o.Listen)
	case o.NoAuth:
		a.log.Warn("Serving without authentication (--web.no-auth): every request may do anything, as admin", "addr", o.Listen)
	case sec.Users == nil:
		a.log.Info("No users (--web.config.file): loopback clients are admin \"anonymous@loopback\", others are refused", "addr", o.Listen)
	}
	return sec, tlsCfg, nil
}

// webRoles are the current configuration's web.roles.
func (a *App) webRoles() map[string]auth.Role {
	a.runMu.Lock()
	defer a.runMu.Unlock()
	out := make(map[string]auth.Role, len(a.cfg.Web.Roles))
	for u, r := range a.cfg.Web.Roles {
		if role, err := auth.ParseRole(r); err == nil { // config checked it
			out[u] = role
		}
	}
	return out
}

// loopbackAddress reports whether a listen address binds loopback only
// (127.0.0.0/8, ::1 or localhost; an empty host binds every address).
func loopbackAddress(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Scheme is the API's URL scheme: https when the web configuration has TLS.
func (a *App) Scheme() string {
	if a.tls {
		return "https"
	}
	return "http"
}

// startNotesAndAlarms starts the notification recorder's loop, the alarm
// destinations, and the alarm engine after its warm-up.
func (a *App) startNotesAndAlarms() {
	a.notesDone = make(chan struct{})
	go func() {
		defer close(a.notesDone)
		a.notes.Run(a.rootCtx, 10*time.Second)
	}()
	a.startDeliveries(a.cfg.Alarms)
	a.alarmsDone, a.warmed = make(chan struct{}), make(chan struct{})
	interval := time.Duration(a.cfg.Alarms.Interval)
	warm := 2*time.Duration(a.cfg.Global.FastInterval) + time.Duration(a.cfg.Global.CollectTimeout)
	go func() {
		defer close(a.alarmsDone)
		a.warmUp(warm)
		a.evaluating.Store(true)
		close(a.warmed)
		a.alarms.Run(a.rootCtx, interval)
	}()
}

// Addr is the address the API listens on.
func (a *App) Addr() string { return a.ln.Addr().String() }

// Stop stops collecting, closes every connection and the store. Later
// calls do nothing and return the first call's result.
func (a *App) Stop() error {
	a.stopOnce.Do(func() { a.stopErr = a.stop() })
	return a.stopErr
}

func (a *App) stop() error {
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
	if a.auditDone != nil {
		<-a.auditDone
	}
	errs = append(errs, a.deploys.Close(), a.db.Close(), a.notes.Store().Close(), a.alarms.Close(), a.audit.close(), a.name.Release())
	if a.tokens != nil {
		errs = append(errs, a.tokens.Close())
	}
	return errors.Join(errs...)
}
