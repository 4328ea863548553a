package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/erlnode"
	"github.com/beamctl/beamctl/internal/etf"
)

type demoCmd struct {
	nodes    int
	prefix   string
	duration time.Duration
}

func registerDemo(app *kingpin.Application, register func(string, command)) {
	c := &demoCmd{}
	cmd := app.Command("demo", "Start a local demo cluster of real OTP nodes and watch it from beamctl.")
	cmd.Flag("nodes", "Number of nodes.").Default("3").IntVar(&c.nodes)
	cmd.Flag("prefix", "Node name prefix.").Default("demo").StringVar(&c.prefix)
	cmd.Flag("duration", "Stop after this long (0: run until interrupted).").Default("0s").DurationVar(&c.duration)
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
	var nodes []*erlnode.Node
	defer func() {
		for _, n := range nodes {
			n.Kill()
		}
		if len(nodes) > 0 {
			fmt.Fprintf(e.stdout, "Stopped %d demo nodes.\n", len(nodes))
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
	fmt.Fprintf(e.stdout, "Started %d OTP nodes with cookie %s: %s\n\n", len(nodes), cookie, strings.Join(names, " "))

	pool := dist.NewPool(dist.PoolOptions{Options: dist.Options{Cookie: cookie, Logger: e.logger}})
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
	fmt.Fprintf(e.stdout, "\nTry it from another terminal:\n  beamctl --cookie %s ping %s\n  beamctl --cookie %s rpc %s erlang memory\n",
		cookie, nodes[0].Name, cookie, nodes[len(nodes)-1].Name)
	if c.duration > 0 {
		fmt.Fprintf(e.stdout, "\nThe cluster runs for %s.\n", c.duration)
		select {
		case <-ctx.Done():
		case <-time.After(c.duration):
		}
		return nil
	}
	fmt.Fprintln(e.stdout, "\nThe cluster runs until you press Ctrl-C.")
	<-ctx.Done()
	return nil
}
