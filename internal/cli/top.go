package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/termtext"
)

type topCmd struct {
	node     string
	watch    bool
	interval time.Duration
	*toolParams
}

func registerTop(app *kingpin.Application, register func(string, command)) {
	c := &topCmd{}
	cmd := app.Command("top", inspect.MustLookup("top").Summary)
	cmd.Arg("node", "Node name.").Required().StringVar(&c.node)
	c.toolParams = declareTool(cmd, "top")
	cmd.Flag("watch", "Refresh in place until interrupted.").BoolVar(&c.watch)
	cmd.Flag("interval", "Refresh interval for --watch.").Default("2s").DurationVar(&c.interval)
	register(cmd.FullCommand(), c)
}

func (c *topCmd) untimed() bool { return c.watch }

func (c *topCmd) run(ctx context.Context, e *env) error {
	fetch, closeConn, err := c.fetcher(ctx, e)
	if err != nil {
		return err
	}
	defer closeConn()
	by, n, window := c.args.String("by"), c.args.Int("n"), c.args.Duration("window")
	for {
		callCtx, cancel := context.WithTimeout(ctx, e.g.timeout+c.extraTime())
		res, err := fetch(callCtx)
		cancel()
		if err != nil {
			if c.watch && ctx.Err() != nil {
				return nil // interrupted during a refresh: the normal end of --watch
			}
			return err
		}
		if e.g.output == "json" {
			if err := writeJSON(e.stdout, res); err != nil {
				return err
			}
		} else {
			if c.watch {
				fmt.Fprint(e.stdout, "\033[H\033[2J") // home and clear, like top
				fmt.Fprintf(e.stdout, "%s  top %d by %s  %s\n\n", res.Node, n, by, time.Now().Format(time.TimeOnly))
			}
			if err := printTop(e.stdout, by, window, res.Processes, e.elixir(topElixir(res.Processes))); err != nil {
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
func (c *topCmd) fetcher(ctx context.Context, e *env) (func(context.Context) (*inspect.TopResult, error), func(), error) {
	if e.g.server != "" {
		q, err := e.serverQuery(c.toolParams)
		if err != nil {
			return nil, nil, err
		}
		return func(ctx context.Context) (*inspect.TopResult, error) {
			var res *inspect.TopResult
			err := e.fromServer(ctx, c.node, c.tool.Name, q, &res)
			return res, err
		}, func() {}, nil
	}
	conn, err := e.dial(ctx, c.node)
	if err != nil {
		return nil, nil, err
	}
	// One pair of audit records for the whole session (--watch included).
	end, err := e.auditBegin("inspect."+c.tool.Name, conn.Node(), c.raw())
	if err != nil {
		_ = conn.Close()
		return nil, nil, fmt.Errorf("write the audit log (nothing was run): %w", err)
	}
	var last error // the outcome: the last refresh's
	return func(ctx context.Context) (*inspect.TopResult, error) {
		res, err := runOn[*inspect.TopResult](ctx, e.inspectConn(conn), c.tool, c.args)
		last = err
		return res, err
	}, func() { end(last); _ = conn.Close() }, nil
}

// topElixir reports whether a listing shows processes of Elixir modules.
func topElixir(entries []inspect.TopEntry) bool {
	for _, t := range entries {
		if elixirNames(t.Name, t.InitialCall, t.CurrentFunction) {
			return true
		}
	}
	return false
}

// printTop writes the listing; ex writes names and MFAs as Elixir does.
func printTop(w io.Writer, by string, window time.Duration, entries []inspect.TopEntry, ex bool) error {
	spell := func(s string) string { return s }
	if ex {
		spell = termtext.ElixirName
	}
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
		pid := t.Pid
		if ex {
			pid = "#PID" + pid
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", pid, spell(name), t.Value, spell(t.CurrentFunction))
	}
	return tw.Flush()
}
