package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"

	"github.com/beamctl/beamctl/internal/app"
	"github.com/beamctl/beamctl/internal/auth"
	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/store"
	"github.com/beamctl/beamctl/internal/web"
)

type serveCmd struct {
	configFile, storagePath, listen string
	webConfigFile, externalURL      string
	noAuth                          bool
	retention                       promDuration
	retentionSize                   units.Base2Bytes
	notesRetention                  promDuration
	notesRetentionSize              units.Base2Bytes
	auditRetention                  promDuration
	http                            web.Limits
}

// promDuration is a flag written as Prometheus writes durations (15d, 6h).
type promDuration model.Duration

func (d *promDuration) Set(s string) error {
	v, err := model.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration (e.g. 15d, 12h)", s)
	}
	*d = promDuration(v)
	return nil
}

func (d *promDuration) String() string { return model.Duration(*d).String() }

func registerServe(kapp *kingpin.Application, register func(string, command)) {
	c := &serveCmd{}
	cmd := kapp.Command("serve", "Run the O&M server: discover the configured clusters, collect every node into the "+
		"embedded time-series store, and serve the Prometheus-compatible query API.")
	cmd.Flag("config.file", "YAML configuration (see docs/serve.md).").Required().StringVar(&c.configFile)
	cmd.Flag("storage.path", "Data directory of the time-series store.").Default("data").StringVar(&c.storagePath)
	cmd.Flag("storage.retention.time", "How long samples are kept.").Default("15d").SetValue(&c.retention)
	cmd.Flag("storage.retention.size", "Most bytes the store's blocks may take on disk (e.g. 512MB, 10GB; 0: no bound). "+
		"The oldest blocks go first; the WAL and the newest two hours are not counted.").Default("0").BytesVar(&c.retentionSize)
	cmd.Flag("notifications.retention.time", "How long notifications are kept.").Default("90d").SetValue(&c.notesRetention)
	cmd.Flag("notifications.retention.size", "Most bytes the notification database may take (e.g. 1GB; 0: no bound); the oldest go first.").
		Default("0").BytesVar(&c.notesRetentionSize)
	cmd.Flag("audit.retention.time", "How long audit records are kept (0: for ever); each pruning leaves a checkpoint record in the log.").
		Default("365d").SetValue(&c.auditRetention)
	cmd.Flag("web.listen-address", "Address of the HTTP API.").Default("127.0.0.1:9464").StringVar(&c.listen)
	cmd.Flag("web.config.file", "Web configuration in the Prometheus exporter-toolkit format: tls_server_config and "+
		"basic_auth_users (bcrypt hashes); roles come from the web block of --config.file (see docs/serve.md).").StringVar(&c.webConfigFile)
	cmd.Flag("web.no-auth", "Serve a non-loopback --web.listen-address without authentication: anyone who reaches it is admin.").
		BoolVar(&c.noAuth)
	cmd.Flag("web.external-url", "The URL users reach the API at (e.g. https://beamctl.example.com): its host is accepted "+
		"in Host headers (others but loopback are refused) and its origin is trusted.").StringVar(&c.externalURL)
	registerHTTPLimits(cmd, &c.http)
	register(cmd.FullCommand(), c)

	cc := &checkConfigCmd{}
	check := kapp.Command("check", "Check files without running anything.")
	cfg := check.Command("config", "Validate a beamctl serve configuration file.")
	cfg.Arg("file", "Configuration file.").Required().StringVar(&cc.file)
	register(cfg.FullCommand(), cc)
	wc := &checkWebConfigCmd{}
	web := check.Command("web-config", "Validate a --web.config.file (exporter-toolkit format: TLS files, bcrypt hashes).")
	web.Arg("file", "Web configuration file.").Required().StringVar(&wc.file)
	register(web.FullCommand(), wc)
	registerRuleCommands(kapp, check, register)
}

type checkWebConfigCmd struct {
	file string
}

func (c *checkWebConfigCmd) run(_ context.Context, e *env) error {
	cfg, err := auth.LoadWebConfig(c.file)
	if err != nil {
		return err
	}
	if _, err := auth.ServerTLS(c.file, true); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: OK (TLS %v, %d users)\n", c.file, cfg.TLSConfig.IsEnabled(), len(cfg.Users))
	return nil
}

// registerHTTPLimits declares the flags of the HTTP API's limits
// (docs/security.md).
func registerHTTPLimits(cmd *kingpin.CmdClause, l *web.Limits) {
	d := web.DefaultLimits()
	n := func(v int) string { return strconv.Itoa(v) }
	cmd.Flag("query.max-concurrency", "Most queries (query, query_range, series, labels, label values, federate) running at once; "+
		"others wait up to 5s, then get 503.").Default(n(d.MaxQueries)).SetValue(positive{"query.max-concurrency", &l.MaxQueries})
	cmd.Flag("query.max-series", "Most entries in a series, labels or label values answer; more is an error (pass limit= to truncate).").
		Default(n(d.MaxSeries)).SetValue(positive{"query.max-series", &l.MaxSeries})
	cmd.Flag("web.max-inspections", "Most inspection calls (GET /api/v1/nodes/{node}/{tool}) running at once; more get 503.").
		Default(n(d.MaxInspections)).SetValue(positive{"web.max-inspections", &l.MaxInspections})
	cmd.Flag("web.max-inspections-per-node", "Most inspection calls running at once on one node; more get 429.").
		Default(n(d.MaxInspectionsPerNode)).SetValue(positive{"web.max-inspections-per-node", &l.MaxInspectionsPerNode})
	cmd.Flag("web.max-streams", "Most notification streams (server-sent events) open at once; more get 503.").
		Default(n(d.MaxStreams)).SetValue(positive{"web.max-streams", &l.MaxStreams})
}

// positive is an int flag that must be 1 or more.
type positive struct {
	name string
	v    *int
}

func (p positive) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return fmt.Errorf("--%s must be a whole number of 1 or more, not %q", p.name, s)
	}
	*p.v = n
	return nil
}

func (p positive) String() string {
	if p.v == nil {
		return ""
	}
	return strconv.Itoa(*p.v)
}

func (c *serveCmd) untimed() bool { return true }

func (c *serveCmd) run(ctx context.Context, e *env) error {
	cfg, err := config.Load(c.configFile)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		e.logger.Warn("Unsafe configuration", "file", c.configFile, "warning", w)
	}
	if c.retention <= 0 {
		return errors.New("--storage.retention.time must be positive")
	}
	if c.notesRetention <= 0 {
		return errors.New("--notifications.retention.time must be positive")
	}
	so := store.DefaultOptions()
	so.Retention, so.MaxBytes = time.Duration(c.retention), int64(c.retentionSize)
	a, err := app.New(app.Options{Config: cfg, ConfigFile: c.configFile, StoragePath: c.storagePath, Store: so,
		Notifications:  journal.Options{MaxAge: time.Duration(c.notesRetention), MaxBytes: int64(c.notesRetentionSize)},
		AuditRetention: time.Duration(c.auditRetention), Listen: c.listen, Logger: e.logger,
		WebConfigFile: c.webConfigFile, NoAuth: c.noAuth, ExternalURL: c.externalURL, HTTP: c.http, Version: Version})
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		_ = a.Stop()
		return err
	}
	fmt.Fprintf(e.stdout, "beamctl serve: API on %s://%s (Prometheus data source URL), store in %s\n", a.Scheme(), a.Addr(), c.storagePath)
	// SIGHUP reloads the configuration, as POST /-/reload does.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return a.Stop()
		case <-hup:
			if err := a.ReloadFile(); err != nil {
				e.logger.Error("Reload failed; the previous configuration stays", "err", err)
			}
		}
	}
}

type checkConfigCmd struct {
	file string
}

func (c *checkConfigCmd) run(_ context.Context, e *env) error {
	cfg, err := config.Load(c.file)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		e.logger.Warn("Unsafe configuration", "file", c.file, "warning", w)
	}
	if err := app.CheckConfig(cfg); err != nil {
		return fmt.Errorf("config %s: %w", c.file, err)
	}
	nodes := 0
	for _, cl := range cfg.Clusters {
		nodes += len(cl.Nodes) + len(cl.Seeds)
	}
	fmt.Fprintf(e.stdout, "%s: OK (%d clusters, %d nodes or seeds)\n", c.file, len(cfg.Clusters), nodes)
	return nil
}
