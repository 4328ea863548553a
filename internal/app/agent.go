package app

import (
	"context"
	"fmt"
	"time"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/journal"
)

// Backoff of the attempts to load beamctl_agent on a node that refused it.
const (
	agentMinBackoff = 30 * time.Second
	agentMaxBackoff = 10 * time.Minute
)

// agentLoader loads beamctl_agent on one node for its collection loop. A
// node that refuses it (no compiler and an OTP that cannot load the
// precompiled module, a sticky module...) is not asked again every round:
// the attempts back off from agentMinBackoff to agentMaxBackoff, and start
// again on a new connection. The refusal is logged and recorded once per
// connection.
type agentLoader struct {
	conn  *dist.Conn // the connection of the failures
	ok    bool       // loaded on conn (the audit log has its record)
	fails int
	next  time.Time // no attempt before
}

// ensureAgent reports whether the agent is loaded on conn, loading it if the
// backoff allows.
func (a *App) ensureAgent(ctx context.Context, l *agentLoader, conn *dist.Conn, cluster string) bool {
	now := time.Now()
	if l.conn != conn { // a new connection (the node may have restarted): try at once
		*l = agentLoader{conn: conn}
	}
	if now.Before(l.next) {
		return false
	}
	end, err := a.auditAgentLoad(l, conn, cluster)
	if err != nil {
		a.log.Error("Not loading beamctl_agent", "cluster", cluster, "node", conn.Node(), "err", err)
		return false
	}
	loaded, err := inspect.EnsureAgent(ctx, conn)
	end(loaded, err)
	if err == nil {
		l.fails, l.next = 0, time.Time{}
		return true
	}
	wait := agentMinBackoff << min(l.fails, 10)
	wait = min(wait, agentMaxBackoff)
	l.fails++
	l.next = now.Add(wait)
	node := conn.Node()
	if l.fails > 1 {
		a.log.Debug("Cannot load beamctl_agent again", "cluster", cluster, "node", node, "retry_in", wait, "err", err)
		return false
	}
	a.log.Warn("Cannot load beamctl_agent; its collectors report nothing", "cluster", cluster, "node", node, "retry_in", wait, "err", err)
	a.record(journal.Notification{Time: now, Cluster: cluster, Node: node, Kind: "agent_refused", Severity: journal.Warning,
		Text: fmt.Sprintf("Node %s cannot load beamctl_agent: %v. The collectors that need it report nothing; "+
			"beamctl tries again in %s, then less and less often (at most every %s), and at once on a new connection.",
			node, err, wait, agentMaxBackoff),
		Fields: map[string]string{"error": err.Error()}})
	return false
}
