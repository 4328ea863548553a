package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/storage"
	"github.com/stretchr/testify/require"
)

func series(name, node string) []Label {
	return []Label{{"__name__", name}, {"node", node}}
}

func TestAppendQueryReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := Open(dir, nil, nil, nil)
	require.NoError(t, err)

	t0 := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	for i := range 60 { // a counter growing by 10 a second, sampled every 10 s
		ts := t0.Add(time.Duration(i) * 10 * time.Second)
		require.NoError(t, db.Append(ctx, []Sample{
			{Labels: series("reductions_total", "a@h"), Time: ts, Value: float64(i * 100)},
			{Labels: series("reductions_total", "b@h"), Time: ts, Value: float64(i * 200)},
		}))
	}
	end := t0.Add(590 * time.Second)

	tests := []struct {
		name  string
		query string
		want  map[string]float64 // node -> value
	}{
		{"instant", `reductions_total`, map[string]float64{"a@h": 5900, "b@h": 11800}},
		{"rate", `rate(reductions_total[1m])`, map[string]float64{"a@h": 10, "b@h": 20}},
		{"sum by", `sum by (node) (rate(reductions_total{node="b@h"}[5m]))`, map[string]float64{"b@h": 20}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := db.Query(ctx, tc.query, end)
			require.NoError(t, err)
			require.Equal(t, "vector", res.Type)
			got := map[string]float64{}
			for _, s := range res.Series {
				got[s.Labels["node"]] = s.Points[0].Value
			}
			require.InDeltaMapValues(t, tc.want, got, 1e-9)
		})
	}

	rng, err := db.QueryRange(ctx, `reductions_total{node="a@h"}`, t0, end, time.Minute)
	require.NoError(t, err)
	require.Equal(t, "matrix", rng.Type)
	require.Len(t, rng.Series, 1)
	require.Len(t, rng.Series[0].Points, 10)

	vals, err := db.LabelValues(ctx, "node", t0, end)
	require.NoError(t, err)
	require.Equal(t, []string{"a@h", "b@h"}, vals)

	// Bad input gets an error, not a panic.
	_, err = db.Query(ctx, `rate(`, end)
	require.ErrorContains(t, err, "parse error")
	_, err = db.QueryRange(ctx, `up`, end, t0, time.Minute)
	require.ErrorContains(t, err, "end is before its start")
	_, err = db.QueryRange(ctx, `up`, t0, end, time.Millisecond)
	require.ErrorContains(t, err, "exceeds 11,000 points")

	// After a restart the samples are still there (WAL replay).
	require.NoError(t, db.Close())
	db, err = Open(dir, nil, nil, nil)
	require.NoError(t, err)
	defer db.Close()
	res, err := db.Query(ctx, `reductions_total{node="a@h"}`, end)
	require.NoError(t, err)
	require.Len(t, res.Series, 1)
	require.InDelta(t, 5900, res.Series[0].Points[0].Value, 0)
}

func TestAppendIsAllOrNothing(t *testing.T) {
	db, err := Open(t.TempDir(), nil, nil, nil)
	require.NoError(t, err)
	defer db.Close()
	ctx := context.Background()
	now := time.Now()
	require.NoError(t, db.Append(ctx, []Sample{{Labels: series("x", "n"), Time: now, Value: 1}}))
	// An out-of-order sample fails the whole batch: the good one is not kept.
	err = db.Append(ctx, []Sample{
		{Labels: series("y", "n"), Time: now, Value: 1},
		{Labels: series("x", "n"), Time: now.Add(-2 * time.Hour), Value: 2},
	})
	require.Error(t, err)
	res, err := db.Query(ctx, `y`, now)
	require.NoError(t, err)
	require.Empty(t, res.Series)
}

// TestStaleMarker checks that a staleness marker ends a series in instant
// queries at once instead of after the lookback delta.
func TestStaleMarker(t *testing.T) {
	ctx := context.Background()
	db, err := Open(t.TempDir(), nil, nil, nil)
	require.NoError(t, err)
	defer db.Close()
	t0 := time.Now().Add(-time.Minute)
	l := []Label{{Name: "__name__", Value: "x"}, {Name: "peer", Value: "b@h"}}
	require.NoError(t, db.Append(ctx, []Sample{{Labels: l, Time: t0, Value: 1}}))
	res, err := db.Query(ctx, "x", t0.Add(10*time.Second))
	require.NoError(t, err)
	require.Len(t, res.Series, 1, "within the lookback")
	require.NoError(t, db.Append(ctx, []Sample{{Labels: l, Time: t0.Add(5 * time.Second), Value: StaleNaN}}))
	res, err = db.Query(ctx, "x", t0.Add(10*time.Second))
	require.NoError(t, err)
	require.Empty(t, res.Series, "ended by the marker")
}

// TestAppendErrorsCounted appends a sample older than the series' last
// one: the TSDB refuses it, and the refusal is counted by reason with the
// samples it dropped.
func TestAppendErrorsCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	db, err := Open(t.TempDir(), nil, reg, nil)
	require.NoError(t, err)
	defer db.Close()
	ctx := context.Background()
	now := time.Now()
	require.NoError(t, db.Append(ctx, []Sample{{Labels: series("x", "a@h"), Time: now, Value: 1}}))
	err = db.Append(ctx, []Sample{
		{Labels: series("x", "b@h"), Time: now, Value: 1},
		{Labels: series("x", "a@h"), Time: now.Add(-time.Second), Value: 2},
	})
	require.ErrorIs(t, err, storage.ErrOutOfOrderSample)
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP beamctl_store_append_errors_total Appends the store refused (all their samples dropped), by reason: out_of_order, out_of_bounds, duplicate, too_old or other.
# TYPE beamctl_store_append_errors_total counter
beamctl_store_append_errors_total{reason="duplicate"} 0
beamctl_store_append_errors_total{reason="other"} 0
beamctl_store_append_errors_total{reason="out_of_bounds"} 0
beamctl_store_append_errors_total{reason="out_of_order"} 1
beamctl_store_append_errors_total{reason="too_old"} 0
# HELP beamctl_store_dropped_samples_total Samples dropped because the store refused the append that carried them.
# TYPE beamctl_store_dropped_samples_total counter
beamctl_store_dropped_samples_total 2
`), "beamctl_store_append_errors_total", "beamctl_store_dropped_samples_total"))
	n, err := testutil.GatherAndCount(reg, "prometheus_tsdb_head_series")
	require.NoError(t, err)
	require.Equal(t, 1, n, "the TSDB's own metrics are registered")
}

// TestAppendByRef checks the series references Append sets: a sample
// appended by its reference lands in its series; an unknown reference
// falls back to the labels, or without them stores nothing and says so
// (not counted as a refusal).
func TestAppendByRef(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	db, err := Open(t.TempDir(), nil, reg, nil)
	require.NoError(t, err)
	defer db.Close()
	t0 := time.Now().Add(-time.Minute).Truncate(time.Second)
	first := []Sample{{Labels: series("up", "a@h"), Time: t0, Value: 1}, {Labels: series("up", "b@h"), Time: t0, Value: 2}}
	require.NoError(t, db.Append(ctx, first))
	require.NotZero(t, first[0].Ref)
	require.NotEqual(t, first[0].Ref, first[1].Ref)
	for _, tc := range []struct {
		name string
		ref  uint64
	}{
		{"by reference", first[0].Ref},
		{"unknown reference", 1 << 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t0 = t0.Add(10 * time.Second)
			s := []Sample{{Labels: series("up", "a@h"), Time: t0, Value: 3, Ref: tc.ref}}
			require.NoError(t, db.Append(ctx, s))
			require.Equal(t, first[0].Ref, s[0].Ref)
			res, err := db.Query(ctx, `up`, t0)
			require.NoError(t, err)
			got := map[string]float64{}
			for _, s := range res.Series {
				got[s.Labels["node"]] = s.Points[0].Value
			}
			require.Equal(t, map[string]float64{"a@h": 3, "b@h": 2}, got)
		})
	}

	t1 := t0.Add(10 * time.Second)
	s := []Sample{{Time: t1, Value: 4, Ref: first[0].Ref}, {Time: t1, Value: 5, Ref: 1 << 40}}
	require.ErrorIs(t, db.Append(ctx, s), ErrUnknownRef)
	res, err := db.Query(ctx, `up`, t1)
	require.NoError(t, err)
	for _, s := range res.Series {
		require.NotEqual(t, 4.0, s.Points[0].Value, "all or nothing")
	}
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP beamctl_store_dropped_samples_total Samples dropped because the store refused the append that carried them.
# TYPE beamctl_store_dropped_samples_total counter
beamctl_store_dropped_samples_total 0
`), "beamctl_store_dropped_samples_total"))
}
