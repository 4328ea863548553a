package app

import (
	"context"
	"fmt"
	"time"

	"github.com/beamctl/beamctl/internal/capture"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/journal"
)

// sysmonSlot keeps beamctl's system_monitor on one connection: a node
// has one slot, which beamctl never takes from another owner (unless
// system_monitor_steal). At every poll it checks the slot: while another
// process has it, beamctl waits; once it is free, beamctl takes it; if
// another process takes it from beamctl, beamctl lets it go and waits
// again. Each change is a notification.
type sysmonSlot struct {
	a       *App
	conn    *dist.Conn
	cluster string
	opts    capture.SysmonOptions
	timeout time.Duration

	sm     *capture.Sysmon
	cancel context.CancelFunc // ends sm's event forwarding
	wait   func()             // waits for it, then stops sm
	taken  bool               // the last attempt found the slot taken
}

// poll takes the slot if beamctl does not hold it and it is free, or
// lets it go if another process took it.
// checks answers the slot check if it was fetched with the poll's others.
func (s *sysmonSlot) poll(ctx context.Context, checks capture.Caller) {
	node := s.conn.Node()
	if s.sm != nil {
		cctx, cancel := context.WithTimeout(ctx, s.timeout)
		holds, err := s.sm.HoldsVia(cctx, checks)
		cancel()
		if err != nil || holds {
			return
		}
		s.release()
		s.a.record(journal.Notification{Time: time.Now(), Cluster: s.cluster, Node: node, Kind: "system_monitor_taken", Severity: journal.Info,
			Text: fmt.Sprintf("Node %s: another process took the system_monitor slot from beamctl; beamctl waits until it is free.", node)})
		s.taken = true
	}
	sctx, cancel := context.WithTimeout(ctx, s.timeout)
	sm, err := capture.StartSysmon(sctx, s.conn, s.opts)
	cancel()
	switch {
	case capture.IsTaken(err):
		if !s.taken {
			s.a.record(journal.Notification{Time: time.Now(), Cluster: s.cluster, Node: node, Kind: "system_monitor_taken", Severity: journal.Info,
				Text: fmt.Sprintf("Node %s: %v; beamctl takes it when it is free.", node, err)})
		}
		s.taken = true
		return
	case err != nil:
		s.a.log.Warn("Cannot start the system monitor", "cluster", s.cluster, "node", node, "err", err)
		return
	}
	if s.taken {
		s.a.record(journal.Notification{Time: time.Now(), Cluster: s.cluster, Node: node, Kind: "system_monitor_acquired", Severity: journal.Info,
			Text: fmt.Sprintf("Node %s: the system_monitor slot is free again; beamctl took it.", node)})
	}
	s.taken = false
	k := nodeKey{s.cluster, node}
	s.a.mu.Lock()
	s.a.info(s.cluster, node).sysmon = sm
	s.a.mu.Unlock()
	ectx, ecancel := context.WithCancel(ctx)
	s.sm, s.cancel = sm, ecancel
	s.wait = s.a.forward(sm.Events(ectx), s.cluster, func() {
		s.a.mu.Lock()
		if info := s.a.nodes[k]; info != nil && info.sysmon == sm {
			info.sysmon = nil
		}
		s.a.mu.Unlock()
		stctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		defer cancel()
		_ = sm.Stop(stctx) // fails only if the node is gone, which gives the slot back too
	})
}

// release stops beamctl's monitor, if it runs (its process gives the slot
// back only if it still holds it).
func (s *sysmonSlot) release() {
	if s.sm == nil {
		return
	}
	s.cancel()
	s.wait()
	s.sm, s.cancel, s.wait = nil, nil, nil
}
