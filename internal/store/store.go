// Package store keeps metric samples on disk and answers PromQL over them.
// It wraps the Prometheus TSDB (with its write-ahead log, so a crash loses
// nothing already committed) and PromQL engine behind a small API of our
// own: Prometheus' Go packages are not a stable library API, so nothing
// else in beamctl imports them.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
)

// Options configure a store.
type Options struct {
	// Retention drops blocks older than this (default 15 days).
	Retention time.Duration
	// MaxBytes bounds the size of the blocks on disk (0: no bound).
	MaxBytes int64
	// QueryTimeout bounds one query (default 2 minutes).
	QueryTimeout time.Duration
	// MaxSamples bounds the samples one query may load (default 50
	// million), so a runaway query cannot exhaust memory.
	MaxSamples int
}

// DefaultOptions returns the defaults.
func DefaultOptions() *Options {
	return &Options{Retention: 15 * 24 * time.Hour, QueryTimeout: 2 * time.Minute, MaxSamples: 50_000_000}
}

// StaleNaN is the value that marks a series as ended at a time (what
// Prometheus writes when a series leaves a scrape): queries stop returning
// it from then on instead of for the lookback delta.
var StaleNaN = math.Float64frombits(value.StaleNaN)

// ErrUnknownRef is Append's error for a sample without labels whose
// reference the store does not know (any more).
var ErrUnknownRef = errors.New("unknown series reference, and no labels")

// Label is a label of a series.
type Label struct {
	Name, Value string
}

// Sample is one value of one series at one time. Labels include the
// metric name as "__name__".
type Sample struct {
	Labels []Label
	Time   time.Time
	Value  float64
	// Ref is the store's reference to the series, 0 if unknown. Append
	// sets it; a caller that keeps it for the series' next sample saves
	// the store building and looking up the label set (as Prometheus'
	// scrape cache does). A stale reference (the series was dropped from
	// the head) falls back to the labels.
	Ref uint64
}

// Point is a value at a time.
type Point struct {
	Time  time.Time
	Value float64
}

// Series is a labelled list of points (a query result element).
type Series struct {
	Labels map[string]string
	Points []Point
}

// DB is an open store. It is safe for concurrent use.
type DB struct {
	db     *tsdb.DB
	engine *promql.Engine
	opts   Options

	appendErrors   *prometheus.CounterVec
	droppedSamples prometheus.Counter
}

// Open opens or creates the store in dir, replaying its write-ahead log.
// reg (if not nil) gets the store's metrics: the TSDB's and the PromQL
// engine's own (prometheus_tsdb_*, prometheus_engine_*, as Prometheus
// exports them) and the samples it could not store.
func Open(dir string, logger *slog.Logger, reg prometheus.Registerer, o *Options) (*DB, error) {
	if o == nil {
		o = DefaultOptions()
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	def := DefaultOptions()
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = def.QueryTimeout
	}
	if o.MaxSamples <= 0 {
		o.MaxSamples = def.MaxSamples
	}
	topts := tsdb.DefaultOptions()
	if o.Retention > 0 {
		topts.RetentionDuration = o.Retention.Milliseconds()
	}
	topts.MaxBytes = o.MaxBytes
	d := &DB{opts: *o,
		appendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "beamctl_store_append_errors_total",
			Help: "Appends the store refused (all their samples dropped), by reason: out_of_order, out_of_bounds, duplicate, too_old or other."},
			[]string{"reason"}),
		droppedSamples: prometheus.NewCounter(prometheus.CounterOpts{Name: "beamctl_store_dropped_samples_total",
			Help: "Samples dropped because the store refused the append that carried them."}),
	}
	for _, r := range appendReasons {
		d.appendErrors.WithLabelValues(r) // every reason from zero
	}
	if reg != nil {
		if err := errors.Join(reg.Register(d.appendErrors), reg.Register(d.droppedSamples)); err != nil {
			return nil, fmt.Errorf("register the store's metrics: %w", err)
		}
	}
	var err error
	d.db, err = tsdb.Open(dir, logger, reg, topts, nil)
	if err != nil {
		return nil, fmt.Errorf("open store in %s: %w", dir, err)
	}
	d.engine = promql.NewEngine(promql.EngineOpts{
		Logger:        logger,
		Reg:           reg,
		MaxSamples:    o.MaxSamples,
		Timeout:       o.QueryTimeout,
		LookbackDelta: 5 * time.Minute,
	})
	return d, nil
}

// appendReasons are the values of beamctl_store_append_errors_total's
// reason label.
var appendReasons = []string{"out_of_order", "out_of_bounds", "duplicate", "too_old", "other"}

// appendReason names why the TSDB refused a sample.
func appendReason(err error) string {
	switch {
	case errors.Is(err, storage.ErrOutOfOrderSample):
		return "out_of_order"
	case errors.Is(err, storage.ErrOutOfBounds):
		return "out_of_bounds"
	case errors.Is(err, storage.ErrDuplicateSampleForTimestamp):
		return "duplicate"
	case errors.Is(err, storage.ErrTooOldSample):
		return "too_old"
	}
	return "other"
}

// Close flushes and closes the store.
func (d *DB) Close() error { return d.db.Close() }

// Append stores samples in one transaction: all of them or, on error,
// none (counted in beamctl_store_append_errors_total and
// beamctl_store_dropped_samples_total). It sets each stored sample's Ref.
// A sample with a Ref may come without its labels; if the store no
// longer knows the reference, Append stores nothing and returns
// ErrUnknownRef (not counted): the caller appends again with the labels.
func (d *DB) Append(ctx context.Context, samples []Sample) error {
	app := d.db.Appender(ctx)
	for i := range samples {
		s := &samples[i]
		var ref storage.SeriesRef
		var err error
		if s.Ref != 0 {
			ref, err = app.Append(storage.SeriesRef(s.Ref), labels.EmptyLabels(), s.Time.UnixMilli(), s.Value)
			if err != nil && s.Labels == nil {
				_ = app.Rollback()
				return fmt.Errorf("append by reference %d: %w", s.Ref, ErrUnknownRef)
			}
		}
		if s.Ref == 0 || err != nil { // unknown or stale reference: by labels
			ref, err = app.Append(0, toLabels(s.Labels), s.Time.UnixMilli(), s.Value)
		}
		if err != nil {
			_ = app.Rollback()
			d.refused(err, len(samples))
			return fmt.Errorf("append %v: %w", s.Labels, err)
		}
		s.Ref = uint64(ref)
	}
	if err := app.Commit(); err != nil {
		d.refused(err, len(samples))
		return fmt.Errorf("commit samples: %w", err)
	}
	return nil
}

// refused counts an append that dropped n samples.
func (d *DB) refused(err error, n int) {
	d.appendErrors.WithLabelValues(appendReason(err)).Inc()
	d.droppedSamples.Add(float64(n))
}

func toLabels(ls []Label) labels.Labels {
	b := labels.NewScratchBuilder(len(ls))
	for _, l := range ls {
		b.Add(l.Name, l.Value)
	}
	b.Sort()
	return b.Labels()
}

func fromLabels(ls labels.Labels) map[string]string {
	return ls.Map()
}

// Result is a query result: a vector (one point per series), a matrix
// (a range of points per series) or a scalar (one series, no labels).
type Result struct {
	Type   string // "vector", "matrix", "scalar" or "string"
	Series []Series
}

// Query evaluates a PromQL expression at one time.
func (d *DB) Query(ctx context.Context, q string, ts time.Time) (*Result, error) {
	qry, err := d.engine.NewInstantQuery(ctx, d.db, promql.NewPrometheusQueryOpts(false, 0, nil), q, ts)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", q, err)
	}
	defer qry.Close()
	return convert(qry.Exec(ctx))
}

// QueryRange evaluates a PromQL expression from start to end every step.
func (d *DB) QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) (*Result, error) {
	if step <= 0 {
		return nil, errors.New("query step must be positive")
	}
	if end.Before(start) {
		return nil, errors.New("query end is before its start")
	}
	if n := end.Sub(start) / step; n > 11000 {
		return nil, fmt.Errorf("query range of %d steps exceeds 11,000 points per series (raise the step)", n)
	}
	qry, err := d.engine.NewRangeQuery(ctx, d.db, promql.NewPrometheusQueryOpts(false, 0, nil), q, start, end, step)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", q, err)
	}
	defer qry.Close()
	return convert(qry.Exec(ctx))
}

func convert(r *promql.Result) (*Result, error) {
	if r.Err != nil {
		return nil, r.Err
	}
	switch v := r.Value.(type) {
	case promql.Vector:
		res := &Result{Type: "vector"}
		for _, s := range v {
			res.Series = append(res.Series, Series{Labels: fromLabels(s.Metric), Points: []Point{{Time: time.UnixMilli(s.T), Value: s.F}}})
		}
		return res, nil
	case promql.Matrix:
		res := &Result{Type: "matrix"}
		for _, s := range v {
			ser := Series{Labels: fromLabels(s.Metric)}
			for _, p := range s.Floats {
				ser.Points = append(ser.Points, Point{Time: time.UnixMilli(p.T), Value: p.F})
			}
			res.Series = append(res.Series, ser)
		}
		return res, nil
	case promql.Scalar:
		return &Result{Type: "scalar", Series: []Series{{Labels: map[string]string{}, Points: []Point{{Time: time.UnixMilli(v.T), Value: v.V}}}}}, nil
	case promql.String:
		return &Result{Type: "string", Series: []Series{{Labels: map[string]string{"value": v.V}, Points: []Point{{Time: time.UnixMilli(v.T), Value: math.NaN()}}}}}, nil
	}
	return nil, fmt.Errorf("unsupported query result type %T", r.Value)
}

// LabelValues returns the values of a label over [start, end].
func (d *DB) LabelValues(ctx context.Context, name string, start, end time.Time) ([]string, error) {
	q, err := d.db.Querier(start.UnixMilli(), end.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer q.Close()
	vals, _, err := q.LabelValues(ctx, name, nil)
	if err != nil {
		return nil, err
	}
	sort.Strings(vals)
	return vals, nil
}

// LabelNames returns the label names in use over [start, end].
func (d *DB) LabelNames(ctx context.Context, start, end time.Time) ([]string, error) {
	q, err := d.db.Querier(start.UnixMilli(), end.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer q.Close()
	names, _, err := q.LabelNames(ctx, nil)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// Series returns the label sets of the series that match any of the
// selectors (PromQL series selectors such as up{job="x"}) over [start, end].
func (d *DB) Series(ctx context.Context, selectors []string, start, end time.Time) ([]map[string]string, error) {
	q, err := d.db.Querier(start.UnixMilli(), end.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer q.Close()
	seen := map[string]bool{}
	var out []map[string]string
	for _, sel := range selectors {
		matchers, err := parser.NewParser(parser.Options{}).ParseMetricSelector(sel)
		if err != nil {
			return nil, fmt.Errorf("selector %q: %w", sel, err)
		}
		set := q.Select(ctx, false, nil, matchers...)
		for set.Next() {
			ls := set.At().Labels()
			if key := ls.String(); !seen[key] {
				seen[key] = true
				out = append(out, ls.Map())
			}
		}
		if err := set.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// compile-time check that the TSDB is a queryable PromQL source.
var _ storage.Queryable = (*tsdb.DB)(nil)

// CheckExpr reports whether q is valid PromQL.
func CheckExpr(q string) error {
	if _, err := parser.NewParser(parser.Options{}).ParseExpr(q); err != nil {
		return fmt.Errorf("PromQL %q: %w", q, err)
	}
	return nil
}

// ParseSeries reads a series description in promtool's test syntax,
// e.g. `up{node="a@h"}` with values `1+0x10 _ 0x5`: its labels and one
// value per step (ok false where the step is omitted).
func ParseSeries(series, values string) ([]Label, []SeriesValue, error) {
	ls, vs, err := parser.NewParser(parser.Options{}).ParseSeriesDesc(series + " " + values)
	if err != nil {
		return nil, nil, fmt.Errorf("series %s %q: %w", series, values, err)
	}
	var out []Label
	ls.Range(func(l labels.Label) { out = append(out, Label{Name: l.Name, Value: l.Value}) })
	svs := make([]SeriesValue, len(vs))
	for i, v := range vs {
		svs[i] = SeriesValue{Value: v.Value, Omitted: v.Omitted}
	}
	return out, svs, nil
}

// SeriesValue is one step of a parsed series.
type SeriesValue struct {
	Value   float64
	Omitted bool
}
