package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/inspect"
)

type leaksCmd struct {
	node  string
	n     int
	noGC  bool
	pause time.Duration
}

func registerLeaks(app *kingpin.Application, register func(string, command)) {
	c := &leaksCmd{}
	cmd := app.Command("leaks", "erl_leaks: the processes holding the most refc binary memory, garbage collected one by one "+
		"(at most -n, --pause apart) to show what they really hold: before (after GC).")
	cmd.Arg("node", "Node name.").Required().StringVar(&c.node)
	cmd.Flag("n", "Number of processes (each is garbage collected).").Short('n').Default("10").IntVar(&c.n)
	cmd.Flag("no-gc", "Rank by binary memory only; collect nothing.").BoolVar(&c.noGC)
	cmd.Flag("pause", "Pause between two garbage collections.").Default("50ms").DurationVar(&c.pause)
	register(cmd.FullCommand(), c)
}

func (c *leaksCmd) extraTime() time.Duration { return c.pause * time.Duration(c.n) }

func (c *leaksCmd) run(ctx context.Context, e *env) error {
	conn, err := e.dial(ctx, c.node)
	if err != nil {
		return err
	}
	defer conn.Close()
	leaks, err := inspect.Leaks(ctx, conn, c.n, !c.noGC, c.pause)
	if err != nil {
		return err
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, map[string]any{"node": conn.Node(), "gc": !c.noGC, "processes": leaks})
	}
	rule := strings.Repeat("=", 98)
	fmt.Fprintln(e.stdout, rule)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 3, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "Pid\tName\tbinary_refs\tbinary_size\tbinary_count\theap_size\t")
	for _, l := range leaks {
		name := l.Name
		if name == "" {
			name = "<...>"
		}
		if c.noGC {
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
