package app

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/beamctl/beamctl/internal/capture"
	"github.com/beamctl/beamctl/internal/collector"
	"github.com/beamctl/beamctl/internal/store"
	"github.com/beamctl/beamctl/internal/web"
)

// collect runs the collectors that are due on one node, every tick of the
// shortest collector interval, into the store.
func (a *App) collect(ctx context.Context, run *clusterRun, node string, mnesiaUp chan<- struct{}) {
	defer run.wg.Done()
	if !sleepCtx(ctx, startOffset(run.cfg.Name, node, run.set.Tick())) {
		if errors.Is(context.Cause(ctx), errForgotten) { // series of an earlier run may be left
			a.endSeries(run.cfg.Name, node, run.stale.of(node))
			run.stale.forget(node)
		}
		return
	}
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
		a.collectOnce(ctx, run, node, sched.Due(start), stale, agent, mnesiaUp)
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

// startOffset is when, within the first tick, a node's loops start: a
// fixed spread of the nodes over the tick, as Prometheus spreads its
// targets' scrapes over the interval, so that thousands of nodes are not
// dialled and collected in the same instant every tick.
func startOffset(cluster, node string, tick time.Duration) time.Duration {
	if tick <= 0 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(cluster + "\x00" + node))
	return time.Duration(h.Sum64() % uint64(tick))
}

// sleepCtx waits d, or until ctx ends (then it returns false).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
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

func (a *App) collectOnce(ctx context.Context, run *clusterRun, node string, due []string, stale *staleTracker, agent *agentLoader, mnesiaUp chan<- struct{}) {
	cluster, pool := run.cfg.Name, run.pool
	now := time.Now()
	base := []store.Label{{Name: "cluster", Value: cluster}, {Name: "node", Value: node}}
	up := 0.0
	var samples []store.Sample
	defer func() { putStoreSamples(samples) }()
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
		stale.begin()
		succeeded := map[string]bool{}
		samples = getStoreSamples(len(collected) + 8)
		for _, s := range collected {
			ts, lbls := stale.track(len(samples), s.Collector, s.Name, base, s.Labels)
			samples = append(samples, store.Sample{Labels: lbls, Time: now, Value: s.Value, Ref: ts.ref})
			if s.Name == "beamctl_collector_success" && s.Value == 1 {
				succeeded[s.Collector] = true
			}
			if s.Name == mnesiaRunning {
				select { // the watch subscribes to mnesia's events if it has not yet
				case mnesiaUp <- struct{}{}:
				default:
				}
			}
		}
		for _, name := range due {
			if succeeded[name] { // a collector that failed (timed out) ends none of its series
				samples = append(samples, stale.sweep(name, now)...)
			}
		}
		collector.Recycle(collected)
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
		if sm != nil {
			for event, v := range sm.Counts() {
				ts, lbls := stale.track(len(samples), sysmonSeries, "erlang_vm_system_monitor_events_total", base, []collector.Label{{Name: "event", Value: event}})
				samples = append(samples, store.Sample{Labels: lbls, Time: now, Value: v, Ref: ts.ref})
			}
		}
		// The monitor's series end when it stops (turned off by a reload),
		// as the collectors' do.
		samples = append(samples, stale.sweep(sysmonSeries, now)...)
	}
	err := a.db.Append(ctx, samples)
	if errors.Is(err, store.ErrUnknownRef) { // the head dropped a series: by labels
		stale.fill(samples)
		err = a.db.Append(ctx, samples)
	}
	if err != nil {
		a.log.Error("Cannot store samples", "cluster", cluster, "node", node, "err", err)
		return
	}
	stale.learn(samples)
	a.mu.Lock()
	info := a.info(cluster, node)
	info.lastCollect = now
	info.series[len(due) == len(run.set.Names())] = len(samples)
	a.mu.Unlock()
}

// storeSamples recycles the store samples of a round (see
// collector.Recycle): they are dropped once appended.
var storeSamples sync.Pool // of *[]store.Sample

// getStoreSamples returns an empty list with room for n samples.
func getStoreSamples(n int) []store.Sample {
	if p, _ := storeSamples.Get().(*[]store.Sample); p != nil && cap(*p) >= n {
		return (*p)[:0]
	}
	return make([]store.Sample, 0, n)
}

func putStoreSamples(samples []store.Sample) {
	if cap(samples) == 0 {
		return
	}
	clear(samples)
	samples = samples[:0]
	storeSamples.Put(&samples)
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
		t.m[node] = &staleTracker{last: map[string]map[string]*trackedSeries{}}
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
// queries for the five-minute lookback. It is also the node's series
// cache: each series' store reference is kept, so that a round appends by
// reference (Prometheus' scrape cache). A series keeps only its key, from
// which its labels are built again when the store needs them (a marker,
// a reference the store no longer knows): a label set per series was a
// fifth of the server's heap. Only the node's collection goroutine uses it.
type staleTracker struct {
	last  map[string]map[string]*trackedSeries // collector -> series key -> series
	base  []store.Label                        // the node's own labels (cluster, node)
	round uint64                               // the current round, counted by collectOnce
	key   []byte                               // scratch for series keys
	refs  []sampleOf                           // this round's samples of tracked series
}

// sampleOf says that the sample at index at of a round's samples is of ts.
type sampleOf struct {
	ts *trackedSeries
	at int
}

// begin starts a round.
func (st *staleTracker) begin() {
	st.round++
	clear(st.refs)
	st.refs = st.refs[:0]
}

// trackedSeries is one series a collector writes.
type trackedSeries struct {
	key  string // seriesKey: the name and the collector's labels
	ref  uint64 // the store's reference, 0 until the first append
	seen uint64 // the last round that wrote it
}

// seriesKey appends name and labels to k, each string preceded by its
// length (so that any bytes in a value keep the key unambiguous).
func seriesKey(k []byte, name string, ls []collector.Label) []byte {
	k = append(binary.AppendUvarint(k, uint64(len(name))), name...)
	for _, l := range ls {
		k = append(binary.AppendUvarint(k, uint64(len(l.Name))), l.Name...)
		k = append(binary.AppendUvarint(k, uint64(len(l.Value))), l.Value...)
	}
	return k
}

// labels builds the series' whole label set from its key.
func (st *staleTracker) labels(ts *trackedSeries) []store.Label {
	k := ts.key
	next := func() string { // the inverse of seriesKey's appends
		n, w := binary.Uvarint([]byte(k[:min(len(k), binary.MaxVarintLen64)]))
		if w <= 0 || n > uint64(len(k)-w) { // cannot be: seriesKey wrote it
			k = ""
			return ""
		}
		s := k[w : w+int(n)]
		k = k[w+int(n):]
		return s
	}
	out := append([]store.Label{{Name: "__name__", Value: next()}}, st.base...)
	for k != "" {
		name := next()
		out = append(out, store.Label{Name: name, Value: next()})
	}
	return out
}

// track returns the series name{base, labels} of collector, marked as
// written this round, whose sample the caller puts at index at of the
// round's samples, and the labels to append it with: all of them until
// the store has a reference for it, then none.
func (st *staleTracker) track(at int, collectorName, name string, base []store.Label, ls []collector.Label) (*trackedSeries, []store.Label) {
	if st.base == nil {
		st.base = slices.Clone(base)
	}
	k := seriesKey(st.key[:0], name, ls)
	st.key = k
	series := st.last[collectorName]
	if series == nil {
		series = map[string]*trackedSeries{}
		st.last[collectorName] = series
	}
	ts := series[string(k)] // no allocation for the lookup
	if ts == nil {
		ts = &trackedSeries{key: string(k)}
		series[ts.key] = ts
	}
	ts.seen = st.round
	st.refs = append(st.refs, sampleOf{ts, at})
	if ts.ref != 0 {
		return ts, nil
	}
	return ts, st.labels(ts)
}

// fill gives this round's samples appended by reference their labels,
// for an append again after the store did not know a reference.
func (st *staleTracker) fill(samples []store.Sample) {
	for _, r := range st.refs {
		if r.at < len(samples) && samples[r.at].Labels == nil {
			samples[r.at].Labels = st.labels(r.ts)
		}
	}
}

// sweep returns staleness markers for the series collector wrote before
// and not in this round, and forgets them.
func (st *staleTracker) sweep(collectorName string, now time.Time) []store.Sample {
	var out []store.Sample
	for k, ts := range st.last[collectorName] {
		if ts.seen != st.round {
			out = append(out, store.Sample{Labels: st.labels(ts), Time: now, Value: store.StaleNaN, Ref: ts.ref})
			delete(st.last[collectorName], k)
		}
	}
	return out
}

// learn keeps the store references that the append of this round's
// samples set.
func (st *staleTracker) learn(samples []store.Sample) {
	for _, r := range st.refs {
		if r.at < len(samples) {
			r.ts.ref = samples[r.at].Ref
		}
	}
}

// keep returns staleness markers for the series of the collectors not in
// names (turned off), and forgets them.
func (st *staleTracker) keep(names []string, now time.Time) []store.Sample {
	var out []store.Sample
	for c, series := range st.last {
		if c == sysmonSeries || slices.Contains(names, c) {
			continue
		}
		for _, ts := range series {
			out = append(out, store.Sample{Labels: st.labels(ts), Time: now, Value: store.StaleNaN, Ref: ts.ref})
		}
		delete(st.last, c)
	}
	return out
}

// all marks every series stale (the node is gone) and forgets them.
func (st *staleTracker) all(now time.Time) []store.Sample {
	var out []store.Sample
	for c, series := range st.last {
		for _, ts := range series {
			out = append(out, store.Sample{Labels: st.labels(ts), Time: now, Value: store.StaleNaN, Ref: ts.ref})
		}
		delete(st.last, c)
	}
	return out
}
