package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/inspect"
)

type etsCmd struct {
	node string
	*toolParams
}

func registerETS(app *kingpin.Application, register func(string, command)) {
	c := &etsCmd{}
	cmd := app.Command("ets", inspect.MustLookup("ets").Summary)
	cmd.Arg("node", "Node name.").Required().StringVar(&c.node)
	c.toolParams = declareTool(cmd, "ets")
	register(cmd.FullCommand(), c)
}

func (c *etsCmd) run(ctx context.Context, e *env) error {
	res, err := runTool[*inspect.ETSResult](ctx, e, c.node, c.toolParams)
	if err != nil {
		return err
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
