package collector

import (
	"context"
	"fmt"

	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/termtext"
)

func init() {
	registerCollector("message_queues", true, func() Collector { return messageQueuesCollector{} })
}

// messageQueuesCollector reports the message queues of all processes (up
// to procScanLimit): messages waiting, non-empty queues, the longest queue
// and which process has it. It needs beamctl_agent; its walk of the
// process table is shared with the shells collector (procscan.go).
type messageQueuesCollector struct{}

func (messageQueuesCollector) Update(ctx context.Context, c Conn, dst *Samples) error {
	if !agentLoaded(c) {
		return fmt.Errorf("%w: the message queue scan needs beamctl_agent (agent: false)", ErrNoData)
	}
	t, _, err := procScan(ctx, c)
	if err != nil {
		return err
	}
	scanned, _ := num(t[0])
	total, _ := num(t[1])
	nonEmpty, _ := num(t[2])
	longest, _ := num(t[3])
	dst.Add(Sample{Name: "erlang_vm_message_queue_scanned_processes", Help: "Processes whose message queue the last scan looked at (bounded).", Value: scanned})
	dst.Add(Sample{Name: "erlang_vm_message_queue_messages", Help: "Messages waiting in all scanned processes' queues.", Value: total})
	dst.Add(Sample{Name: "erlang_vm_message_queue_nonempty", Help: "Scanned processes with at least one message waiting.", Value: nonEmpty})
	dst.Add(Sample{Name: "erlang_vm_message_queue_max_length", Help: "Length of the longest message queue.", Value: longest})
	if pid, ok := t[4].(etf.Pid); ok {
		name := ""
		if a, ok := t[5].(etf.Atom); ok && a != "undefined" {
			name = string(a)
		}
		dst.Add(Sample{Name: "erlang_vm_message_queue_longest_info", Help: "The process with the longest message queue (value 1).",
			Labels: []Label{{"pid", termtext.FormatWith(pid, termtext.Options{LocalNode: etf.Atom(c.Node())})}, {"name", name}}, Value: 1})
	}
	return nil
}
