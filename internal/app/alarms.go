package app

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/beamctl/beamctl/internal/alarm"
)

// alarmModel gives the model alarms of the catalogue (alarm.ModelBuiltins)
// what the server knows of its nodes: their connection state, family and
// applications, and the snapshots of their modules, alarms and release
// files.
type alarmModel struct{ a *App }

// Nodes lists the known nodes, but for those being forgotten (they left
// the cluster: their node_down clears with that reason, not as a
// recovery).
func (m alarmModel) Nodes() []alarm.ModelNode {
	var out []alarm.ModelNode
	deploying := m.a.deploys.Deploying()
	for _, n := range m.a.Nodes() {
		mn := alarm.ModelNode{Cluster: n.Cluster, Node: n.Node, State: n.State, LastError: n.LastError, Since: n.Since, Family: n.Family,
			Deploying: deploying[[2]string{n.Cluster, n.Node}]}
		m.a.mu.Lock()
		if m.a.leaving[nodeKey{n.Cluster, n.Node}] {
			m.a.mu.Unlock()
			continue
		}
		if info := m.a.nodes[nodeKey{n.Cluster, n.Node}]; info != nil {
			mn.Apps = info.apps
		}
		m.a.mu.Unlock()
		out = append(out, mn)
	}
	return out
}

// Snapshot reads a node's snapshot from the notification store.
func (m alarmModel) Snapshot(ctx context.Context, cluster, node, name string) ([]byte, error) {
	return m.a.notes.Store().Snapshot(ctx, cluster, node, name)
}

var (
	ruleEvalsDesc = prometheus.NewDesc("beamctl_rule_evaluations_total", "Evaluations of an alarm rule.", []string{"rule"}, nil)
	ruleFailsDesc = prometheus.NewDesc("beamctl_rule_evaluation_failures_total",
		"Evaluations of an alarm rule that failed (its alarms then stay as they are): GET /api/v1/alarm-rules has the last error.", []string{"rule"}, nil)
	ruleLastDesc = prometheus.NewDesc("beamctl_rule_last_evaluation_timestamp_seconds", "When an alarm rule was last evaluated.", []string{"rule"}, nil)
	ruleTookDesc = prometheus.NewDesc("beamctl_rule_last_evaluation_duration_seconds", "How long the last evaluation of an alarm rule took.", []string{"rule"}, nil)
	ruleOKDesc   = prometheus.NewDesc("beamctl_rule_healthy", "Whether the last evaluation of an alarm rule succeeded (1) or failed (0).", []string{"rule"}, nil)
)

// describeRules is the health of the alarm rules' evaluations, as
// metrics.
func (a *App) describeRules(ch chan<- prometheus.Metric) {
	for _, r := range a.alarms.Rules() {
		if r.Health == alarm.HealthUnknown {
			continue
		}
		ch <- prometheus.MustNewConstMetric(ruleEvalsDesc, prometheus.CounterValue, float64(r.Evaluations), r.Name)
		ch <- prometheus.MustNewConstMetric(ruleFailsDesc, prometheus.CounterValue, float64(r.Failures), r.Name)
		ch <- prometheus.MustNewConstMetric(ruleLastDesc, prometheus.GaugeValue, float64(r.LastEvaluation.UnixNano())/1e9, r.Name)
		ch <- prometheus.MustNewConstMetric(ruleTookDesc, prometheus.GaugeValue, r.EvaluationSeconds, r.Name)
		ok := 0.0
		if r.Health == alarm.HealthGood {
			ok = 1
		}
		ch <- prometheus.MustNewConstMetric(ruleOKDesc, prometheus.GaugeValue, ok, r.Name)
	}
}
