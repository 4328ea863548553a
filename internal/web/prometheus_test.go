package web

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	pmodel "github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/alarm"
	"github.com/beamctl/beamctl/internal/store"
)

// fixedRule is an alarm rule whose condition holds on one node at every
// evaluation, with its own for: duration.
type fixedRule struct {
	name  string
	forD  time.Duration
	value float64
}

func (r fixedRule) Name() string       { return r.name }
func (r fixedRule) For() time.Duration { return r.forD }
func (r fixedRule) Evaluate(context.Context, time.Time, map[alarm.Key]alarm.Severity) ([]alarm.Observation, error) {
	return []alarm.Observation{{Key: alarm.Key{Cluster: "c1", Node: "a@h"}, Severity: alarm.Major, Value: r.value,
		Description: r.name + " holds", Labels: map[string]string{"team": "ops"}}}, nil
}

// TestPrometheusAlertingAPI reads build information, rules and alerts
// through client_golang's Prometheus API client, as Prometheus clients
// (and Grafana) do: a raised alarm is a firing alert, a condition waiting
// for its for: a pending one, a rule with neither inactive.
func TestPrometheusAlertingAPI(t *testing.T) {
	srv, _, m := newServer(t, model{})
	m.alarms.SetRules([]alarm.Rule{
		fixedRule{name: "fires", value: 42},
		fixedRule{name: "waits", forD: time.Hour, value: 1},
		quietRule{},
	})
	now := time.Now()
	m.alarms.Evaluate(context.Background(), now)

	c, err := api.NewClient(api.Config{Address: srv.URL})
	require.NoError(t, err)
	p := v1.NewAPI(c)
	ctx := context.Background()

	bi, err := p.Buildinfo(ctx)
	require.NoError(t, err)
	// Grafana compares the version as semver: x.y.z, at least 2.24 (the
	// query API beamctl serves).
	var major, minor, patch int
	n, err := fmt.Sscanf(bi.Version, "%d.%d.%d", &major, &minor, &patch)
	require.NoError(t, err, bi.Version)
	require.Equal(t, 3, n)
	require.True(t, major > 2 || major == 2 && minor >= 24, "version %s", bi.Version)
	// It is the linked PromQL engine's release: go.mod's
	// github.com/prometheus/prometheus v0.MMM.P is Prometheus M.MM.P.
	mod, err := os.ReadFile("../../go.mod")
	require.NoError(t, err)
	pv := regexp.MustCompile(`github.com/prometheus/prometheus v0\.(\d+)\.(\d+)`).FindStringSubmatch(string(mod))
	require.NotNil(t, pv)
	mm, _ := strconv.Atoi(pv[1])
	require.Equal(t, fmt.Sprintf("%d.%d.%s", mm/100, mm%100, pv[2]), bi.Version)
	var ownInfo struct {
		BeamctlVersion string `json:"beamctlVersion"`
	}
	status, msg := get(t, srv, "/api/v1/status/buildinfo", &ownInfo)
	require.Equal(t, 200, status, msg)
	require.Equal(t, "dev", ownInfo.BeamctlVersion)
	require.NotEmpty(t, bi.GoVersion)

	rules, err := p.Rules(ctx, nil)
	require.NoError(t, err)
	states := map[string]string{}
	var fired v1.AlertingRule
	for _, g := range rules.Groups {
		require.Equal(t, "beamctl", g.File)
		for _, r := range g.Rules {
			ar, ok := r.(v1.AlertingRule)
			require.True(t, ok, "rule %v is not an alerting rule", r)
			states[ar.Name] = ar.State
			require.Equal(t, v1.RuleHealth(v1.RuleHealthGood), ar.Health, ar.Name)
			require.WithinDuration(t, now, ar.LastEvaluation, time.Second)
			if ar.Name == "fires" {
				fired = ar
			}
			if ar.Name == "waits" {
				require.Equal(t, float64(3600), ar.Duration)
			}
		}
	}
	require.Equal(t, map[string]string{"fires": "firing", "waits": "pending", "quiet": "inactive"}, states)
	require.Len(t, fired.Alerts, 1)
	require.Equal(t, pmodel.LabelSet{"alertname": "fires", "cluster": "c1", "node": "a@h", "severity": "major", "team": "ops"},
		fired.Alerts[0].Labels)
	require.Equal(t, pmodel.LabelValue("fires holds"), fired.Alerts[0].Annotations["description"])
	require.Equal(t, "4.2e+01", fired.Alerts[0].Value)

	alerts, err := p.Alerts(ctx)
	require.NoError(t, err)
	got := map[string]v1.AlertState{}
	for _, a := range alerts.Alerts {
		got[string(a.Labels["alertname"])] = a.State
		require.Equal(t, pmodel.LabelValue("a@h"), a.Labels["node"])
		require.WithinDuration(t, now, a.ActiveAt, time.Second)
	}
	require.Equal(t, map[string]v1.AlertState{"fires": v1.AlertStateFiring, "waits": v1.AlertStatePending}, got)

	// beamctl's own shape of the rules stays at /api/v1/alarm-rules.
	var own []struct {
		Name        string
		Evaluations int
		ForSeconds  float64 `json:"for_seconds"`
	}
	status, msg = get(t, srv, "/api/v1/alarm-rules", &own)
	require.Equal(t, 200, status, msg)
	require.Len(t, own, 3)
	require.Equal(t, 1, own[0].Evaluations)
	require.Equal(t, "waits", own[2].Name)
	require.Equal(t, float64(3600), own[2].ForSeconds)
}

// quietRule's condition never holds.
type quietRule struct{}

func (quietRule) Name() string       { return "quiet" }
func (quietRule) For() time.Duration { return 0 }
func (quietRule) Evaluate(context.Context, time.Time, map[alarm.Key]alarm.Severity) ([]alarm.Observation, error) {
	return nil, nil
}

// TestLabelValuesMatch: label values with match[] are those of the
// matching series only, as Grafana's label_values(selector, label)
// template variables expect; a bad selector is a 400.
func TestLabelValuesMatch(t *testing.T) {
	srv, db, _ := newServer(t, model{})
	now := time.Now()
	var samples []store.Sample
	for _, cn := range [][2]string{{"c1", "a@h"}, {"c1", "b@h"}, {"c2", "z@h"}} {
		samples = append(samples, store.Sample{Labels: []store.Label{{Name: "__name__", Value: "beamctl_node_up"},
			{Name: "cluster", Value: cn[0]}, {Name: "node", Value: cn[1]}}, Time: now, Value: 1})
	}
	require.NoError(t, db.Append(context.Background(), samples))
	tests := []struct {
		name, query string
		status      int
		want        []string
		errSub      string
	}{
		{"no match", "", 200, []string{"a@h", "b@h", "z@h"}, ""},
		{"one cluster", `?match[]=` + url.QueryEscape(`beamctl_node_up{cluster=~"c1"}`), 200, []string{"a@h", "b@h"}, ""},
		{"two selectors", `?match[]=` + url.QueryEscape(`{node="z@h"}`) + `&match[]=` + url.QueryEscape(`{node="a@h"}`), 200, []string{"a@h", "z@h"}, ""},
		{"nothing matches", `?match[]=` + url.QueryEscape(`beamctl_node_up{cluster="none"}`), 200, []string{}, ""},
		{"bad selector", `?match[]=` + url.QueryEscape(`beamctl_node_up{`), 400, nil, "parse error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			status, msg := get(t, srv, "/api/v1/label/node/values"+tt.query, &got)
			require.Equal(t, tt.status, status, msg)
			require.Contains(t, msg, tt.errSub)
			if tt.want != nil {
				require.ElementsMatch(t, tt.want, got)
			}
		})
	}
}
