package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/inspect"
)

type leaksCmd struct {
	node string
	*toolParams
}

func registerLeaks(app *kingpin.Application, register func(string, command)) {
	c := &leaksCmd{}
	cmd := app.Command("leaks", inspect.MustLookup("leaks").Summary)
	cmd.Arg("node", "Node name.").Required().StringVar(&c.node)
	c.toolParams = declareTool(cmd, "leaks")
	register(cmd.FullCommand(), c)
}

func (c *leaksCmd) run(ctx context.Context, e *env) error {
	res, err := runTool[*inspect.LeaksResult](ctx, e, c.node, c.toolParams)
	if err != nil {
		return err
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, res)
	}
	leaks := res.Processes
	rule := strings.Repeat("=", 98)
	fmt.Fprintln(e.stdout, rule)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 3, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "Pid\tName\tbinary_refs\tbinary_size\tbinary_count\theap_size\t")
	for _, l := range leaks {
		name := l.Name
		if name == "" {
			name = "<...>"
		}
		if !res.GC {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\t\n", l.Pid, name, l.Before.BinaryRefs, humanBytes(float64(l.Before.BinaryBytes)),
				l.Before.BinaryCount, humanBytes(float64(l.Before.HeapBytes)))
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d (%d)\t%s (%s)\t%d (%d)\t%s (%s)\t\n", l.Pid, name,
			l.Before.BinaryRefs, l.After.BinaryRefs,
			humanBytes(float64(l.Before.BinaryBytes)), humanBytes(float64(l.After.BinaryBytes)),
			l.Before.BinaryCount, l.After.BinaryCount,
			humanBytes(float64(l.Before.HeapBytes)), humanBytes(float64(l.After.HeapBytes)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, rule)
	return nil
}
