package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

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
	if err := audit("eval", node, expr); err != nil {
		return fmt.Errorf("write the audit log (nothing was evaluated): %w", err)
	}
	conn, err := e.dial(ctx, node)
	if err != nil {
		return err
	}
	defer conn.Close()
	v, err := runOn[etf.Term](ctx, conn, c.tool, c.args)
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

// auditPath is where actions that change nodes are recorded:
// $XDG_STATE_HOME/beamctl/audit.log, else ~/.local/state/beamctl/audit.log.
func auditPath() (string, error) {
	if d := osGetenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "beamctl", "audit.log"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "state", "beamctl", "audit.log"), nil
}

// audit appends one JSON line (time, user, action, node, detail) to the
// audit log, synced to disk before the action runs.
func audit(action, node, detail string) error {
	p, err := auditPath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	line, err := json.Marshal(map[string]string{
		"time": time.Now().UTC().Format(time.RFC3339Nano), "user": name, "action": action, "node": node, "detail": detail,
	})
	if err != nil {
		_ = f.Close()
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
