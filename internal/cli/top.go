package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/inspect"
)

type topCmd struct {
	node      string
	by        string
	n         int
	window    time.Duration
	scanLimit int
	watch     bool
	interval  time.Duration
	agentless bool
}

func registerTop(app *kingpin.Application, register func(string, command)) {
	c := &topCmd{}
	cmd := app.Command("top", "Top processes by an attribute, absolute or over a window (recon's proc_count/proc_window). "+
		"The scan runs on the node (beamctl_agent, loaded there) and only the top N cross the wire.")
	cmd.Arg("node", "Node name.").Required().StringVar(&c.node)
	cmd.Flag("by", "Attribute: "+strings.Join(inspect.TopAttrs, ", ")+".").Default("reductions").
		EnumVar(&c.by, inspect.TopAttrs...)
	cmd.Flag("n", "Number of processes (at most 1000).").Short('n').Default("10").IntVar(&c.n)
	cmd.Flag("window", "Rank by growth over this window instead of absolute values (e.g. 1s).").DurationVar(&c.window)
	cmd.Flag("scan-limit", "Look at no more than this many processes (0: all; the scan is linear in the process count).").
		Default("0").IntVar(&c.scanLimit)
	cmd.Flag("agentless", "Scan with erl_eval instead of loading beamctl_agent (costs the node more CPU).").BoolVar(&c.agentless)
	cmd.Flag("watch", "Refresh in place until interrupted.").BoolVar(&c.watch)
	cmd.Flag("interval", "Refresh interval for --watch.").Default("2s").DurationVar(&c.interval)
	register(cmd.FullCommand(), c)
}

func (c *topCmd) untimed() bool { return c.watch }

func (c *topCmd) run(ctx context.Context, e *env) error {
	fetch, node, closeConn, err := c.fetcher(ctx, e)
	if err != nil {
		return err
	}
	defer closeConn()
	for {
		callCtx, cancel := context.WithTimeout(ctx, e.g.timeout+c.window)
		entries, err := fetch(callCtx)
		cancel()
		if err != nil {
			if c.watch && ctx.Err() != nil {
				return nil // interrupted during a refresh: the normal end of --watch
			}
			return err
		}
		if e.g.output == "json" {
			if err := writeJSON(e.stdout, map[string]any{"node": node, "by": c.by, "window_seconds": c.window.Seconds(), "processes": entries}); err != nil {
				return err
			}
		} else {
			if c.watch {
				fmt.Fprint(e.stdout, "\033[H\033[2J") // home and clear, like top
				fmt.Fprintf(e.stdout, "%s  top %d by %s  %s\n\n", node, c.n, c.by, time.Now().Format(time.TimeOnly))
			}
			if err := printTop(e.stdout, c.by, c.window, entries); err != nil {
				return err
			}
		}
		if !c.watch {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(c.interval):
		}
	}
}

// fetcher returns how to get one top listing: from the node directly, or
// through a beamctl server with --server.
func (c *topCmd) fetcher(ctx context.Context, e *env) (func(context.Context) ([]inspect.TopEntry, error), string, func(), error) {
	if e.g.server != "" {
		name, err := nodeName(c.node)
		if err != nil {
			return nil, "", nil, err
		}
		params := url.Values{"by": {c.by}, "n": {strconv.Itoa(c.n)}}
		if c.window > 0 {
			params.Set("window", c.window.String())
		}
		return func(ctx context.Context) ([]inspect.TopEntry, error) {
			var res struct {
				Processes []inspect.TopEntry `json:"processes"`
			}
			err := e.fromServer(ctx, c.node, "top", params, &res)
			return res.Processes, err
		}, name, func() {}, nil
	}
	conn, err := e.dial(ctx, c.node)
	if err != nil {
		return nil, "", nil, err
	}
	return func(ctx context.Context) ([]inspect.TopEntry, error) {
		return inspect.Top(ctx, conn, inspect.TopOptions{
			By: c.by, N: c.n, Window: c.window, ScanLimit: c.scanLimit, Agentless: c.agentless,
		})
	}, conn.Node(), func() { _ = conn.Close() }, nil
}

func printTop(w io.Writer, by string, window time.Duration, entries []inspect.TopEntry) error {
	col := strings.ToUpper(by)
	if window > 0 {
		col += " (+" + window.String() + ")"
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "PID\tNAME OR INITIAL CALL\t%s\tCURRENT FUNCTION\n", col)
	for _, t := range entries {
		name := t.Name
		if name == "" {
			name = t.InitialCall
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", t.Pid, name, t.Value, t.CurrentFunction)
	}
	return tw.Flush()
}
