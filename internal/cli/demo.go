package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/alarm"
	"github.com/beamctl/beamctl/internal/app"
	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/erlnode"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
)

type demoCmd struct {
	nodes       int
	prefix      string
	duration    time.Duration
	serve       bool
	storagePath string
	listen      string
}

func registerDemo(app *kingpin.Application, register func(string, command)) {
	c := &demoCmd{}
	cmd := app.Command("demo", "Start a local demo cluster of real OTP nodes and watch it from beamctl.")
	cmd.Flag("nodes", "Number of nodes.").Default("3").IntVar(&c.nodes)
	cmd.Flag("prefix", "Node name prefix.").Default("demo").StringVar(&c.prefix)
	cmd.Flag("duration", "Stop after this long (0: run until interrupted).").Default("0s").DurationVar(&c.duration)
	cmd.Flag("serve", "Run beamctl serve watching the cluster.").Default("true").BoolVar(&c.serve)
	cmd.Flag("storage.path", "Data directory of the demo's store (default: $XDG_STATE_HOME/beamctl/demo).").StringVar(&c.storagePath)
	cmd.Flag("web.listen-address", "Address of the demo server's API.").Default("127.0.0.1:9464").StringVar(&c.listen)
	register(cmd.FullCommand(), c)
}

func (c *demoCmd) untimed() bool { return true }

func (c *demoCmd) run(ctx context.Context, e *env) error {
	if c.nodes < 1 || c.nodes > 26 {
		return errors.New("--nodes must be between 1 and 26")
	}
	cookie := erlnode.RandomName("demo")
	if e.g.cookie != "" {
		cookie = e.g.cookie
	}
	// The cookie goes in a file only this user can read, which the demo's
	// server and the suggested commands name: never on a command line (ps)
	// or in the output.
	cookieDir, err := os.MkdirTemp("", "beamctl-demo-") // 0700
	if err != nil {
		return fmt.Errorf("make a directory for the demo's cookie: %w", err)
	}
	defer os.RemoveAll(cookieDir)
	cookieFile := filepath.Join(cookieDir, "cookie")
	if err := os.WriteFile(cookieFile, []byte(cookie+"\n"), 0o600); err != nil {
		return fmt.Errorf("write the demo's cookie file: %w", err)
	}
	// If no epmd runs yet, the first node starts one; stop it at the end
	// so that the demo leaves nothing behind.
	_, epmdErr := erlnode.EpmdNames(ctx)
	var nodes []*erlnode.Node
	defer func() {
		for _, n := range nodes {
			n.Kill()
		}
		if len(nodes) > 0 {
			fmt.Fprintf(e.stdout, "Stopped %d demo nodes.\n", len(nodes))
		}
		if epmdErr != nil && len(nodes) > 0 {
			_ = exec.Command("epmd", "-kill").Run()
		}
	}()
	for i := range c.nodes {
		n, err := erlnode.Start(ctx, erlnode.Spec{Name: fmt.Sprintf("%s_%c", c.prefix, 'a'+i), Cookie: cookie})
		if err != nil {
			return fmt.Errorf("%w (is a demo already running? stop it, or use --prefix)", err)
		}
		nodes = append(nodes, n)
	}
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.Name
	}
	fmt.Fprintf(e.stdout, "Started %d OTP nodes (cookie in %s): %s\n\n", len(nodes), cookieFile, strings.Join(names, " "))

	// A name of the bounded per-host set, as every beamctl command uses
	// (each name that connects stays an atom on the node).
	name, err := dist.LockName(ctx, "demo")
	if err != nil {
		return fmt.Errorf("take beamctl's node name: %w", err)
	}
	defer name.Release()
	pool := dist.NewPool(dist.PoolOptions{Options: dist.Options{Cookie: cookie, Logger: e.logger, Alive: name.Alive, RPC: dist.RPCSpawn}})
	defer pool.Close()
	// Mesh the cluster: every node connects to the others, as a release's
	// sync_nodes or net_adm:ping would.
	callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, n := range nodes {
		for _, other := range nodes {
			if other == n {
				continue
			}
			r, err := pool.Call(callCtx, n.Name, "net_kernel", "connect_node", etf.Atom(other.Name))
			if err != nil {
				return fmt.Errorf("mesh the demo cluster: %w", err)
			}
			if r != etf.True {
				return fmt.Errorf("node %s could not connect to %s", n.Name, other.Name)
			}
		}
	}
	conn, err := pool.Conn(callCtx, nodes[0].Name)
	if err != nil {
		return err
	}
	v, err := viewCluster(callCtx, conn)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "beamctl nodes %s:\n", nodes[0].Name)
	if err := printClusterView(e.stdout, v); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nTry it from another terminal:\n  beamctl --cookie-file %s ping %s\n  beamctl --cookie-file %s top %s --window 1s\n",
		cookieFile, nodes[0].Name, cookieFile, nodes[len(nodes)-1].Name)
	for _, n := range nodes {
		nc, err := pool.Conn(callCtx, n.Name)
		if err != nil {
			return err
		}
		if _, err := inspect.Eval(callCtx, nc, demoWorkload); err != nil {
			return fmt.Errorf("start the demo workload on %s: %w", n.Name, err)
		}
	}
	last := nodes[len(nodes)-1]
	lc, err := pool.Conn(callCtx, last.Name)
	if err != nil {
		return err
	}
	if _, err := inspect.Eval(callCtx, lc, demoBacklog); err != nil {
		return fmt.Errorf("start the demo backlog on %s: %w", last.Name, err)
	}
	fmt.Fprintln(e.stdout, "\nWorkload running on every node: processes messaging each other across nodes, an ETS table, binary churn.")
	fmt.Fprintf(e.stdout, "On %s, demo_backlog never reads its mailbox: its queue passes 10,000 messages in about 20 s, so the\nprocess_message_queue alarm is raised within about a minute (it stops growing at %d messages).\n", last.Name, demoBacklogCap)
	var figures func()
	if c.serve {
		stop, f, err := c.startServer(ctx, e, cookieFile, nodes[0].Name)
		if err != nil {
			return err
		}
		defer stop()
		figures = f
	}
	var deadline <-chan time.Time
	if c.duration > 0 {
		deadline = time.After(c.duration)
		fmt.Fprintf(e.stdout, "\nThe demo runs for %s.\n", c.duration)
	} else {
		fmt.Fprintln(e.stdout, "\nThe demo runs until you press Ctrl-C.")
	}
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-deadline:
			if figures != nil {
				figures()
			}
			return nil
		case <-tick.C:
			if figures != nil {
				figures()
			}
		}
	}
}

// demoWorkload runs on every demo node (erl_eval; nothing is loaded): an
// echo server, pingers that talk to the echo servers of all nodes, and a
// process that churns an ETS table and refc binaries.
const demoWorkload = `
Echo = fun EchoLoop() -> receive {From, Msg} -> From ! Msg, EchoLoop() end end,
register(demo_echo, spawn(Echo)),
Pinger = fun PLoop(I) ->
             Targets = [demo_echo | [{demo_echo, N} || N <- nodes()]],
             lists:nth(I rem length(Targets) + 1, Targets) ! {self(), I},
             receive _ -> ok after 100 -> ok end,
             timer:sleep(20),
             PLoop(I + 1)
         end,
[spawn(fun() -> Pinger(K) end) || K <- lists:seq(1, 4)],
ets:new(demo_sessions, [named_table, public, {heir, whereis(init), none}]),
Churn = fun CLoop(I) ->
            ets:insert(demo_sessions, {I rem 5000, binary:copy(<<I:64>>, 64)}),
            _ = binary:copy(<<I:64>>, 2000),
            timer:sleep(10),
            CLoop(I + 1)
        end,
spawn(fun() -> Churn(0) end),
ok.`

// demoBacklogCap is where the demo's backlog stops growing: above the
// process_message_queue alarm's minor level (10,000), well below major.
const demoBacklogCap = 30000

// demoBacklog runs on one demo node: a registered process that never reads
// its mailbox, fed 500 messages a second until it holds demoBacklogCap, so
// that the process_message_queue alarm (minor at 10,000, held 30 s) is
// raised about a minute after the demo starts: every page of the web UI
// has something on it.
var demoBacklog = fmt.Sprintf(`
Stuck = spawn(fun() -> receive never_sent -> ok end end),
register(demo_backlog, Stuck),
Feed = fun FLoop() ->
           case erlang:process_info(Stuck, message_queue_len) of
               {message_queue_len, N} when N < %d -> [Stuck ! {job, I} || I <- lists:seq(1, 50)], timer:sleep(100), FLoop();
               _ -> ok
           end
       end,
spawn(Feed),
ok.`, demoBacklogCap)

// startServer runs beamctl serve in-process, watching the demo cluster from
// one seed, and returns how to stop it and a function printing live figures.
func (c *demoCmd) startServer(ctx context.Context, e *env, cookieFile, seed string) (func(), func(), error) {
	dir := c.storagePath
	if dir == "" {
		p, err := auditPath() // .../beamctl/audit.log
		if err != nil {
			return nil, nil, err
		}
		dir = filepath.Join(filepath.Dir(p), "demo")
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(
		"global: {collect_interval: 2s, collect_timeout: 2s, discover_interval: 5s}\nclusters:\n  - name: demo\n    cookie_file: %q\n    seeds: [%q]\n",
		cookieFile, seed)), dir)
	if err != nil {
		return nil, nil, err
	}
	a, err := app.New(app.Options{Config: cfg, StoragePath: dir, Listen: c.listen, Logger: e.logger})
	if err != nil {
		return nil, nil, err
	}
	if err := a.Start(ctx); err != nil {
		_ = a.Stop()
		return nil, nil, err
	}
	base := "http://" + a.Addr()
	fmt.Fprintf(e.stdout, "\nbeamctl serve is watching the cluster (store in %s):\n", dir)
	fmt.Fprintf(e.stdout, "  web UI:  %s/ui/  (no login: the demo serves loopback only, where every visitor is admin)\n", base)
	fmt.Fprintf(e.stdout, "  Prometheus/Grafana data source: %s\n", base)
	fmt.Fprintf(e.stdout, "  nodes:   %s/api/v1/nodes\n", base)
	fmt.Fprintf(e.stdout, "  a query: %s/api/v1/query?query=sum(rate(erlang_vm_statistics_reductions_total[10s]))\n", base)
	fmt.Fprintf(e.stdout, "  notifications (logs, crashes, code, shell commands): beamctl --server %s notifications --follow\n", base)
	fmt.Fprintf(e.stdout, "  alarms (%d built-in; try +P or a queue that is never read on a node): beamctl --server %s alarms --active\n", len(alarm.BuiltinNames()), base)
	figures := func() {
		qctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		val := func(q string) string {
			r, err := a.Query(qctx, q)
			if err != nil || len(r.Series) == 0 {
				return "-"
			}
			return fmt.Sprintf("%.0f", r.Series[0].Points[0].Value)
		}
		fmt.Fprintf(e.stdout, "%s  nodes up %s  processes %s  reductions/s %s  dist msgs/s %s  memory MB %s  sched %% %s  msgs queued %s  alarms %d\n",
			time.Now().Format(time.TimeOnly),
			val(`sum(beamctl_node_up{cluster="demo"})`),
			val(`sum(erlang_vm_processes{cluster="demo"})`),
			val(`sum(rate(erlang_vm_statistics_reductions_total{cluster="demo"}[10s]))`),
			val(`sum(rate(erlang_vm_dist_messages_sent_total{cluster="demo"}[10s]))`),
			val(`sum(erlang_vm_memory_bytes{cluster="demo",kind="total"}) / 1048576`),
			val(`avg(erlang_vm_scheduler_type_utilization_ratio{cluster="demo",type="normal"}) * 100`),
			val(`sum(erlang_vm_message_queue_messages{cluster="demo"})`),
			len(a.Alarms().Active()))
	}
	return func() { _ = a.Stop() }, figures, nil
}
