package grafana

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/app"
	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/testnode"
)

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	Title      string
	Templating struct {
		List []struct {
			Name, Type string
			Query      json.RawMessage
		}
	}
	Panels []struct {
		Title   string
		Targets []struct{ Expr string }
	}
}

// labelValues is the one template-variable query the dashboards use.
var labelValues = regexp.MustCompile(`^label_values\((.+), *([a-zA-Z_][a-zA-Z0-9_]*)\)$`)

// TestDashboards loads each dashboard and runs every query in it, with
// its template variables resolved as Grafana does, against beamctl serve
// watching two connected real nodes: a query that errors or returns
// nothing fails. It also reads the build information, rules and alerts
// through client_golang's Prometheus client, as Grafana's alerting view
// does.
func TestDashboards(t *testing.T) {
	a := testnode.Start(t, testnode.Options{})
	b := testnode.Start(t, testnode.Options{Cookie: a.Cookie, Eval: fmt.Sprintf("net_kernel:connect_node('%s')", a.Name)})
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 300ms, collect_timeout: 300ms, discover_interval: 300ms}
clusters:
  - name: grafana
    cookie: %s
    seeds: [%s]
alarms:
  interval: 1s
  rules:
    - {name: has_processes, expr: 'erlang_vm_processes > 0', severity: warning, description: 'The node runs processes.',
       labels: {team: erlang}, annotations: {summary: '{{ .Node }} runs processes'}}
`, a.Cookie, a.Name)), t.TempDir())
	require.NoError(t, err)
	srv, err := app.New(app.Options{Config: cfg, StoragePath: t.TempDir(), Listen: "127.0.0.1:0", Version: "test"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	require.NoError(t, srv.Start(context.Background()))

	c, err := api.NewClient(api.Config{Address: "http://" + srv.Addr()})
	require.NoError(t, err)
	p := v1.NewAPI(c)
	ctx := context.Background()

	files, err := fs.Glob(Dashboards, "*.json")
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"node.json", "overview.json"}, files)
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			raw, err := Dashboards.ReadFile(f)
			require.NoError(t, err)
			var d dashboard
			require.NoError(t, json.Unmarshal(raw, &d))
			require.NotEmpty(t, d.Panels)
			// Collection rounds come every 300 ms and rates need two
			// samples: every query must answer within the deadline.
			deadline := time.Now().Add(90 * time.Second)
			for failed := runDashboard(ctx, t, p, d, a.Name); len(failed) > 0; failed = runDashboard(ctx, t, p, d, a.Name) {
				if time.Now().After(deadline) {
					t.Fatalf("queries without data or failing after 90 s:\n%s", strings.Join(failed, "\n"))
				}
				time.Sleep(time.Second) // the next collection rounds
			}
			n := 0
			for _, panel := range d.Panels {
				n += len(panel.Targets)
			}
			t.Logf("%s: %d panels, %d queries, each with data", d.Title, len(d.Panels), n)
		})
	}

	// Grafana's data source asks for the build information; its alerting
	// view reads the rules and alerts.
	bi, err := p.Buildinfo(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, bi.Version)
	require.NotEqual(t, "test", bi.Version, "the version is the query API's, not beamctl's")
	var firing v1.AlertingRule
	require.Eventually(t, func() bool {
		rules, err := p.Rules(ctx, nil)
		require.NoError(t, err)
		for _, g := range rules.Groups {
			for _, r := range g.Rules {
				if ar, ok := r.(v1.AlertingRule); ok && ar.Name == "has_processes" {
					firing = ar
				}
			}
		}
		return firing.State == "firing" && len(firing.Alerts) == 2
	}, 60*time.Second, 200*time.Millisecond, "rule: %+v", firing)
	require.Equal(t, "erlang_vm_processes > 0", firing.Query)
	require.Equal(t, model.LabelSet{"team": "erlang"}, firing.Labels)
	require.Equal(t, model.LabelSet{"summary": "{{ .Node }} runs processes"}, firing.Annotations)
	alerts, err := p.Alerts(ctx)
	require.NoError(t, err)
	nodes := map[string]bool{}
	for _, al := range alerts.Alerts {
		if al.Labels["alertname"] == "has_processes" {
			require.Equal(t, v1.AlertStateFiring, al.State)
			require.Equal(t, model.LabelValue("warning"), al.Labels["severity"])
			require.Equal(t, model.LabelValue("grafana"), al.Labels["cluster"])
			require.Equal(t, model.LabelValue("erlang"), al.Labels["team"])
			require.Equal(t, model.LabelValue(al.Labels["node"]+" runs processes"), al.Annotations["summary"])
			require.NotEmpty(t, al.Annotations["description"])
			nodes[string(al.Labels["node"])] = true
		}
	}
	require.Equal(t, map[string]bool{a.Name: true, b.Name: true}, nodes)
}

// runDashboard resolves the dashboard's variables (the first value of
// each, the node preferred for node) and runs each panel's queries over
// the last two minutes; it returns the queries that failed or answered
// nothing.
func runDashboard(ctx context.Context, t *testing.T, p v1.API, d dashboard, node string) []string {
	vars := map[string]string{"__rate_interval": "1m", "__interval": "15s", "__range": "2m"}
	var failed []string
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct{ Query string }
		require.NoError(t, json.Unmarshal(v.Query, &q), "variable %s", v.Name)
		m := labelValues.FindStringSubmatch(q.Query)
		require.NotNil(t, m, "variable %s: query %q is not label_values(selector, label)", v.Name, q.Query)
		sel := substitute(m[1], vars)
		// As Grafana asks: the label's values among the matching series.
		values, _, _, err := p.LabelValues(ctx, m[2], []string{sel}, time.Now().Add(-2*time.Minute), time.Now())
		if err != nil || len(values) == 0 {
			return append(failed, fmt.Sprintf("variable %s: %s: %v (%d values)", v.Name, sel, err, len(values)))
		}
		sort.Slice(values, func(i, j int) bool { return values[i] < values[j] })
		vars[v.Name] = string(values[0])
		for _, x := range values {
			if string(x) == node {
				vars[v.Name] = node
			}
		}
	}
	now := time.Now()
	for _, panel := range d.Panels {
		require.NotEmpty(t, panel.Targets, "panel %s", panel.Title)
		for _, tg := range panel.Targets {
			q := substitute(tg.Expr, vars)
			require.NotContains(t, q, "$", "panel %s: unresolved variable in %s", panel.Title, q)
			res, _, _, err := p.QueryRange(ctx, q, v1.Range{Start: now.Add(-2 * time.Minute), End: now, Step: 5 * time.Second})
			switch {
			case err != nil:
				failed = append(failed, fmt.Sprintf("%s: %s: %v", panel.Title, q, err))
			case res.(model.Matrix).Len() == 0:
				failed = append(failed, fmt.Sprintf("%s: %s: no data", panel.Title, q))
			}
		}
	}
	return failed
}

// substitute replaces $name and ${name} by the variables' values,
// longest names first ($__rate_interval before $__range).
func substitute(s string, vars map[string]string) string {
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	for _, n := range names {
		v := vars[n] // node names and cluster names need no regexp escaping
		s = strings.ReplaceAll(s, "${"+n+"}", v)
		s = strings.ReplaceAll(s, "$"+n, v)
	}
	return s
}
