package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/inspect"
)

type suptreeCmd struct {
	node string
	*toolParams
}

func registerSuptree(app *kingpin.Application, register func(string, command)) {
	c := &suptreeCmd{}
	cmd := app.Command("suptree", inspect.MustLookup("suptree").Summary)
	cmd.Arg("node", "Node name.").Required().StringVar(&c.node)
	c.toolParams = declareTool(cmd, "suptree")
	register(cmd.FullCommand(), c)
}

func (c *suptreeCmd) run(ctx context.Context, e *env) error {
	res, err := runTool[*inspect.SupTreeResult](ctx, e, c.node, c.toolParams)
	if err != nil {
		return err
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, res)
	}
	printSupTree(e.stdout, res)
	return nil
}

// printSupTree writes each application and its tree indented, as observer
// shows it: id, pid, type and modules, then the children two spaces in.
func printSupTree(w io.Writer, res *inspect.SupTreeResult) {
	for _, a := range res.Applications {
		switch {
		case a.Error != "":
			fmt.Fprintf(w, "%s: %s\n", a.Name, a.Error)
		case a.Tree == nil:
			fmt.Fprintf(w, "%s (no supervisor)\n", a.Name)
		default:
			fmt.Fprintln(w, a.Name)
			printSupNode(w, a.Tree, 1)
		}
	}
}

func printSupNode(w io.Writer, n *inspect.SupNode, level int) {
	indent := strings.Repeat("  ", level)
	line := fmt.Sprintf("%s%s  %s  %s", indent, n.ID, n.Pid, n.Type)
	if len(n.Modules) > 0 {
		line += "  " + strings.Join(n.Modules, ",")
	}
	if n.Error != "" {
		line += "  (" + n.Error + ")"
	}
	fmt.Fprintln(w, line)
	for i := range n.Children {
		printSupNode(w, &n.Children[i], level+1)
	}
	if t := n.TruncationText(); t != "" {
		fmt.Fprintf(w, "%s  ... %s\n", indent, t)
	}
}
