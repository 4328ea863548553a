package journal

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestStoreQuery(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	require.NoError(t, err)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ns := []Notification{
		{Time: t0, Cluster: "chat", Node: "a@h", Kind: "node_up", Severity: Info, Text: "Node a@h is up."},
		{Time: t0.Add(time.Minute), Cluster: "chat", Node: "a@h", Kind: "log", Severity: Error, Text: "crasher: initial call: my_server:init/1",
			Fields: map[string]string{"mfa": "proc_lib:crash_report/4", "pid": "<0.90.0>"}},
		{Time: t0.Add(2 * time.Minute), Cluster: "chat", Node: "b@h", Kind: "node_down", Severity: Warning, Text: "Node b@h is down: connection closed."},
		{Time: t0.Add(3 * time.Minute), Cluster: "broker", Node: "r@h", Kind: "log", Severity: Warning, Text: `quote " and AND NOT (x*`},
	}
	require.NoError(t, s.Add(ctx, ns))
	require.Equal(t, int64(4), ns[3].ID)
	require.NoError(t, s.Close())
	s, err = Open(dir, Options{}) // survives a reopen
	require.NoError(t, err)
	defer s.Close()

	tests := []struct {
		name string
		f    Filter
		want []int64
	}{
		{"all, newest first", Filter{}, []int64{4, 3, 2, 1}},
		{"cluster", Filter{Cluster: "chat"}, []int64{3, 2, 1}},
		{"node", Filter{Node: "a@h"}, []int64{2, 1}},
		{"kind", Filter{Kind: "log"}, []int64{4, 2}},
		{"since", Filter{Since: t0.Add(90 * time.Second)}, []int64{4, 3}},
		{"until", Filter{Until: t0.Add(time.Minute)}, []int64{2, 1}},
		{"after id", Filter{AfterID: 2}, []int64{4, 3}},
		{"limit", Filter{Limit: 1}, []int64{4}},
		{"grep text", Filter{Grep: "my_server"}, []int64{2}},
		{"grep field", Filter{Grep: "crash_report"}, []int64{2}},
		{"grep every word", Filter{Grep: "node down"}, []int64{3}},
		{"grep is case-insensitive", Filter{Grep: "CRASHER"}, []int64{2}},
		{"grep FTS syntax is plain text", Filter{Grep: `" AND NOT (x*`}, []int64{4}},
		{"grep nothing", Filter{Grep: "nosuchword"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Query(ctx, tc.f)
			require.NoError(t, err)
			var ids []int64
			for _, n := range got {
				ids = append(ids, n.ID)
				if tc.f.Grep == "" {
					require.True(t, tc.f.Match(n), "Match agrees with Query for %d", n.ID)
				}
			}
			require.Equal(t, tc.want, ids)
		})
	}
	got, err := s.Query(ctx, Filter{Kind: "log", Node: "a@h"})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, ns[1].Fields, got[0].Fields)
	require.True(t, got[0].Time.Equal(ns[1].Time))
}

func TestRetention(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), Options{MaxAge: time.Hour, MaxBytes: 256 << 10})
	require.NoError(t, err)
	defer s.Close()
	now := time.Now()
	var ns []Notification
	for i := range 5000 {
		ts := now.Add(-time.Duration(5000-i) * time.Second) // the first 1400 are older than an hour
		ns = append(ns, Notification{Time: ts, Cluster: "c", Node: "n@h", Kind: "log", Severity: Info,
			Text: fmt.Sprintf("event %d with some padding text to take room in the pages", i)})
	}
	require.NoError(t, s.Add(ctx, ns))
	dropped, err := s.Prune(ctx, now)
	require.NoError(t, err)
	require.Greater(t, dropped, int64(1400))
	size, err := s.size(ctx)
	require.NoError(t, err)
	require.LessOrEqual(t, size, int64(256<<10))
	old, err := s.Query(ctx, Filter{Until: now.Add(-time.Hour), Kind: "log"})
	require.NoError(t, err)
	require.Empty(t, old, "nothing older than MaxAge")
	rec, err := s.Query(ctx, Filter{Kind: "retention"})
	require.NoError(t, err)
	require.Len(t, rec, 1)
	require.Equal(t, fmt.Sprint(dropped), rec[0].Fields["dropped"])
	left, err := s.Query(ctx, Filter{Kind: "log", Limit: 10000})
	require.NoError(t, err)
	require.Equal(t, 5000-int(dropped), len(left), "only the oldest went")
	require.Equal(t, "event 4999 with some padding text to take room in the pages", left[0].Text)
}

func TestSnapshot(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer s.Close()
	var got map[string]string
	found, err := s.LoadSnapshot(ctx, "c", "n@h", "modules", &got)
	require.NoError(t, err)
	require.False(t, found)
	require.NoError(t, s.SaveSnapshot(ctx, "c", "n@h", "modules", map[string]string{"m": "1"}))
	require.NoError(t, s.SaveSnapshot(ctx, "c", "n@h", "modules", map[string]string{"m": "2"}))
	found, err = s.LoadSnapshot(ctx, "c", "n@h", "modules", &got)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, map[string]string{"m": "2"}, got)
	got["m"] = "changed by a reader" // each load decodes afresh
	var again map[string]string
	_, err = s.LoadSnapshot(ctx, "c", "n@h", "modules", &again)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"m": "2"}, again)

	// A reopened store (an empty cache) reads what was saved.
	dir := t.TempDir()
	s2, err := Open(dir, Options{})
	require.NoError(t, err)
	require.NoError(t, s2.SaveSnapshot(ctx, "c", "n@h", "alarms", map[string]string{"disk": "full"}))
	require.NoError(t, s2.Close())
	s3, err := Open(dir, Options{})
	require.NoError(t, err)
	defer s3.Close()
	var alarms map[string]string
	found, err = s3.LoadSnapshot(ctx, "c", "n@h", "alarms", &alarms)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, map[string]string{"disk": "full"}, alarms)
}

func TestRecorderRateLimit(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer s.Close()
	r := NewRecorder(s, nil, RecorderOptions{Rate: 1, Burst: 50})
	live, cancel := r.Subscribe(Filter{Node: "a@h"}, 1000)
	defer cancel()
	var burst []Notification
	for i := range 1000 {
		burst = append(burst, Notification{Cluster: "c", Node: "a@h", Kind: "log", Severity: Error, Text: fmt.Sprint("error ", i)})
	}
	require.NoError(t, r.Record(ctx, burst...))
	require.NoError(t, r.Record(ctx, Notification{Cluster: "c", Node: "b@h", Kind: "log", Text: "another node has its own budget"}))
	require.NoError(t, r.Flush(ctx))
	stored, err := s.Query(ctx, Filter{Kind: "log", Node: "a@h", Limit: 5000})
	require.NoError(t, err)
	require.Len(t, stored, 50, "the burst")
	sum, err := s.Query(ctx, Filter{Kind: "rate_limited"})
	require.NoError(t, err)
	require.Len(t, sum, 1)
	require.Equal(t, "950", sum[0].Fields["dropped"])
	require.Equal(t, "log", sum[0].Fields["dropped_kind"])
	require.Equal(t, []Counts{{"c", "a@h", "log", 50, 950, 0}, {"c", "b@h", "log", 1, 0, 0}}, r.Counts())
	require.Len(t, live, 51, "the 50 kept and the summary, for node a@h only")
}

// FuzzQuery feeds arbitrary filter text to the store: an answer or an
// error, never a panic, and FTS syntax in the text is never an error.
func FuzzQuery(f *testing.F) {
	s, err := Open(f.TempDir(), Options{})
	require.NoError(f, err)
	defer s.Close()
	require.NoError(f, s.Add(context.Background(), []Notification{{Cluster: "c", Node: "n@h", Kind: "log", Severity: Info, Text: "crash in my_server"}}))
	f.Add("crash", "n@h", "log")
	f.Add(`" AND NOT (x*`, "", "")
	f.Add("NEAR(a b)", "'; DROP TABLE notifications; --", "")
	f.Fuzz(func(t *testing.T, grep, node, kind string) {
		_, err := s.Query(context.Background(), Filter{Grep: grep, Node: node, Kind: kind, Limit: 10})
		require.NoError(t, err)
	})
}

// TestCountFailures counts crash and supervisor reports and error logs
// per node of one cluster, within the window only.
func TestCountFailures(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer s.Close()
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	ns := []Notification{
		{Time: t0, Cluster: "chat", Node: "a@h", Kind: "crash_report", Severity: Error, Text: "crasher: x"},
		{Time: t0.Add(time.Second), Cluster: "chat", Node: "a@h", Kind: "log", Severity: Error, Text: "boom"},
		{Time: t0.Add(time.Second), Cluster: "chat", Node: "a@h", Kind: "log", Severity: Warning, Text: "not a failure"},
		{Time: t0.Add(2 * time.Second), Cluster: "chat", Node: "b@h", Kind: "supervisor_report", Severity: Error, Text: "supervisor: y"},
		{Time: t0.Add(2 * time.Second), Cluster: "chat", Node: "b@h", Kind: "node_down", Severity: Warning, Text: "not a failure"},
		{Time: t0.Add(3 * time.Second), Cluster: "other", Node: "c@h", Kind: "crash_report", Severity: Error, Text: "other cluster"},
		{Time: t0.Add(time.Hour), Cluster: "chat", Node: "a@h", Kind: "crash_report", Severity: Error, Text: "after the window"},
	}
	require.NoError(t, s.Add(ctx, ns))
	got, err := s.CountFailures(ctx, "chat", t0, t0.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, map[string]int{"a@h": 2, "b@h": 1}, got)
}
