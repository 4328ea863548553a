package app

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/alarm"
	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/testnode"
	"github.com/beamctl/beamctl/internal/web"
)

// TestOverviewAPI: GET /api/v1/overview against two real nodes, one over
// 95 % of its process limit, has every node with its figures, sparklines
// on the common grid, the alarm's severity on its node, and the family's
// and cluster's aggregates.
func TestOverviewAPI(t *testing.T) {
	a := testnode.Start(t, testnode.Options{Args: []string{"+P", "1024"}})
	b := testnode.Start(t, testnode.Options{Cookie: a.Cookie})
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 300ms, collect_timeout: 300ms, discover_interval: 300ms}
clusters:
  - name: test
    cookie: %s
    family: shop
    nodes: [%s, %s]
alarms:
  interval: 1s
  builtin:
    process_limit: {for: 0s}
`, a.Cookie, a.Name, b.Name)), t.TempDir())
	require.NoError(t, err)
	srv := startApp(t, cfg, t.TempDir())
	base := "http://" + srv.Addr()
	overview := func() web.Overview {
		r := get(t, base, "/api/v1/overview", nil)
		require.Equal(t, "success", r.Status, r.Error)
		var ov web.Overview
		require.NoError(t, json.Unmarshal(r.Data, &ov))
		return ov
	}
	complete := func(n web.OverviewNode) bool {
		return n.State == "up" && n.MemoryBytes != nil && n.Processes != nil && n.ProcessLimit != nil &&
			n.RunQueue != nil && n.SchedulerUtilization != nil && n.MessageQueueMax != nil && n.UptimeSeconds != nil &&
			n.OTPRelease != "" && n.Release != "" && n.Spark["memory_bytes"] != nil && n.Spark["scheduler_utilization"] != nil
	}
	var last web.Overview
	require.Eventually(t, func() bool {
		last = overview()
		return len(last.Nodes) == 2 && complete(last.Nodes[0]) && complete(last.Nodes[1])
	}, 30*time.Second, 200*time.Millisecond, "every figure of every node: %+v", &last)

	ctx := context.Background()
	c, err := dist.Dial(ctx, a.Name, dist.Options{Cookie: a.Cookie})
	require.NoError(t, err)
	defer c.Close()
	_, err = inspect.EvalWith(ctx, c, `[spawn(timer, sleep, [infinity]) || _ <- lists:seq(1, 1000 - erlang:system_info(process_count))], ok.`, nil)
	require.NoError(t, err)
	var ov web.Overview
	require.Eventually(t, func() bool {
		ov = overview()
		return ov.Nodes[0].Severity == alarm.Critical || ov.Nodes[1].Severity == alarm.Critical
	}, 30*time.Second, 200*time.Millisecond, "process_limit critical on %s: %+v", a.Name, &ov)

	byName := map[string]web.OverviewNode{}
	for _, n := range ov.Nodes {
		byName[n.Node] = n
	}
	na, nb := byName[a.Name], byName[b.Name]
	require.Equal(t, alarm.Critical, na.Severity)
	require.Equal(t, 1, na.Alarms)
	require.Equal(t, alarm.Severity(0), nb.Severity)
	require.Equal(t, "shop", na.Family)
	require.Equal(t, 1024.0, *na.ProcessLimit)
	require.GreaterOrEqual(t, *na.Processes, 973.0)
	require.Greater(t, *na.MemoryBytes, float64(1<<20))
	require.Equal(t, "Erlang/OTP", na.Release)

	// Sparklines: on the grid, quantized from 0 to the scale.
	require.Equal(t, []string{"scheduler_utilization", "memory_bytes"}, ov.Spark.Series)
	require.Equal(t, 100, ov.Spark.Scale)
	require.Equal(t, 60.0, ov.Spark.Step)
	require.Equal(t, 61, ov.Spark.Points, "an hour in minutes, both ends included")
	mem := na.Spark["memory_bytes"]
	require.Len(t, mem.Values, ov.Spark.Points)
	require.NotNil(t, mem.Values[len(mem.Values)-1], "the last point has a sample")
	require.LessOrEqual(t, mem.Min, *mem.Last)
	require.LessOrEqual(t, *mem.Last, mem.Max)

	require.Len(t, ov.Clusters, 1)
	cl := ov.Clusters[0]
	require.Equal(t, "test", cl.Cluster)
	require.Equal(t, 2, cl.Nodes)
	require.Equal(t, map[string]int{"up": 2}, cl.States)
	require.Equal(t, alarm.Critical, cl.Severity)
	require.Equal(t, 1, cl.Alarms)
	require.InDelta(t, *na.MemoryBytes+*nb.MemoryBytes, cl.MemoryBytes, 1)
	require.GreaterOrEqual(t, cl.MaxProcessRatio, 0.95)
	require.Len(t, ov.Families, 1)
	require.Equal(t, "shop", ov.Families[0].Family)
	require.Equal(t, 2, ov.Families[0].Nodes)
	require.Equal(t, alarm.Critical, ov.Families[0].Severity)

	// Without sparklines.
	r := get(t, base, "/api/v1/overview", map[string][]string{"sparklines": {"false"}})
	require.Equal(t, "success", r.Status, r.Error)
	require.NotContains(t, string(r.Data), `"values":`)
	r = get(t, base, "/api/v1/overview", map[string][]string{"sparklines": {"maybe"}})
	require.Equal(t, "error", r.Status)
}
