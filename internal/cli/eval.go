package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/termtext"
)

type evalCmd struct {
	node string
	yes  bool
	*toolParams
}

func registerEval(app *kingpin.Application, register func(string, command)) {
	c := &evalCmd{}
	cmd := app.Command("eval", "Evaluate Erlang expressions on a node (erl_eval). Asks for confirmation unless --yes; "+
		"every eval is written to the local audit log (~/.local/state/beamctl/audit.log) before it runs.")
	cmd.Arg("node", "Node name.").Required().StringVar(&c.node)
	c.toolParams = declareTool(cmd, "eval")
	cmd.Flag("yes", "Do not ask for confirmation.").Short('y').BoolVar(&c.yes)
	register(cmd.FullCommand(), c)
}

// stdin is replaced in tests.
var stdin = os.Stdin

func (c *evalCmd) run(ctx context.Context, e *env) error {
	node, err := nodeName(c.node)
	if err != nil {
		return err
	}
	expr := strings.TrimSpace(c.args.String("expression"))
	if !strings.HasSuffix(expr, ".") {
		expr += "."
	}
	if !c.yes {
		fi, err := stdin.Stat()
		if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			return errors.New("eval runs code on a production node and needs confirmation: pass --yes when not run from a terminal")
		}
		fmt.Fprintf(e.stderr, "Evaluate on %s:\n  %s\nProceed? [y/N] ", node, expr)
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			return errors.New("not confirmed, nothing was evaluated (pass --yes to skip the question)")
		}
	}
	conn, err := e.dial(ctx, node)
	if err != nil {
		return err
	}
	defer conn.Close()
	v, err := auditedRun[etf.Term](ctx, e, conn, c.toolParams)
	if err != nil {
		return err
	}
	local := termtext.Options{LocalNode: etf.Atom(conn.Node())}
	if e.g.output == "json" {
		return writeJSON(e.stdout, map[string]any{"node": conn.Node(), "result": termJSON(v, local.LocalNode), "text": termtext.FormatWith(v, local)})
	}
	fmt.Fprintln(e.stdout, termtext.FormatPrettyWith(v, local))
	return nil
}
