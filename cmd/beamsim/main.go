// Command beamsim plays many Erlang/OTP 25 nodes in one process for
// benchmarks and tests of beamctl (internal/sim), and records the replies
// they give from a real node. See docs/scale.md.
//
//	beamsim run --nodes 1000 --cookie-file F [--epmd-port P] [--recording R] [--config serve.yml]
//	beamsim record --node NAME --cookie-file F --out internal/sim/testdata/otp25.rec
//
// It is a separate command, not a beamctl subcommand: it is a test tool,
// and it keeps out of the shipped binary's command tree and its docs.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/sim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := kingpin.New("beamsim", "Simulated Erlang/OTP 25 nodes for benchmarks and tests of beamctl.")
	app.UsageWriter(stderr)
	app.ErrorWriter(stderr)
	verbose := app.Flag("verbose", "Log debug messages to stderr.").Bool()

	runCmd := app.Command("run", "Run simulated nodes until interrupted.").Default()
	var ro runOptions
	runCmd.Flag("nodes", "Number of simulated nodes.").Default("100").IntVar(&ro.count)
	runCmd.Flag("epmd-port", "Port of the simulator's EPMD (0: any free port).").Default("0").IntVar(&ro.epmdPort)
	runCmd.Flag("host", "Host part of the node names, and the address to listen on.").Default("127.0.0.1").StringVar(&ro.host)
	runCmd.Flag("prefix", "Nodes are named <prefix><N>@<host>.").Default("sim").StringVar(&ro.prefix)
	runCmd.Flag("cookie-file", "File holding the nodes' cookie.").Required().StringVar(&ro.cookieFile)
	runCmd.Flag("recording", "Recording to replay.").Default("internal/sim/testdata/otp25.rec").StringVar(&ro.recPath)
	runCmd.Flag("config", "Write a beamctl serve configuration listing the nodes to this file.").StringVar(&ro.cfgOut)
	runCmd.Flag("metrics-listen", "Serve each node's Prometheus page at /metrics/<N> on this address (for the Prometheus anchor of the scale curve; stdout's second line is METRICS_ADDR=host:port).").StringVar(&ro.metricsListen)
	runCmd.Flag("exposition", "Template of the nodes' Prometheus page.").Default("internal/sim/" + sim.ExpositionFile).StringVar(&ro.exposition)
	runCmd.Flag("latency", "Answer every call this much later (a loaded or distant node).").Default("0s").DurationVar(&ro.latency)
	runCmd.Flag("jitter", "Add up to this much, at random, to each call's latency.").Default("0s").DurationVar(&ro.jitter)
	runCmd.Flag("dead", "This many nodes (the last ones) are listed in --config but dead: not in the EPMD, their ports closed.").Default("0").IntVar(&ro.dead)
	runCmd.Flag("drop-every", "Every this often, close the connections of one node chosen at random (a network fault; it accepts the reconnection).").Default("0s").DurationVar(&ro.dropEvery)
	runCmd.Flag("prom-sd", "Write a Prometheus file_sd file listing every node's page to this file (needs --metrics-listen).").StringVar(&ro.promSD)

	recCmd := app.Command("record", "Record a real node's replies to beamctl serve's calls.")
	node := recCmd.Flag("node", "The real node (alive@host), registered in the EPMD on port 4369.").Required().String()
	recCookie := recCmd.Flag("cookie-file", "File holding the node's cookie.").Required().String()
	out := recCmd.Flag("out", "Recording file to write.").Default("internal/sim/testdata/otp25.rec").String()
	dur := recCmd.Flag("duration", "How long serve runs against the node.").Default("15s").Duration()

	cmd, err := app.Parse(args)
	if err != nil {
		fmt.Fprintln(stderr, "beamsim:", err)
		return 2
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	switch cmd {
	case runCmd.FullCommand():
		err = runNodes(ctx, stdout, logger, ro)
	case recCmd.FullCommand():
		err = record(ctx, stdout, logger, *node, *recCookie, *out, *dur)
	}
	if err != nil {
		fmt.Fprintln(stderr, "beamsim:", err)
		return 1
	}
	return 0
}

func readCookie(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	c := strings.TrimSpace(string(b))
	if c == "" {
		return "", fmt.Errorf("cookie file %s is empty", path)
	}
	return c, nil
}

// runOptions are the flags of beamsim run.
type runOptions struct {
	count, epmdPort                           int
	host, prefix, cookieFile, recPath, cfgOut string
	metricsListen, exposition, promSD         string
	latency, jitter, dropEvery                time.Duration
	dead                                      int
}

func runNodes(ctx context.Context, stdout io.Writer, logger *slog.Logger, o runOptions) error {
	count, host, prefix, cfgOut := o.count, o.host, o.prefix, o.cfgOut
	if o.dead < 0 || o.dead >= count {
		return fmt.Errorf("--dead %d: must leave at least one of the %d nodes alive", o.dead, count)
	}
	if o.promSD != "" && o.metricsListen == "" {
		return errors.New("--prom-sd needs --metrics-listen")
	}
	cookie, err := readCookie(o.cookieFile)
	if err != nil {
		return err
	}
	rec, err := sim.ReadRecording(o.recPath)
	if err != nil {
		return err
	}
	replay, err := sim.NewReplay(rec)
	if err != nil {
		return err
	}
	srv, err := sim.Listen(sim.Options{Host: host, EpmdPort: o.epmdPort, Cookie: cookie, Logger: logger})
	if err != nil {
		return err
	}
	defer srv.Close()
	names := make([]string, 0, count)
	for i := 1; i <= count; i++ {
		var backend sim.Backend = replay
		if o.latency > 0 || o.jitter > 0 {
			backend = sim.Slow{Backend: replay, Latency: o.latency, Jitter: o.jitter}
		}
		n, err := srv.AddNode(prefix+strconv.Itoa(i), backend)
		if err != nil {
			return err
		}
		names = append(names, string(n.Name))
	}
	if cfgOut != "" {
		abs, err := filepath.Abs(o.cookieFile)
		if err != nil {
			return err
		}
		var b strings.Builder
		fmt.Fprintf(&b, "clusters:\n  - name: sim\n    cookie_file: %s\n    nodes:\n", strconv.Quote(abs))
		for _, n := range names {
			fmt.Fprintf(&b, "      - %s\n", n)
		}
		if err := os.WriteFile(cfgOut, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	for i := count - o.dead + 1; i <= count; i++ {
		srv.Kill(prefix + strconv.Itoa(i))
	}
	if o.dropEvery > 0 {
		go func() {
			t := time.NewTicker(o.dropEvery)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					alive := prefix + strconv.Itoa(1+rand.IntN(count-o.dead))
					logger.Debug("Dropping a node's connections", "node", alive, "closed", srv.Drop(alive))
				}
			}
		}()
	}
	fmt.Fprintf(stdout, "ERL_EPMD_PORT=%d\n", srv.EpmdPort())
	if o.metricsListen != "" {
		e, err := sim.ReadExposition(o.exposition)
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", o.metricsListen)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		hs := &http.Server{Handler: e.Handler(count), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = hs.Serve(ln) }()
		defer hs.Close()
		addr := ln.Addr().String()
		if o.promSD != "" {
			if err := sim.WriteFileSD(o.promSD, addr, prefix, host, count); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "METRICS_ADDR=%s\n", addr)
		logger.Info("Serving the nodes' Prometheus pages", "addr", addr, "series_per_node", e.Series())
	}
	logger.Info("Simulated nodes running", "nodes", count, "names", fmt.Sprintf("%s1@%s..%s%d@%s", prefix, host, prefix, count, host),
		"epmd_port", srv.EpmdPort(), "recording", o.recPath, "recorded_calls", replay.Len())
	// The calls the recording could not answer (answered as undefined
	// functions) make a run less like real nodes: said when they change.
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	var said string
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if m := replay.Misses(); len(m) > 0 {
			if s := fmt.Sprint(m); s != said {
				said = s
				logger.Warn("Calls the recording could not answer (undefined function)", "calls", s)
			}
		}
	}
}

func record(ctx context.Context, stdout io.Writer, logger *slog.Logger, node, cookieFile, out string, d time.Duration) error {
	cookie, err := readCookie(cookieFile)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "beamsim-record")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rec, err := sim.Record(ctx, sim.RecordOptions{Node: node, Cookie: cookie}, d, dir, logger)
	if err != nil {
		return err
	}
	if err := rec.WriteFile(out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "recorded %d calls of %s in %s\n", len(rec.Entries), node, out)
	return nil
}
