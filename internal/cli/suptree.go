package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/termtext"
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
	printSupTree(e.stdout, res, e.elixir(supTreeElixir(res)))
	return nil
}

// supTreeElixir reports whether a tree has supervisors or workers of
// Elixir modules.
func supTreeElixir(res *inspect.SupTreeResult) bool {
	var walk func(n *inspect.SupNode) bool
	walk = func(n *inspect.SupNode) bool {
		if elixirNames(append([]string{n.ID}, n.Modules...)...) {
			return true
		}
		for i := range n.Children {
			if walk(&n.Children[i]) {
				return true
			}
		}
		return false
	}
	for _, a := range res.Applications {
		if a.Tree != nil && walk(a.Tree) {
			return true
		}
	}
	return false
}

// printSupTree writes each application and its tree indented, as observer
// shows it: id, pid, type and modules, then the children two spaces in;
// ex writes ids, modules and pids as Elixir does.
func printSupTree(w io.Writer, res *inspect.SupTreeResult, ex bool) {
	sp := supSpelling{id: func(s string) string { return s }, pid: func(s string) string { return s }}
	if ex {
		sp = supSpelling{id: termtext.ElixirName, pid: func(s string) string {
			if strings.HasPrefix(s, "<") {
				return "#PID" + s
			}
			return s
		}}
	}
	for _, a := range res.Applications {
		switch {
		case a.Error != "":
			fmt.Fprintf(w, "%s: %s\n", a.Name, a.Error)
		case a.Tree == nil:
			fmt.Fprintf(w, "%s (no supervisor)\n", a.Name)
		default:
			fmt.Fprintln(w, a.Name)
			printSupNode(w, a.Tree, 1, sp)
		}
	}
}

// supSpelling spells a tree's ids and modules, and its pids.
type supSpelling struct{ id, pid func(string) string }

func printSupNode(w io.Writer, n *inspect.SupNode, level int, sp supSpelling) {
	indent := strings.Repeat("  ", level)
	line := fmt.Sprintf("%s%s  %s  %s", indent, sp.id(n.ID), sp.pid(n.Pid), n.Type)
	if len(n.Modules) > 0 {
		mods := make([]string, len(n.Modules))
		for i, m := range n.Modules {
			mods[i] = sp.id(m)
		}
		line += "  " + strings.Join(mods, ",")
	}
	if n.Error != "" {
		line += "  (" + n.Error + ")"
	}
	fmt.Fprintln(w, line)
	for i := range n.Children {
		printSupNode(w, &n.Children[i], level+1, sp)
	}
	if t := n.TruncationText(); t != "" {
		fmt.Fprintf(w, "%s  ... %s\n", indent, t)
	}
}
