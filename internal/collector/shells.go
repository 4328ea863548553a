package collector

import (
	"context"
	"fmt"

	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/termtext"
)

func init() {
	registerCollector("shells", true, func() Collector { return shellsCollector{} })
}

// shellsCollector reports the shell processes (local and remote shells'
// servers and evaluators) that hold at least a MiB, with the node where
// the shell's user typed: the ets:tab2list-in-a-shell story, where the
// result kept in the shell's history holds gigabytes. It needs
// beamctl_agent: the bounded walk of the process table it shares with the
// message_queues collector (procscan.go).
type shellsCollector struct{}

func (shellsCollector) Update(ctx context.Context, c Conn, dst *Samples) error {
	if !agentLoaded(c) {
		return fmt.Errorf("%w: the shell scan needs beamctl_agent (agent: false)", ErrNoData)
	}
	_, l, err := procScan(ctx, c)
	if err != nil {
		return err
	}
	local := termtext.Options{LocalNode: etf.Atom(c.Node())}
	for _, e := range l {
		t, err := etf.ToTuple(e, 3)
		if err != nil {
			return fmt.Errorf("beamctl_agent:proc_scan: %w", err)
		}
		mem, _ := num(t[1])
		from, _ := t[2].(etf.Atom)
		dst.Add(Sample{Name: "erlang_vm_shell_process_memory_bytes", Help: "Memory of a shell process holding at least 1 MiB, with where its user typed.",
			Labels: []Label{{"pid", termtext.FormatWith(t[0], local)}, {"from_node", string(from)}}, Value: mem})
	}
	return nil
}
