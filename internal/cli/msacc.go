package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/inspect"
)

type msaccCmd struct {
	node      string
	perThread bool
	*toolParams
}

func registerMsacc(app *kingpin.Application, register func(string, command)) {
	c := &msaccCmd{}
	cmd := app.Command("msacc", inspect.MustLookup("msacc").Summary)
	cmd.Arg("node", "Node name.").Required().StringVar(&c.node)
	c.toolParams = declareTool(cmd, "msacc")
	cmd.Flag("per-thread", "One line per thread instead of per thread type.").BoolVar(&c.perThread)
	register(cmd.FullCommand(), c)
}

func (c *msaccCmd) run(ctx context.Context, e *env) error {
	rep, err := runTool[*inspect.MsaccReport](ctx, e, c.node, c.toolParams)
	if err != nil {
		return err
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, rep)
	}
	rows, title := rep.Types, "Stats per type:"
	if c.perThread {
		rows, title = rep.Threads, "Stats per thread:"
	}
	fmt.Fprintf(e.stdout, "Microstate accounting over %s\n\n%s\n", c.args.Duration("duration"), title)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 1, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "Thread\t")
	for _, s := range rep.States {
		fmt.Fprintf(tw, "%s\t", s)
	}
	fmt.Fprintln(tw)
	for _, r := range rows {
		name := r.Type
		if c.perThread {
			name = fmt.Sprintf("%s(%d)", r.Type, r.ID)
		}
		fmt.Fprintf(tw, "%s\t", name)
		for _, s := range rep.States {
			fmt.Fprintf(tw, "%.2f%%\t", r.Percent[s])
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}
