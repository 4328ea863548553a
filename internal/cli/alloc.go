package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/inspect"
)

type allocCmd struct {
	node      string
	instances bool
	*toolParams
}

func registerAlloc(app *kingpin.Application, register func(string, command)) {
	c := &allocCmd{}
	cmd := app.Command("alloc", inspect.MustLookup("alloc").Summary)
	cmd.Arg("node", "Node name.").Required().StringVar(&c.node)
	c.toolParams = declareTool(cmd, "alloc")
	cmd.Flag("instances", "One line per allocator instance (per scheduler).").BoolVar(&c.instances)
	register(cmd.FullCommand(), c)
}

func (c *allocCmd) run(ctx context.Context, e *env) error {
	rep, err := runTool[*inspect.AllocReport](ctx, e, c.node, c.toolParams)
	if err != nil {
		return err
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, rep)
	}
	rows := rep.Types
	if c.instances {
		rows = rep.Instances
	}
	printAlloc(e.stdout, rows, &rep.Total, c.instances)
	fmt.Fprintln(e.stdout, "\nMost fragmented instances (at least 1MB allocated, lowest use first):")
	printAlloc(e.stdout, rep.Fragmented, nil, true)
	return nil
}

func printAlloc(w io.Writer, rows []inspect.AllocStats, total *inspect.AllocStats, instances bool) {
	rule := strings.Repeat("=", 88)
	fmt.Fprintln(w, rule)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "Allocator\t% util\tAllocated\tUsed\tFree\tBlocks\tAvg Size\tStrategy\t")
	line := func(s inspect.AllocStats) {
		name := s.Type
		if instances && s.Instance >= 0 {
			name = fmt.Sprintf("%s[%d]", s.Type, s.Instance)
		}
		avg := "-"
		if s.Blocks > 0 {
			avg = humanBytes(s.AvgBlockBytes)
		}
		strategy := s.Strategy
		if strategy == "" || strategy == "undefined" {
			strategy = "-"
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%s\t%s\t%s\t%d\t%s\t%s\t\n", name, s.UtilPercent, humanBytes(float64(s.AllocatedBytes)),
			humanBytes(float64(s.UsedBytes)), humanBytes(float64(s.FreeBytes)), s.Blocks, avg, strategy)
	}
	for _, s := range rows {
		line(s)
	}
	if total != nil {
		line(*total)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, rule)
}
