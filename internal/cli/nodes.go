package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
)

type nodesCmd struct {
	node string
}

func registerNodes(app *kingpin.Application, register func(string, command)) {
	c := &nodesCmd{}
	cmd := app.Command("nodes", "Show the cluster as a node sees it: itself, visible and hidden nodes.")
	cmd.Arg("node", "Node name.").Required().StringVar(&c.node)
	register(cmd.FullCommand(), c)
}

// clusterView is what one node reports of its cluster.
type clusterView struct {
	Node    string   `json:"node"`
	Visible []string `json:"visible"`
	Hidden  []string `json:"hidden"`
	Self    string   `json:"beamctl_node"`
}

func (c *nodesCmd) run(ctx context.Context, e *env) error {
	conn, err := e.dial(ctx, c.node)
	if err != nil {
		return err
	}
	defer conn.Close()
	v, err := viewCluster(ctx, conn)
	if err != nil {
		return err
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, v)
	}
	return printClusterView(e.stdout, v)
}

// viewCluster asks the node for nodes(visible) and nodes(hidden).
func viewCluster(ctx context.Context, conn *dist.Conn) (clusterView, error) {
	v := clusterView{Node: conn.Node(), Self: conn.Self(), Visible: []string{}, Hidden: []string{}}
	for _, kind := range []struct {
		arg  etf.Atom
		into *[]string
	}{{"visible", &v.Visible}, {"hidden", &v.Hidden}} {
		r, err := conn.Call(ctx, "erlang", "nodes", kind.arg)
		if err != nil {
			return v, err
		}
		l, err := etf.ToList(r)
		if err != nil {
			return v, fmt.Errorf("nodes(%s): %w", kind.arg, err)
		}
		for _, n := range l {
			a, err := etf.ToAtom(n)
			if err != nil {
				return v, fmt.Errorf("nodes(%s): %w", kind.arg, err)
			}
			*kind.into = append(*kind.into, string(a))
		}
		sort.Strings(*kind.into)
	}
	return v, nil
}

func printClusterView(w io.Writer, v clusterView) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSEEN AS")
	fmt.Fprintf(tw, "%s\tself\n", v.Node)
	for _, n := range v.Visible {
		fmt.Fprintf(tw, "%s\tvisible\n", n)
	}
	for _, n := range v.Hidden {
		note := "hidden"
		if n == v.Self {
			note = "hidden (this beamctl)"
		}
		fmt.Fprintf(tw, "%s\t%s\n", n, note)
	}
	return tw.Flush()
}
