// Package collector turns a managed node's state into metric samples. Each
// metric family is one collector in its own file, registered in init() with
// registerCollector, as node_exporter does. A collector makes as few round
// trips as it can (one where OTP allows it, using lists:map with an export
// fun so that nothing is loaded on the node), returns errors and never logs
// them; the Set runs the collectors, times them and reports
// beamctl_collector_duration_seconds and beamctl_collector_success.
package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beamctl/beamctl/internal/etf"
)

// Type is a metric type.
type Type int

// Metric types, as in the Prometheus exposition format.
const (
	Gauge Type = iota
	Counter
)

func (t Type) String() string {
	if t == Counter {
		return "counter"
	}
	return "gauge"
}

// Label is one label of a sample.
type Label struct {
	Name, Value string
}

// Sample is one value of one series.
type Sample struct {
	Name   string
	Help   string
	Type   Type
	Labels []Label
	Value  float64
	// Collector is the collector that made it (set by the Set).
	Collector string
}

// Collector collects one metric family from a node.
type Collector interface {
	// Update adds the collector's samples to dst. It returns ErrNoData
	// when the node has nothing to report for it (e.g. no /proc).
	Update(ctx context.Context, c Conn, dst *Samples) error
}

// Samples gathers what one run of a collector reports. It was a channel,
// read by a goroutine of its own: at a thousand nodes the channels' buffers
// were 8 % of the server's allocations, and every sample a hand-off.
type Samples struct{ list []Sample }

// Add adds a sample.
func (s *Samples) Add(smp Sample) { s.list = append(s.list, smp) }

// List returns the samples added so far.
func (s *Samples) List() []Sample { return s.list }

// samplePool recycles a round's sample lists: a list per collector and
// the round's merged list were a seventh of the server's allocations at
// 1,000 nodes (docs/scale.md).
var samplePool sync.Pool // of *[]Sample

// getSamples returns an empty list with room for n samples.
func getSamples(n int) []Sample {
	if p, _ := samplePool.Get().(*[]Sample); p != nil && cap(*p) >= n {
		return (*p)[:0]
	}
	return make([]Sample, 0, n)
}

// Recycle hands back a list of samples that CollectOnly returned, once
// the caller is done with it (and with nothing it points to kept but the
// strings), for a later round to reuse.
func Recycle(samples []Sample) {
	clear(samples) // no label slices kept alive from the pool
	samples = samples[:0]
	samplePool.Put(&samples)
}

// ErrNoData means a collector found nothing to report on this node.
var ErrNoData = errors.New("collector returned no data")

type factory struct {
	defaultEnabled bool
	new            func() Collector
}

var (
	factoriesMu sync.Mutex
	factories   = map[string]factory{}
)

func registerCollector(name string, defaultEnabled bool, f func() Collector) {
	factoriesMu.Lock()
	defer factoriesMu.Unlock()
	factories[name] = factory{defaultEnabled: defaultEnabled, new: f}
}

// Names lists the registered collectors and whether each is on by default.
func Names() map[string]bool {
	factoriesMu.Lock()
	defer factoriesMu.Unlock()
	out := map[string]bool{}
	for n, f := range factories {
		out[n] = f.defaultEnabled
	}
	return out
}

// fastSet is the collectors that run at the fast interval by default:
// the per-second timeline (wsar's columns).
var fastSet = map[string]bool{"memory": true, "statistics": true, "scheduler": true}

// Override changes a collector's defaults: on or off, and its interval.
type Override struct {
	Enabled  *bool         // nil: the collector's default
	Interval time.Duration // 0: the fast or the normal interval
}

// SetOptions configure a Set.
type SetOptions struct {
	Overrides map[string]Override
	// Timeout bounds one collection round (default 5s).
	Timeout time.Duration
	// Interval is the default interval (default 10s); FastInterval the
	// fast set's (default 1s).
	Interval, FastInterval time.Duration
}

// Set is the enabled collectors with their intervals. It is safe for
// concurrent use.
type Set struct {
	names      []string
	collectors map[string]Collector
	intervals  map[string]time.Duration
	logger     *slog.Logger
	timeout    time.Duration
	fails      failLog // which failures are logged (faillog.go)
	// sizes is each collector's last sample count on any node: the next
	// run's slices start at that size instead of growing by doubling.
	sizes map[string]*atomic.Int32
	// labels is each collector's own label ({collector="name"}) for its
	// duration and success samples.
	labels map[string][]Label
}

// NewSet builds the collectors enabled by default, with overrides. An
// unknown name is an error.
func NewSet(logger *slog.Logger, o SetOptions) (*Set, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Interval == 0 {
		o.Interval = 10 * time.Second
	}
	if o.FastInterval == 0 {
		o.FastInterval = min(time.Second, o.Interval)
	}
	factoriesMu.Lock()
	defer factoriesMu.Unlock()
	for n := range o.Overrides {
		if _, ok := factories[n]; !ok {
			return nil, fmt.Errorf("unknown collector %q", n)
		}
	}
	s := &Set{collectors: map[string]Collector{}, intervals: map[string]time.Duration{}, logger: logger, timeout: o.Timeout,
		sizes: map[string]*atomic.Int32{}, labels: map[string][]Label{}}
	for n, f := range factories {
		on, iv := f.defaultEnabled, o.Interval
		if fastSet[n] {
			iv = o.FastInterval
		}
		if v, ok := o.Overrides[n]; ok {
			if v.Enabled != nil {
				on = *v.Enabled
			}
			if v.Interval != 0 {
				iv = v.Interval
			}
		}
		if on {
			s.collectors[n] = f.new()
			s.intervals[n] = iv
			s.sizes[n] = new(atomic.Int32)
			s.labels[n] = []Label{{"collector", n}}
			s.names = append(s.names, n)
		}
	}
	sort.Strings(s.names)
	return s, nil
}

// Names are the enabled collectors, sorted.
func (s *Set) Names() []string { return s.names }

// Interval is how often the named collector runs.
func (s *Set) Interval(name string) time.Duration { return s.intervals[name] }

// Tick is the shortest interval of the set: how often a node's collection
// loop wakes up to run the collectors that are due.
func (s *Set) Tick() time.Duration {
	var t time.Duration
	for _, iv := range s.intervals {
		if t == 0 || iv < t {
			t = iv
		}
	}
	if t == 0 {
		t = 10 * time.Second
	}
	return t
}

// Schedule tracks when each collector of a Set is next due on one node.
type Schedule struct {
	set  *Set
	next map[string]time.Time
}

// NewSchedule starts a schedule on which every collector is due now.
func (s *Set) NewSchedule() *Schedule { return &Schedule{set: s, next: map[string]time.Time{}} }

// Due returns the collectors due at now and books their next run. Half a
// tick of slack absorbs timer jitter, so that a 10s collector on a 1s tick
// runs every 10 ticks and not every 11.
func (sc *Schedule) Due(now time.Time) []string {
	slack := sc.set.Tick() / 2
	var due []string
	for _, n := range sc.set.names {
		if next, ok := sc.next[n]; ok && now.Add(slack).Before(next) {
			continue
		}
		due = append(due, n)
		sc.next[n] = now.Add(sc.set.intervals[n])
	}
	return due
}

// Collect runs every collector against the node; see CollectOnly.
func (s *Set) Collect(ctx context.Context, c Conn) []Sample {
	samples, _ := s.collect(ctx, c, s.names)
	return samples
}

// CollectOnly runs the named collectors against the node concurrently,
// their calls batched into one rpc per round, and returns all samples,
// sorted by name, with the collectors' own duration and success samples.
// The whole collection is bounded by the Set's timeout.
func (s *Set) CollectOnly(ctx context.Context, c Conn, names []string) []Sample {
	samples, _ := s.collect(ctx, c, names)
	return samples
}

// unbatched is implemented by collectors whose call must not join the
// round's batch (the scheduler collector sleeps through a window, which
// would delay every other collector's reading).
type unbatched interface{ unbatched(c Conn) bool }

func isUnbatched(col Collector, c Conn) bool {
	u, ok := col.(unbatched)
	return ok && u.unbatched(c)
}

// collect is CollectOnly that also reports how many rpc calls it made.
func (s *Set) collect(ctx context.Context, c Conn, names []string) ([]Sample, int) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	batched := 0
	for _, name := range names {
		if col := s.collectors[name]; col != nil && !isUnbatched(col, c) {
			batched++
		}
	}
	b := newBatch(c, batched)
	var mu sync.Mutex
	size := 0
	for _, name := range names {
		if n := s.sizes[name]; n != nil {
			size += int(n.Load())
		}
	}
	out := getSamples(size)
	var wg sync.WaitGroup
	for _, name := range names {
		col := s.collectors[name]
		if col == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var samples []Sample
			if isUnbatched(col, c) {
				samples = s.run(ctx, name, &countingConn{Conn: c, b: b}, nil)
			} else {
				samples = s.run(ctx, name, b, b)
			}
			mu.Lock()
			out = append(out, samples...)
			mu.Unlock()
			Recycle(samples)
		}()
	}
	wg.Wait()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	b.mu.Lock() // a flush whose caller timed out may still be counting
	defer b.mu.Unlock()
	return out, b.rpcs
}

func (s *Set) run(ctx context.Context, name string, c Conn, b *batch) []Sample {
	size := s.sizes[name]
	out := &Samples{list: getSamples(int(size.Load()))}
	start := time.Now()
	err := s.collectors[name].Update(ctx, c, out)
	if b != nil {
		b.finished(ctx)
	}
	samples := out.list
	success := 1.0
	switch {
	case errors.Is(err, ErrNoData):
		s.logger.Debug("Collector returned no data", "collector", name, "node", c.Node(), "err", err)
	case err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled):
		success = 0 // the server is stopping: not worth an error
		s.logger.Debug("Collector interrupted", "collector", name, "node", c.Node(), "err", err)
	case err != nil:
		success = 0
		if log, suppressed := s.fails.failed(name, c.Node(), time.Now()); log {
			s.logger.Error("Collector failed", "collector", name, "node", c.Node(), "err", err,
				"failures_not_logged", suppressed, "next_log_after", failLogEvery)
		}
	default:
		if recovered, suppressed := s.fails.succeeded(name, c.Node()); recovered {
			s.logger.Info("Collector recovered", "collector", name, "node", c.Node(), "failures_not_logged", suppressed)
		}
	}
	label := s.labels[name]
	for i := range samples {
		samples[i].Collector = name
	}
	size.Store(int32(len(samples) + 2))
	return append(samples,
		Sample{Name: "beamctl_collector_duration_seconds", Help: "Time a collector took on a node.", Labels: label, Value: time.Since(start).Seconds(), Collector: name},
		Sample{Name: "beamctl_collector_success", Help: "Whether a collector succeeded (1) or failed (0).", Labels: label, Value: success, Collector: name},
	)
}

// MFA is one call of CallAll.
type MFA struct {
	Module, Function string
	Args             etf.List
}

var applyExport = etf.Export{Module: "erlang", Function: "apply", Arity: 2}

// CallAll makes calls that do not depend on each other in one round trip
// (lists:zipwith with fun erlang:apply/2: nothing is loaded on the node)
// and returns their results in order. A collector's calls made one after
// the other each cost a round trip of the whole round (the batch waits for
// every collector's next call), so independent ones go together (the
// server's watch does the same with its checks). If one raises, the whole
// call fails, as the first of them would have.
func CallAll(ctx context.Context, c Conn, calls ...MFA) ([]etf.Term, error) {
	funs := make(etf.List, len(calls))
	args := make(etf.List, len(calls))
	for i, m := range calls {
		funs[i] = etf.Export{Module: etf.Atom(m.Module), Function: etf.Atom(m.Function), Arity: uint8(len(m.Args))}
		args[i] = m.Args
		if m.Args == nil {
			args[i] = etf.List{}
		}
	}
	r, err := c.Call(ctx, "lists", "zipwith", applyExport, funs, args)
	if err != nil {
		return nil, err
	}
	l, err := etf.ToList(r)
	if err != nil || len(l) != len(calls) {
		return nil, fmt.Errorf("%s:%s and %d more: unexpected reply", calls[0].Module, calls[0].Function, len(calls)-1)
	}
	return l, nil
}

// mapCall calls fun Module:Function/1 on every argument in one round trip
// (lists:map with an export fun: nothing is loaded on the node) and
// returns the results in order.
func mapCall(ctx context.Context, c Conn, module, function string, args []etf.Term) ([]etf.Term, error) {
	r, err := c.Call(ctx, "lists", "map", etf.Export{Module: etf.Atom(module), Function: etf.Atom(function), Arity: 1}, etf.List(args))
	if err != nil {
		return nil, err
	}
	l, err := etf.ToList(r)
	if err != nil {
		return nil, fmt.Errorf("lists:map of %s:%s/1: %w", module, function, err)
	}
	if len(l) != len(args) {
		return nil, fmt.Errorf("lists:map of %s:%s/1 returned %d results for %d arguments", module, function, len(l), len(args))
	}
	return l, nil
}

// itemCall calls fun Module:Function/2 on every (object, item) pair in one
// round trip (lists:zipwith with an export fun), e.g. erlang:port_info/2 for
// a few items of every port, which costs the node less than the all-items
// /1 form. The result is indexed [item][object].
func itemCall(ctx context.Context, c Conn, module, function string, objects []etf.Term, items []etf.Atom) ([][]etf.Term, error) {
	xs, ys := make(etf.List, 0, len(items)*len(objects)), make(etf.List, 0, len(items)*len(objects))
	for _, it := range items {
		var item etf.Term = it // boxed once, not once an object
		for _, o := range objects {
			xs, ys = append(xs, o), append(ys, item)
		}
	}
	if len(xs) == 0 {
		return make([][]etf.Term, len(items)), nil
	}
	r, err := c.Call(ctx, "lists", "zipwith", etf.Export{Module: etf.Atom(module), Function: etf.Atom(function), Arity: 2}, xs, ys)
	if err != nil {
		return nil, err
	}
	l, err := etf.ToList(r)
	if err != nil || len(l) != len(xs) {
		return nil, fmt.Errorf("lists:zipwith of %s:%s/2: unexpected reply", module, function)
	}
	out := make([][]etf.Term, len(items))
	for i := range items {
		out[i] = l[i*len(objects) : (i+1)*len(objects)]
	}
	return out, nil
}

// num reads a number term as float64; ok is false for anything else.
func num(t etf.Term) (float64, bool) {
	f, err := etf.ToFloat64(t)
	return f, err == nil
}
