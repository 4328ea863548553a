package cli

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
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
	var res struct {
		Node   string          `json:"node"`
		Tables []inspect.Table `json:"tables"`
	}
	if e.g.server != "" {
		params := url.Values{"sort": {c.sortBy}, "n": {strconv.Itoa(c.n)}, "match": {c.match}}
		if err := e.fromServer(ctx, c.node, "ets", params, &res); err != nil {
			return err
		}
	} else {
		conn, err := e.dial(ctx, c.node)
		if err != nil {
			return err
		}
		defer conn.Close()
		res.Node = conn.Node()
		if res.Tables, err = inspect.ETS(ctx, conn, c.sortBy, c.n, c.match); err != nil {
			return err
		}
	}
	tabs := res.Tables
	if e.g.output == "json" {
		return writeJSON(e.stdout, res)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tOWNER\tTYPE\tSIZE\tMEMORY BYTES\tPROTECTION")
	for _, t := range tabs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", t.Name, t.ID, t.Owner, t.Type, t.Size, t.MemoryBytes, t.Protection)
	}
	return tw.Flush()
}
