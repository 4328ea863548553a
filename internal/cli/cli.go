// Package cli implements the beamctl command line: a kingpin command tree
// whose commands talk to nodes directly over hidden distribution
// connections. Results go to stdout (as text or, with -o json, as JSON);
// diagnostics go to stderr.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/dist"
)

// Version is set at build time.
var Version = "dev"

// env carries what every command needs.
type env struct {
	stdout, stderr io.Writer
	logger         *slog.Logger
	g              *globals
	name           *dist.NameLock // beamctl's own node name, once taken
}

// globals are the flags every command shares.
type globals struct {
	cookie     string
	cookieFile string
	sname      string
	name       string
	tlsCert    string
	tlsKey     string
	tlsCA      string
	tlsInsec   bool
	timeout    time.Duration
	maxMsg     int
	output     string
	syntax     string // auto, erlang or elixir (output.go: elixir)
	logLevel   string
	server     string
	tokenFile  string
	auditFile  string
	noAgent    bool
}

// command is one registered CLI command.
type command interface {
	run(ctx context.Context, e *env) error
}

// untimed is a command that runs until interrupted (demo, --watch) instead
// of within --timeout.
type untimed interface {
	untimed() bool
}

// Run runs the command line args (without the program name) and returns the
// process exit code: 0 on success, 1 when the command failed, 2 for usage
// errors.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := kingpin.New("beamctl", "Operate and debug Erlang/Elixir (BEAM) clusters from a hidden node.")
	app.Version(Version)
	app.HelpFlag.Short('h')
	app.UsageWriter(stderr)
	app.ErrorWriter(stderr)
	// --help and --version end the program in kingpin; here they only
	// mark that nothing is to run (a command's --help still parses on).
	done := false
	app.Terminate(func(int) { done = true })

	g := &globals{}
	app.Flag("cookie", "Distribution cookie (default: $ERLANG_COOKIE, then ~/.erlang.cookie).").StringVar(&g.cookie)
	app.Flag("cookie-file", "Read the cookie from this file.").StringVar(&g.cookieFile)
	app.Flag("sname", "beamctl's own short node name (default: the first free of beamctl_<user>_0 to _15, in the style of the target).").StringVar(&g.sname)
	app.Flag("name", "beamctl's own long node name, e.g. ops@host.example.com.").StringVar(&g.name)
	app.Flag("tls.cert", "Client certificate (PEM) for TLS distribution (-proto_dist inet_tls).").StringVar(&g.tlsCert)
	app.Flag("tls.key", "Client key (PEM) for TLS distribution.").StringVar(&g.tlsKey)
	app.Flag("tls.ca", "CA certificate (PEM) that signed the nodes' certificates; enables TLS distribution.").StringVar(&g.tlsCA)
	app.Flag("tls.insecure", "Do not verify node certificates (testing only); enables TLS distribution.").BoolVar(&g.tlsInsec)
	app.Flag("timeout", "Deadline for the whole command.").Default("15s").DurationVar(&g.timeout)
	app.Flag("max-message-size", "Largest reply accepted from a node, in bytes.").Default("67108864").IntVar(&g.maxMsg)
	app.Flag("server", "Run pi, top, memory, alloc, ets and apps through a beamctl server at this URL (its connections and cookie) instead of connecting to the node; notifications always need it.").
		StringVar(&g.server)
	app.Flag("token-file", "API token for --server (a file only you may read; see beamctl token create).").StringVar(&g.tokenFile)
	app.Flag("audit.file", "Local audit log of the actions run over direct connections (eval, load, inspection tools, agent remove) "+
		"(default: $XDG_STATE_HOME/beamctl/audit.log, else ~/.local/state/beamctl/audit.log).").StringVar(&g.auditFile)
	app.Flag("no-agent", "Never load beamctl_agent on the node: top scans with erl_eval, and the tools that need the agent (alloc, ets, leaks, stat, load --force's listing) refuse.").
		BoolVar(&g.noAgent)
	app.Flag("output", "Output format: table or json.").Short('o').Default("table").EnumVar(&g.output, "table", "json")
	app.Flag("syntax", "How names, MFAs and terms print in tables: erlang, elixir, or auto (Elixir's when what is shown runs Elixir code, "+
		"e.g. a process of an Elixir module or an rpc to one).").Default("auto").EnumVar(&g.syntax, "auto", "erlang", "elixir")
	app.Flag("log.level", "Log level for diagnostics on stderr: debug, info, warn, error.").Default("warn").
		EnumVar(&g.logLevel, "debug", "info", "warn", "error")

	commands := map[string]command{}
	register := func(name string, c command) { commands[name] = c }
	registerPing(app, register)
	registerRPC(app, register)
	registerNodes(app, register)
	registerDemo(app, register)
	registerPI(app, register)
	registerMemory(app, register)
	registerTop(app, register)
	registerAgent(app, register)
	registerEval(app, register)
	registerApps(app, register)
	registerETS(app, register)
	registerMsacc(app, register)
	registerStat(app, register)
	registerLoad(app, register)
	registerLeaks(app, register)
	registerAlloc(app, register)
	registerSuptree(app, register)
	registerMetrics(app, register)
	registerServe(app, register)
	registerNotifications(app, register)
	registerAlarms(app, register)
	registerToken(app, register)
	registerDeploy(app, register)
	registerHashPassword(app, register)
	registerAudit(app, register)
	registerProducts(app, register)

	selected, err := app.Parse(normalizeArgs(args))
	if err != nil {
		fmt.Fprintf(stderr, "beamctl: %v\n", err)
		fmt.Fprintln(stderr, "Run 'beamctl --help' for usage.")
		return 2
	}
	if selected == "" || done { // --help or --version was handled
		return 0
	}
	e := &env{stdout: stdout, stderr: stderr, g: g, logger: newLogger(stderr, g.logLevel)}
	defer e.release()
	timeout := g.timeout
	if x, ok := commands[selected].(interface{ extraTime() time.Duration }); ok {
		timeout += x.extraTime() // e.g. msacc's --duration
	}
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	if u, ok := commands[selected].(untimed); ok && u.untimed() {
		// It runs until interrupted; it bounds each of its steps itself.
		cancel()
		runCtx, cancel = context.WithCancel(ctx)
	}
	defer cancel()
	ctx = runCtx
	if err := commands[selected].run(ctx, e); err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			err = fmt.Errorf("%w (the command's --timeout is %s)", err, g.timeout)
		}
		fmt.Fprintf(stderr, "beamctl %s: %v\n", selected, err)
		return 1
	}
	return 0
}

// normalizeArgs accepts erl's single-dash spellings (-sname, -name,
// -setcookie) so that muscle memory from erl works.
func normalizeArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for _, a := range args {
		switch {
		case a == "-sname" || a == "-name":
			a = "-" + a
		case a == "-setcookie":
			a = "--cookie"
		case strings.HasPrefix(a, "-sname=") || strings.HasPrefix(a, "-name="):
			a = "-" + a
		}
		out = append(out, a)
	}
	return out
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// osGetenv is replaced in tests.
var osGetenv = os.Getenv
