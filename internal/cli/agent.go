package cli

import (
	"context"
	"fmt"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/inspect"
)

type agentRemoveCmd struct {
	node string
}

func registerAgent(app *kingpin.Application, register func(string, command)) {
	agent := app.Command("agent", "Manage the helper module beamctl compiles and loads on nodes for scans (beamctl_agent).")
	c := &agentRemoveCmd{}
	rm := agent.Command("remove", "Purge and delete beamctl_agent from a node, and remove the logger handlers beamctl installed there "+
		"(a beamctl serve that still watches the node installs its log forwarder again at its next connection).")
	rm.Arg("node", "Node name.").Required().StringVar(&c.node)
	register(rm.FullCommand(), c)
}

func (c *agentRemoveCmd) run(ctx context.Context, e *env) error {
	conn, err := e.dial(ctx, c.node)
	if err != nil {
		return err
	}
	defer conn.Close()
	end, err := e.auditBegin("agent.remove", conn.Node(), nil)
	if err != nil {
		return fmt.Errorf("write the audit log (nothing was removed): %w", err)
	}
	handlers, err := inspect.RemoveLogHandlers(ctx, conn) // first: the log counter calls the agent
	var was bool
	if err == nil {
		was, err = inspect.RemoveAgent(ctx, conn)
	}
	end(err)
	if err != nil {
		return err
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, map[string]any{"node": conn.Node(), "module": inspect.AgentModule, "removed": was,
			"removed_log_handlers": nonNilStrings(handlers)})
	}
	for _, h := range handlers {
		fmt.Fprintf(e.stdout, "Removed logger handler %s from %s.\n", h, conn.Node())
	}
	if was {
		fmt.Fprintf(e.stdout, "Removed %s from %s.\n", inspect.AgentModule, conn.Node())
	} else {
		fmt.Fprintf(e.stdout, "%s was not loaded on %s.\n", inspect.AgentModule, conn.Node())
	}
	return nil
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
