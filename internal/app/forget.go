package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/beamctl/beamctl/internal/alarm"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/journal"
)

// errForgotten ends a node's loops when beamctl forgets the node.
var errForgotten = errors.New("node forgotten")

// nodeLoops are one node's collection and capture loops.
type nodeLoops struct {
	seen   time.Time // last found by discovery
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup
}

// startNode starts collecting and watching a node. The loops end with ctx
// or when the node is forgotten.
func (a *App) startNode(ctx context.Context, run *clusterRun, node string) *nodeLoops {
	nctx, cancel := context.WithCancelCause(ctx)
	l := &nodeLoops{cancel: cancel}
	mnesiaUp := make(chan struct{}, 1) // the collector found mnesia running: watch it now
	l.wg.Add(2)
	run.wg.Add(2)
	go func() {
		defer l.wg.Done()
		a.collect(nctx, run, node, mnesiaUp)
	}()
	go func() {
		defer l.wg.Done()
		a.watch(nctx, run, node, mnesiaUp)
	}()
	return l
}

// forgetGone forgets the discovered nodes that are not up and that
// discovery has not found for ForgetAfter (a node that left DNS or epmd
// for good). Nodes listed in the configuration stay.
func (a *App) forgetGone(ctx context.Context, run *clusterRun, known map[string]*nodeLoops, listed map[string]bool) {
	after := time.Duration(run.global.ForgetAfter)
	state := map[string]dist.State{}
	for _, st := range run.pool.Status() {
		state[st.Node] = st.State
	}
	for node, l := range known {
		if listed[node] || time.Since(l.seen) < after || state[node] == dist.StateUp {
			continue
		}
		a.forget(ctx, run, node, l)
		delete(known, node)
	}
}

// forget stops a node's loops (its collector writes staleness markers for
// its series), closes its connection for good, clears its node_down alarm
// with the reason "left the cluster" and records that it left.
func (a *App) forget(ctx context.Context, run *clusterRun, node string, l *nodeLoops) {
	cluster := run.cfg.Name
	l.cancel(errForgotten)
	l.wg.Wait()
	k := nodeKey{cluster, node}
	a.mu.Lock()
	a.leaving[k] = true // node_down does not see it any more
	a.mu.Unlock()
	if _, err := a.alarms.Resolve(ctx, alarm.Key{Rule: "node_down", Cluster: cluster, Node: node}, "left the cluster"); err != nil {
		a.log.Error("Cannot clear the node_down alarm of a node that left", "cluster", cluster, "node", node, "err", err)
	}
	run.pool.Forget(node)
	a.mu.Lock()
	delete(a.leaving, k)
	delete(a.nodes, k)
	a.mu.Unlock()
	after := time.Duration(run.global.ForgetAfter)
	a.log.Info("Node left the cluster; forgotten", "cluster", cluster, "node", node, "after", after)
	a.record(journal.Notification{Time: time.Now(), Cluster: cluster, Node: node, Kind: "node_left", Severity: journal.Info,
		Text:   fmt.Sprintf("Node %s left the cluster: down and not found by discovery for %s, it is forgotten.", node, after),
		Fields: map[string]string{"forget_after": after.String()}})
}
