package app

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/collector"
	"github.com/beamctl/beamctl/internal/store"
)

// TestStaleTracker runs rounds of a node's series through the tracker: a
// series built once and kept with its store reference, markers for the
// series a collector no longer writes, with their reference.
func TestStaleTracker(t *testing.T) {
	base := []store.Label{{Name: "cluster", Value: "c"}, {Name: "node", Value: "n@h"}}
	st := &staleTracker{last: map[string]map[string]*trackedSeries{}}
	now := time.Now()
	type series struct{ name, pid string }
	round := func(written []series) (samples []store.Sample, stale []store.Sample) {
		st.begin()
		for _, s := range written {
			ts, lbls := st.track(len(samples), "message_queues", s.name, base, []collector.Label{{Name: "pid", Value: s.pid}})
			samples = append(samples, store.Sample{Labels: lbls, Value: 1, Ref: ts.ref})
		}
		stale = st.sweep("message_queues", now)
		for i := range samples { // the store's references
			if samples[i].Ref == 0 {
				samples[i].Ref = uint64(100 + i)
			}
		}
		st.learn(samples)
		return samples, stale
	}
	first, stale := round([]series{{"q", "<0.1.0>"}, {"q", "<0.2.0>"}})
	require.Empty(t, stale)
	require.Equal(t, []store.Label{{Name: "__name__", Value: "q"}, {Name: "cluster", Value: "c"}, {Name: "node", Value: "n@h"},
		{Name: "pid", Value: "<0.1.0>"}}, first[0].Labels)

	for _, tc := range []struct {
		name      string
		written   []series
		wantRefs  []uint64 // of the samples
		wantStale []uint64 // references of the markers
	}{
		{"same series: by reference", []series{{"q", "<0.1.0>"}, {"q", "<0.2.0>"}}, []uint64{100, 101}, nil},
		{"one gone, one new", []series{{"q", "<0.2.0>"}, {"q", "<0.3.0>"}}, []uint64{101, 0}, []uint64{100}},
		{"all gone", nil, nil, []uint64{101, 201}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st.begin()
			var refs []uint64
			var samples []store.Sample
			for _, s := range tc.written {
				ts, lbls := st.track(len(samples), "message_queues", s.name, base, []collector.Label{{Name: "pid", Value: s.pid}})
				refs = append(refs, ts.ref)
				require.Equal(t, ts.ref == 0, lbls != nil, "labels until the store has a reference")
				samples = append(samples, store.Sample{Labels: lbls, Ref: ts.ref})
			}
			require.Equal(t, tc.wantRefs, refs)
			var staleRefs []uint64
			for _, m := range st.sweep("message_queues", now) {
				require.Equal(t, math.Float64bits(store.StaleNaN), math.Float64bits(m.Value))
				require.Len(t, m.Labels, 4, "a marker has its labels, in case the store dropped the series")
				staleRefs = append(staleRefs, m.Ref)
			}
			require.ElementsMatch(t, tc.wantStale, staleRefs)
			for i := range samples { // new series get references from 200 on
				if samples[i].Ref == 0 {
					samples[i].Ref = uint64(200 + i)
				}
			}
			st.learn(samples)
		})
	}
	require.Empty(t, st.all(now))
}

// TestSeriesKeyLabels: the labels built again from a series' key are the
// ones it was tracked with, whatever bytes the values hold.
func TestSeriesKeyLabels(t *testing.T) {
	base := []store.Label{{Name: "cluster", Value: "c"}, {Name: "node", Value: "n@h"}}
	for _, ls := range [][]collector.Label{
		nil,
		{{Name: "pid", Value: "<0.1.0>"}},
		{{Name: "table", Value: "a\x00b"}, {Name: "empty", Value: ""}, {Name: "long", Value: strings.Repeat("x", 300)}},
		{{Name: "é", Value: "\x80\xff"}},
	} {
		st := &staleTracker{last: map[string]map[string]*trackedSeries{}}
		st.begin()
		ts, first := st.track(0, "c", "metric_name", base, ls)
		want := append([]store.Label{{Name: "__name__", Value: "metric_name"}}, base...)
		for _, l := range ls {
			want = append(want, store.Label{Name: l.Name, Value: l.Value})
		}
		require.Equal(t, want, first)
		require.Equal(t, want, st.labels(ts))
		ts.ref = 7
		samples := []store.Sample{{Ref: 7}}
		_, again := st.track(0, "c", "metric_name", base, ls)
		require.Nil(t, again)
		st.fill(samples)
		require.Equal(t, want, samples[0].Labels, "filled for an append by labels")
	}
}
