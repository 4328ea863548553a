package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/inspect"
)

type appsCmd struct {
	node, env string
}

func registerApps(app *kingpin.Application, register func(string, command)) {
	c := &appsCmd{}
	cmd := app.Command("apps", "Applications loaded and running, with versions; --env APP shows one application's environment.")
	cmd.Arg("node", "Node name.").Required().StringVar(&c.node)
	cmd.Flag("env", "Show the environment of this application.").StringVar(&c.env)
	register(cmd.FullCommand(), c)
}

func (c *appsCmd) run(ctx context.Context, e *env) error {
	if e.g.server != "" && c.env == "" {
		var res struct {
			Node         string        `json:"node"`
			Applications []inspect.App `json:"applications"`
		}
		if err := e.fromServer(ctx, c.node, "apps", nil, &res); err != nil {
			return err
		}
		if e.g.output == "json" {
			return writeJSON(e.stdout, res)
		}
		return printApps(e, res.Applications)
	}
	conn, err := e.dial(ctx, c.node)
	if err != nil {
		return err
	}
	defer conn.Close()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	if c.env != "" {
		env, err := inspect.AppEnv(ctx, conn, c.env)
		if err != nil {
			return err
		}
		if e.g.output == "json" {
			return writeJSON(e.stdout, map[string]any{"node": conn.Node(), "application": c.env, "env": env})
		}
		fmt.Fprintln(tw, "KEY\tVALUE")
		for _, kv := range env {
			fmt.Fprintf(tw, "%s\t%s\n", kv.Key, kv.Value)
		}
		return tw.Flush()
	}
	apps, err := inspect.Apps(ctx, conn)
	if err != nil {
		return err
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, map[string]any{"node": conn.Node(), "applications": apps})
	}
	return printApps(e, apps)
}

func printApps(e *env, apps []inspect.App) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APPLICATION\tVERSION\tSTATE\tDESCRIPTION")
	for _, a := range apps {
		state := "loaded"
		if a.Running {
			state = "running"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Name, a.Version, state, a.Description)
	}
	return tw.Flush()
}
