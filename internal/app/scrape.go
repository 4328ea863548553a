package app

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/beamctl/beamctl/internal/capture"
	"github.com/beamctl/beamctl/internal/collector"
	"github.com/beamctl/beamctl/internal/store"
	"github.com/beamctl/beamctl/internal/web"
)

// collect runs the collectors that are due on one node, every tick of the
// shortest collector interval, into the store.
func (a *App) collect(ctx context.Context, run *clusterRun, node string) {
	defer run.wg.Done()
	tick := time.NewTicker(run.set.Tick())
	defer tick.Stop()
	sched := run.set.NewSchedule()
	stale := run.stale.of(node)
	if ended := stale.keep(run.set.Names(), time.Now()); len(ended) > 0 { // collectors a reload turned off
		if err := a.db.Append(ctx, ended); err != nil {
			a.log.Error("Cannot end the series of collectors turned off", "cluster", run.cfg.Name, "node", node, "err", err)
		}
	}
	agent := &agentLoader{}
	period := run.set.Tick()
	for due := time.Now(); ; due = due.Add(period) {
		start := time.Now()
		if skipped := int(start.Sub(due) / period); skipped > 0 { // ticks dropped while a round overran
			a.rounds.miss(run.cfg.Name, skipped)
			due = due.Add(time.Duration(skipped) * period)
		}
		a.collectOnce(ctx, run, node, sched.Due(start), stale, agent)
		a.rounds.observe(run.cfg.Name, due, start, time.Since(start), period)
		select {
		case <-ctx.Done():
			if errors.Is(context.Cause(ctx), errForgotten) {
				a.endSeries(run.cfg.Name, node, stale)
				run.stale.forget(node)
			}
			return
		case <-tick.C:
		}
	}
}

// endSeries writes staleness markers for every series of a node beamctl
// forgets, so that they end now rather than after the lookback.
func (a *App) endSeries(cluster, node string, stale *staleTracker) {
	now := time.Now()
	base := []store.Label{{Name: "cluster", Value: cluster}, {Name: "node", Value: node}}
	samples := append(stale.all(now), store.Sample{Labels: append([]store.Label{{Name: "__name__", Value: "beamctl_node_up"}}, base...),
		Time: now, Value: store.StaleNaN})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.db.Append(ctx, samples); err != nil {
		a.log.Error("Cannot end the series of a forgotten node", "cluster", cluster, "node", node, "err", err)
	}
}

func (a *App) collectOnce(ctx context.Context, run *clusterRun, node string, due []string, stale *staleTracker, agent *agentLoader) {
	cluster, pool := run.cfg.Name, run.pool
	now := time.Now()
	base := []store.Label{{Name: "cluster", Value: cluster}, {Name: "node", Value: node}}
	up := 0.0
	var samples []store.Sample
	cctx, cancel := context.WithTimeout(ctx, time.Duration(run.global.CollectTimeout))
	defer cancel()
	conn, connErr := pool.Conn(cctx, node)
	if connErr == nil {
		up = 1
		var cc collector.Conn = conn
		if run.cfg.AgentEnabled() && a.ensureAgent(cctx, agent, conn, cluster) {
			cc = collector.WithAgent(conn)
		}
		collected := run.set.CollectOnly(cctx, cc, due)
		a.learn(cluster, node, run.cfg.Family, collected)
		a.mu.Lock()
		for _, s := range collected {
			a.metadata[s.Name] = web.Metadata{Type: s.Type.String(), Help: s.Help}
		}
		a.mu.Unlock()
		byCollector := map[string][][]store.Label{}
		succeeded := map[string]bool{}
		for _, s := range collected {
			lbls := append([]store.Label{{Name: "__name__", Value: s.Name}}, base...)
			for _, l := range s.Labels {
				lbls = append(lbls, store.Label{Name: l.Name, Value: l.Value})
			}
			samples = append(samples, store.Sample{Labels: lbls, Time: now, Value: s.Value})
			byCollector[s.Collector] = append(byCollector[s.Collector], lbls)
			if s.Name == "beamctl_collector_success" && s.Value == 1 {
				succeeded[s.Collector] = true
			}
		}
		for _, name := range due {
			if succeeded[name] { // a collector that failed (timed out) ends none of its series
				samples = append(samples, stale.update(name, byCollector[name], now)...)
			}
		}
	} else if !errors.Is(connErr, context.DeadlineExceeded) && !errors.Is(connErr, context.Canceled) {
		// The node is down or unreachable: its series end, as Prometheus
		// ends a failed target's. A round that only ran out of time (a
		// loaded node, a connection being set up) ends nothing.
		samples = append(samples, stale.all(now)...)
	}
	samples = append(samples, store.Sample{Labels: append([]store.Label{{Name: "__name__", Value: "beamctl_node_up"}}, base...), Time: now, Value: up})
	a.mu.Lock()
	var sm *capture.Sysmon
	var codeLoads map[string]float64
	if info := a.nodes[nodeKey{cluster, node}]; info != nil {
		sm = info.sysmon
		codeLoads = maps.Clone(info.codeLoads)
	}
	a.mu.Unlock()
	if up == 1 {
		for origin, v := range codeLoads {
			samples = append(samples, store.Sample{Labels: append([]store.Label{{Name: "__name__", Value: "beamctl_code_loads_total"}},
				append(base, store.Label{Name: "origin", Value: origin})...), Time: now, Value: v})
		}
		var series [][]store.Label
		if sm != nil {
			for event, v := range sm.Counts() {
				l := append([]store.Label{{Name: "__name__", Value: "erlang_vm_system_monitor_events_total"}},
					append(base, store.Label{Name: "event", Value: event})...)
				samples = append(samples, store.Sample{Labels: l, Time: now, Value: v})
				series = append(series, l)
			}
		}
		// The monitor's series end when it stops (turned off by a reload),
		// as the collectors' do.
		samples = append(samples, stale.update(sysmonSeries, series, now)...)
	}
	if err := a.db.Append(ctx, samples); err != nil {
		a.log.Error("Cannot store samples", "cluster", cluster, "node", node, "err", err)
		return
	}
	a.mu.Lock()
	info := a.info(cluster, node)
	info.lastCollect = now
	info.series[len(due) == len(run.set.Names())] = len(samples)
	a.mu.Unlock()
}

// staleTrackers are the staleTracker of each node of a cluster. They
// outlive a run restarted by a reload with its pool, so that the series
// written before the reload still end.
type staleTrackers struct {
	mu sync.Mutex
	m  map[string]*staleTracker
}

// of returns the node's tracker, created on first use.
func (t *staleTrackers) of(node string) *staleTracker {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m[node] == nil {
		t.m[node] = &staleTracker{last: map[string]map[string][]store.Label{}}
	}
	return t.m[node]
}

func (t *staleTrackers) forget(node string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, node)
}

// sysmonSeries is the staleTracker's name for the system_monitor counts'
// series (not a collector's).
const sysmonSeries = "(system_monitor)"

// staleTracker remembers the series each collector last wrote for one
// node, so that a series that disappears (a process no longer the longest
// queue, a peer disconnected, a deleted table) gets a staleness marker, as
// Prometheus writes when a series leaves a scrape, instead of lingering in
// queries for the five-minute lookback.
type staleTracker struct {
	last map[string]map[string][]store.Label // collector -> series key -> labels
}

func seriesKey(l []store.Label) string {
	var b strings.Builder
	for _, x := range l {
		b.WriteString(x.Name)
		b.WriteByte(0)
		b.WriteString(x.Value)
		b.WriteByte(0)
	}
	return b.String()
}

// update records what the collector wrote now and returns staleness
// markers for the series it wrote last time and not now.
func (st *staleTracker) update(collector string, series [][]store.Label, now time.Time) []store.Sample {
	cur := make(map[string][]store.Label, len(series))
	for _, l := range series {
		cur[seriesKey(l)] = l
	}
	var out []store.Sample
	for k, l := range st.last[collector] {
		if _, ok := cur[k]; !ok {
			out = append(out, store.Sample{Labels: l, Time: now, Value: store.StaleNaN})
		}
	}
	st.last[collector] = cur
	return out
}

// keep returns staleness markers for the series of the collectors not in
// names (turned off), and forgets them.
func (st *staleTracker) keep(names []string, now time.Time) []store.Sample {
	var out []store.Sample
	for c, series := range st.last {
		if c == sysmonSeries || slices.Contains(names, c) {
			continue
		}
		for _, l := range series {
			out = append(out, store.Sample{Labels: l, Time: now, Value: store.StaleNaN})
		}
		delete(st.last, c)
	}
	return out
}

// all marks every series stale (the node is gone) and forgets them.
func (st *staleTracker) all(now time.Time) []store.Sample {
	var out []store.Sample
	for c, series := range st.last {
		for _, l := range series {
			out = append(out, store.Sample{Labels: l, Time: now, Value: store.StaleNaN})
		}
		delete(st.last, c)
	}
	return out
}
