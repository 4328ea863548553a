package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/inspect"
)

type msaccCmd struct {
	node      string
	duration  time.Duration
	perThread bool
}

func registerMsacc(app *kingpin.Application, register func(string, command)) {
	c := &msaccCmd{}
	cmd := app.Command("msacc", "Microstate accounting over a window: where each thread type spends its time. "+
		"The microstate_accounting flag is put back as found, also on Ctrl-C.")
	cmd.Arg("node", "Node name.").Required().StringVar(&c.node)
	cmd.Flag("duration", "How long to measure.").Default("5s").DurationVar(&c.duration)
	cmd.Flag("per-thread", "One line per thread instead of per thread type.").BoolVar(&c.perThread)
	register(cmd.FullCommand(), c)
}

func (c *msaccCmd) run(ctx context.Context, e *env) error {
	conn, err := e.dial(ctx, c.node)
	if err != nil {
		return err
	}
	defer conn.Close()
	rep, err := inspect.Msacc(ctx, conn, c.duration)
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
	fmt.Fprintf(e.stdout, "Microstate accounting over %s\n\n%s\n", c.duration, title)
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

// msacc runs past --timeout by its --duration.
func (c *msaccCmd) extraTime() time.Duration { return c.duration }
