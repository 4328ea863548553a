package alarm

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/journal"
)

// TestEventRule counts crash reports per crashing mfa in the real
// notification store.
func TestEventRule(t *testing.T) {
	ctx := context.Background()
	s, err := journal.Open(t.TempDir(), journal.Options{})
	require.NoError(t, err)
	defer s.Close()
	now := time.Now()
	var ns []journal.Notification
	for i := range 7 {
		ns = append(ns, journal.Notification{Time: now.Add(-time.Duration(i) * 5 * time.Second), Cluster: "c", Node: "a@h", Kind: "crash_report",
			Severity: journal.Error, Text: fmt.Sprint("crasher ", i), Fields: map[string]string{"mfa": "{my_sup_worker,init,1}"}})
	}
	ns = append(ns,
		journal.Notification{Time: now, Cluster: "c", Node: "a@h", Kind: "crash_report", Text: "other", Fields: map[string]string{"mfa": "{x,y,1}"}},
		journal.Notification{Time: now.Add(-2 * time.Minute), Cluster: "c", Node: "b@h", Kind: "crash_report", Text: "old", Fields: map[string]string{"mfa": "{my_sup_worker,init,1}"}})
	require.NoError(t, s.Add(ctx, ns))
	tests := []struct {
		name    string
		groupBy string
		count   int
		want    []Key
	}{
		{"by mfa", "mfa", 5, []Key{{Rule: "r", Cluster: "c", Node: "a@h", Subject: "{my_sup_worker,init,1}"}}},
		{"by node", "node", 8, []Key{{Rule: "r", Cluster: "c", Node: "a@h"}}},
		{"by cluster, too few", "cluster", 9, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &EventRule{RuleName: "r", Kind: "crash_report", Count: tc.count, Window: time.Minute, GroupBy: tc.groupBy, Severity: Major, N: s}
			obs, err := r.Evaluate(ctx, now, nil)
			require.NoError(t, err)
			var keys []Key
			for _, o := range obs {
				keys = append(keys, o.Key)
			}
			require.Equal(t, tc.want, keys)
		})
	}
	r := &EventRule{RuleName: "crash_loop", Kind: "crash_report", Count: 5, Window: time.Minute, GroupBy: "mfa", Severity: Major, N: s,
		Description: "A supervisor child crashes in a loop"}
	obs, err := r.Evaluate(ctx, now, nil)
	require.NoError(t, err)
	require.Equal(t, "A supervisor child crashes in a loop: 7 crash_report notifications in 1m0s from a@h mfa={my_sup_worker,init,1}.", obs[0].Description)
}

// TestEventRuleLevels grades the count (node_restart_loop's way).
func TestEventRuleLevels(t *testing.T) {
	ctx := context.Background()
	s, err := journal.Open(t.TempDir(), journal.Options{})
	require.NoError(t, err)
	defer s.Close()
	now := time.Now()
	r := &EventRule{RuleName: "node_restart_loop", Kind: "node_restarted", Window: 30 * time.Minute, N: s,
		Levels: &Thresholds{Levels: []Level{{Minor, 2}, {Major, 3}, {Critical, 6}}}}
	for i, want := range []Severity{None, Minor, Major, Major, Major, Critical} {
		require.NoError(t, s.Add(ctx, []journal.Notification{{Time: now.Add(-time.Duration(i) * time.Minute), Cluster: "c", Node: "a@h", Kind: "node_restarted"}}))
		obs, err := r.Evaluate(ctx, now, nil)
		require.NoError(t, err)
		if want == None {
			require.Empty(t, obs)
			continue
		}
		require.Len(t, obs, 1)
		require.Equal(t, want, obs[0].Severity, "%d restarts", i+1)
	}
}
