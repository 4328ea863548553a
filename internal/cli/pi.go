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

type piCmd struct {
	node string
	*toolParams
}

func registerPI(app *kingpin.Application, register func(string, command)) {
	c := &piCmd{}
	cmd := app.Command("pi", inspect.MustLookup("pi").Summary)
	cmd.Arg("node", "Node name.").Required().StringVar(&c.node)
	c.toolParams = declareTool(cmd, "pi")
	register(cmd.FullCommand(), c)
}

func (c *piCmd) run(ctx context.Context, e *env) error {
	pi, err := runTool[*inspect.ProcInfo](ctx, e, c.node, c.toolParams)
	if err != nil {
		return err
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, pi)
	}
	printPI(e.stdout, pi, e.elixir(elixirNames(pi.RegisteredName, pi.InitialCall, pi.CurrentFunction)))
	return nil
}

// printPI prints in the shape of ectl's pi (seed 000); ex writes names,
// MFAs and pids as Elixir does.
func printPI(w io.Writer, pi *inspect.ProcInfo, ex bool) {
	spell, pid := func(s string) string { return s }, pi.Pid
	if ex {
		spell, pid = termtext.ElixirName, "#PID"+pi.Pid
	}
	frame := func(f inspect.Frame) string {
		f.MFA = spell(f.MFA)
		return f.String()
	}
	name := ""
	if pi.RegisteredName != "" {
		name = " (" + spell(pi.RegisteredName) + ")"
	}
	fmt.Fprintf(w, "Process %s%s:\n\n", pid, name)
	if pi.CurrentLocation != nil {
		fmt.Fprintf(w, "Current location is %s\n", frame(*pi.CurrentLocation))
	}
	fmt.Fprintf(w, "Current function is %s\n", spell(pi.CurrentFunction))
	fmt.Fprintf(w, "Initial call is %s\n", spell(pi.InitialCall))
	fmt.Fprintf(w, "Status is %s, priority %s, trap_exit %t\n", pi.Status, pi.Priority, pi.TrapExit)
	fmt.Fprintf(w, "Message queue length is %d\n", pi.MessageQueueLen)
	fmt.Fprintf(w, "Process size: %d bytes (heap=%d stack=%d total=%d)\n", pi.MemoryBytes, pi.HeapBytes, pi.StackBytes, pi.TotalHeapBytes)
	fmt.Fprintf(w, "Reductions: %d\n", pi.Reductions)
	fmt.Fprintf(w, "Group leader: %s\n", pi.GroupLeader)
	fmt.Fprintf(w, "Links: %s\n", list(pi.Links))
	fmt.Fprintf(w, "Monitors: %s\n", list(pi.Monitors))
	fmt.Fprintf(w, "Monitored by: %s\n", list(pi.MonitoredBy))
	fmt.Fprintf(w, "\nCurrent stack depth is %d:\n", len(pi.Stack))
	for i, f := range pi.Stack {
		fmt.Fprintf(w, "%d: %s\n", i+1, frame(f))
	}
	fmt.Fprintln(w, "\nDictionary")
	for _, d := range pi.Dictionary {
		k, v := d.Key, d.Value
		if ex && d.KeyElixir != "" {
			k = d.KeyElixir
		}
		if ex && d.ValueElixir != "" {
			v = d.ValueElixir
		}
		fmt.Fprintf(w, "  %s = %s\n", k, v)
	}
}

func list(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
