package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/inspect"
)

type memoryCmd struct {
	node string
	*toolParams
}

func registerMemory(app *kingpin.Application, register func(string, command)) {
	c := &memoryCmd{}
	cmd := app.Command("memory", inspect.MustLookup("memory").Summary)
	cmd.Arg("node", "Node name.").Required().StringVar(&c.node)
	c.toolParams = declareTool(cmd, "memory")
	register(cmd.FullCommand(), c)
}

func (c *memoryCmd) run(ctx context.Context, e *env) error {
	rep, err := runTool[*inspect.MemoryReport](ctx, e, c.node, c.toolParams)
	if err != nil {
		return err
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, rep)
	}
	var total int64
	for _, m := range rep.Memory {
		if m.Kind == "total" {
			total = m.Bytes
		}
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MEMORY\tBYTES\tMB\t% OF TOTAL\t")
	for _, m := range rep.Memory {
		pct := 0.0
		if total > 0 {
			pct = 100 * float64(m.Bytes) / float64(total)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t\n", m.Kind, m.Bytes, float64(m.Bytes)/(1<<20), pct)
	}
	fmt.Fprintln(tw, "\t\t\t\t")
	fmt.Fprintln(tw, "RESOURCE\tCOUNT\tLIMIT\t% OF LIMIT\t")
	for _, r := range rep.Resources {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t\n", r.Name, r.Count, r.Limit, r.UsedPercent)
	}
	return tw.Flush()
}
