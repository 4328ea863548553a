package app

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/config"
)

// TestSelfMetricsStore checks that /metrics has the store's metrics, as
// Prometheus exports its own TSDB's.
func TestSelfMetricsStore(t *testing.T) {
	cfg, err := config.Parse([]byte(`
clusters:
  - name: none
    cookie: c
    nodes: [nobody@127.0.0.1]
`), t.TempDir())
	require.NoError(t, err)
	srv := startApp(t, cfg, t.TempDir())
	defer srv.Stop()
	resp, err := http.Get("http://" + srv.Addr() + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	for _, name := range []string{"prometheus_tsdb_head_series ", "prometheus_tsdb_wal_fsync_duration_seconds",
		"prometheus_engine_query_duration_seconds", `beamctl_store_append_errors_total{reason="out_of_order"} 0`,
		"beamctl_store_dropped_samples_total 0", "go_goroutines ", "beamctl_alarm_evaluations_total ",
		"beamctl_alarm_evaluation_seconds_total "} {
		require.Contains(t, string(body), name)
	}
	// The node does not exist: its rounds still run (and fail) on schedule.
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + srv.Addr() + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(body), `beamctl_collection_rounds_total{cluster="none",result="on_time"} `) &&
			strings.Contains(string(body), `beamctl_collection_lag_seconds_total{cluster="none"} `)
	}, 30*time.Second, 200*time.Millisecond)
}

func TestRounds(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tick := time.Second
	for _, tc := range []struct {
		name         string
		start        time.Duration // after due
		took         time.Duration
		onTime, late float64
	}{
		{"prompt and quick", 5 * time.Millisecond, 100 * time.Millisecond, 1, 0},
		{"started late", 600 * time.Millisecond, 10 * time.Millisecond, 0, 1},
		{"overran its tick", 0, 1200 * time.Millisecond, 0, 1},
		{"ended just in time", 400 * time.Millisecond, 600 * time.Millisecond, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r rounds
			r.observe("c", t0, t0.Add(tc.start), tc.took, tick)
			c := r.m["c"]
			require.Equal(t, tc.onTime, c.onTime)
			require.Equal(t, tc.late, c.late)
			require.Equal(t, tc.start, c.lag)
		})
	}
	var r rounds
	r.miss("c", 3)
	require.Equal(t, 3.0, r.m["c"].missed)
}
