package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/inspect"
)

// productCmd is one of the product views (rabbitmq, mnesia, ejabberd): a
// node argument and the tool's parameters.
type productCmd struct {
	node string
	*toolParams
}

func registerProducts(app *kingpin.Application, register func(string, command)) {
	for _, p := range []struct {
		name string
		run  func(ctx context.Context, e *env, c *productCmd) error
	}{
		{"rabbitmq", runRabbitMQ},
		{"mnesia", runMnesia},
		{"ejabberd", runEjabberd},
	} {
		c := &productCmd{}
		cmd := app.Command(p.name, inspect.MustLookup(p.name).Summary)
		cmd.Arg("node", "Node name.").Required().StringVar(&c.node)
		c.toolParams = declareTool(cmd, p.name)
		register(cmd.FullCommand(), &productRunner{c: c, show: p.run})
	}
}

type productRunner struct {
	c    *productCmd
	show func(ctx context.Context, e *env, c *productCmd) error
}

func (r *productRunner) run(ctx context.Context, e *env) error { return r.show(ctx, e, r.c) }

func yesNo(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

func runRabbitMQ(ctx context.Context, e *env, c *productCmd) error {
	res, err := runTool[*inspect.RabbitMQResult](ctx, e, c.node, c.toolParams)
	if err != nil {
		return err
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, res)
	}
	w := e.stdout
	fmt.Fprintf(w, "RabbitMQ %s (cluster %s)\n", res.Node, res.Cluster)
	fmt.Fprintf(w, "connections %d, channels %d, consumers %d on this node; %d vhosts, %d queues in the cluster\n",
		res.Connections, res.Channels, res.Consumers, res.VHosts, res.Queues)
	fmt.Fprintf(w, "resource alarms: %s\npartitioned from: %s\n", yesNo(res.Alarms), yesNo(res.Partitions))
	s := res.Scan
	if s == nil {
		fmt.Fprintln(w, "queues: not scanned (the scan needs beamctl_agent)")
		return nil
	}
	how := "read from RabbitMQ's statistics tables"
	if s.Source == "calls" {
		how = "each queue asked (RabbitMQ collects no statistics)"
	}
	fmt.Fprintf(w, "queues on this node: %d scanned, %s, %d unanswered; %d ready, %d unacked, %s of queue memory\n\n",
		s.Scanned, how, s.Unanswered, s.Ready, s.Unacked, humanBytes(float64(s.Memory)))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VHOST\tQUEUE\tTYPE\tMESSAGES\tREADY\tUNACKED\tCONSUMERS\tMEMORY")
	for _, q := range s.Top {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", q.VHost, q.Name, q.Type, q.Messages(), q.Ready, q.Unacked, q.Consumers, humanBytes(float64(q.Memory)))
	}
	return tw.Flush()
}

func runMnesia(ctx context.Context, e *env, c *productCmd) error {
	res, err := runTool[*inspect.MnesiaResult](ctx, e, c.node, c.toolParams)
	if err != nil {
		return err
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, res)
	}
	w := e.stdout
	fmt.Fprintf(w, "Mnesia %s: %d held locks, %d in the lock queue; transactions %d committed, %d aborted, %d restarted, %d logged\n",
		res.Node, res.HeldLocks, res.LockQueue, res.Commits, res.Failures, res.Restarts, res.LogWrites)
	fmt.Fprintf(w, "%d local tables (%d shown)\n\n", res.LocalTables, res.TablesShown)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tSTORAGE\tSIZE\tMEMORY\tREPLICAS")
	for _, t := range res.Tables {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", t.Name, t.StorageType, t.Size, humanBytes(float64(t.Memory)), strings.Join(t.Replicas, " "))
	}
	return tw.Flush()
}

func runEjabberd(ctx context.Context, e *env, c *productCmd) error {
	res, err := runTool[*inspect.EjabberdResult](ctx, e, c.node, c.toolParams)
	if err != nil {
		return err
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, res)
	}
	w := e.stdout
	fmt.Fprintf(w, "ejabberd %s: %d online sessions, %d incoming and %d outgoing s2s connections\n\n", res.Node, res.Sessions, res.S2SIn, res.S2SOut)
	hosts := make([]string, 0, len(res.Registered))
	for h := range res.Registered {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tREGISTERED USERS")
	for _, h := range hosts {
		fmt.Fprintf(tw, "%s\t%d\n", h, res.Registered[h])
	}
	return tw.Flush()
}
