package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/inspect"
)

type loadCmd struct {
	nodes []string
	*toolParams
}

func registerLoad(app *kingpin.Application, register func(string, command)) {
	c := &loadCmd{}
	cmd := app.Command("load", "Hot-load a compiled module on nodes (code:load_binary), one node after the other, "+
		"with ectl's purge semantics. Written to the audit log before it runs.")
	cmd.Arg("node", "Node names.").Required().StringsVar(&c.nodes)
	c.toolParams = declareTool(cmd, "load")
	register(cmd.FullCommand(), c)
}

// extraTime is --purge-wait for each node.
func (c *loadCmd) extraTime() time.Duration {
	return c.toolParams.extraTime() * time.Duration(len(c.nodes))
}

func (c *loadCmd) run(ctx context.Context, e *env) error {
	path := c.args.String("beam")
	// Read it once before any node is touched; Run reads it again per node.
	if _, err := os.ReadFile(path); err != nil {
		return fmt.Errorf("read the module: %w", err)
	}
	var results []any
	for _, n := range c.nodes {
		conn, err := e.dial(ctx, n)
		if err != nil {
			return err
		}
		if c.args.Bool("dry-run") {
			plan, err := auditedRun[*inspect.LoadPlan](ctx, e, e.inspectConn(conn), c.toolParams)
			_ = conn.Close()
			if err != nil {
				return err
			}
			results = append(results, plan)
			if e.g.output != "json" {
				printPlan(e, plan)
			}
			continue
		}
		res, err := auditedRun[*inspect.LoadResult](ctx, e, e.inspectConn(conn), c.toolParams)
		_ = conn.Close()
		if err != nil {
			return fmt.Errorf("load on %s: %w", conn.Node(), err)
		}
		results = append(results, res)
		if e.g.output != "json" {
			printPlan(e, &res.LoadPlan)
			if len(res.Killed) > 0 {
				fmt.Fprintf(e.stdout, "  killed (lingering in old code): %s\n", strings.Join(res.Killed, ", "))
			}
			fmt.Fprintf(e.stdout, "  md5 after:  %s\n  loaded\n", res.MD5After)
		}
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, results)
	}
	return nil
}

func printPlan(e *env, p *inspect.LoadPlan) {
	before := p.MD5Before
	if before == "" {
		before = "(not loaded)"
	}
	fmt.Fprintf(e.stdout, "%s: module %s\n  md5 before: %s\n  md5 new:    %s\n", p.Node, p.Module, before, p.MD5New)
	if p.AlreadyLoaded {
		fmt.Fprintln(e.stdout, "  this version is already loaded")
	}
	fmt.Fprintf(e.stdout, "  old code present: %t", p.OldCode)
	if len(p.Lingering) > 0 {
		fmt.Fprintf(e.stdout, " (run by %s)", strings.Join(p.Lingering, ", "))
	}
	fmt.Fprintln(e.stdout)
}
