package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/inspect"
)

type etsCmd struct {
	node, sortBy, match string
	n                   int
}

func registerETS(app *kingpin.Application, register func(string, command)) {
	c := &etsCmd{}
	cmd := app.Command("ets", "The largest ETS tables by memory or size. Listed on the node (beamctl_agent); at most -n tables cross the wire.")
	cmd.Arg("node", "Node name.").Required().StringVar(&c.node)
	cmd.Flag("sort", "Sort by memory or size.").Default("memory").EnumVar(&c.sortBy, "memory", "size")
	cmd.Flag("n", "Number of tables.").Short('n').Default("20").IntVar(&c.n)
	cmd.Flag("match", "Only tables whose name contains this text.").StringVar(&c.match)
	register(cmd.FullCommand(), c)
}

func (c *etsCmd) run(ctx context.Context, e *env) error {
	conn, err := e.dial(ctx, c.node)
	if err != nil {
		return err
	}
	defer conn.Close()
	tabs, err := inspect.ETS(ctx, conn, c.sortBy, c.n, c.match)
	if err != nil {
		return err
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, map[string]any{"node": conn.Node(), "tables": tabs})
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tOWNER\tTYPE\tSIZE\tMEMORY BYTES\tPROTECTION")
	for _, t := range tabs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", t.Name, t.ID, t.Owner, t.Type, t.Size, t.MemoryBytes, t.Protection)
	}
	return tw.Flush()
}
