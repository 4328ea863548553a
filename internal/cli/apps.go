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
	*toolParams
}

func registerApps(app *kingpin.Application, register func(string, command)) {
	c := &appsCmd{}
	cmd := app.Command("apps", inspect.MustLookup("apps").Summary+" --env APP shows one application's environment.")
	cmd.Arg("node", "Node name.").Required().StringVar(&c.node)
	c.toolParams = declareTool(cmd, "apps")
	cmd.Flag("env", "Show the environment of this application.").StringVar(&c.env)
	register(cmd.FullCommand(), c)
}

func (c *appsCmd) run(ctx context.Context, e *env) error {
	if c.env != "" {
		return c.runEnv(ctx, e)
	}
	res, err := runTool[*inspect.AppsResult](ctx, e, c.node, c.toolParams)
	if err != nil {
		return err
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, res)
	}
	return printApps(e, res.Applications)
}

// runEnv shows one application's environment: the registry's app_env,
// which no server runs (environments hold passwords).
func (c *appsCmd) runEnv(ctx context.Context, e *env) error {
	t := inspect.MustLookup("app_env")
	args, err := t.Parse(map[string]string{"app": c.env})
	if err != nil {
		return err
	}
	res, err := runTool[*inspect.AppEnvResult](ctx, e, c.node, &toolParams{tool: t, args: args, strs: map[string]*string{"app": &c.env}})
	if err != nil {
		return err
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, res)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tVALUE")
	for _, kv := range res.Env {
		fmt.Fprintf(tw, "%s\t%s\n", kv.Key, kv.Value)
	}
	return tw.Flush()
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
