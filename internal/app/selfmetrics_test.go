package app

import (
	"io"
	"net/http"
	"testing"

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
		"beamctl_store_dropped_samples_total 0", "go_goroutines "} {
		require.Contains(t, string(body), name)
	}
}
