package app

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/beamctl/beamctl/internal/notify"
)

// selfMetrics serves beamctl's own metrics: Go runtime and process, the
// store's (registered by store.Open), and how many managed nodes are in
// each state.
func (a *App) selfMetrics() http.Handler {
	reg := a.reg
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(prometheus.CollectorFunc(a.describeNodes))
	reg.MustRegister(prometheus.CollectorFunc(a.describeNotifications))
	reg.MustRegister(prometheus.CollectorFunc(a.describeRules))
	reg.MustRegister(prometheus.CollectorFunc(a.rounds.describe))
	reg.MustRegister(prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) {
		ch <- prometheus.MustNewConstMetric(evalsDesc, prometheus.CounterValue, float64(a.alarms.Evaluations()))
		ch <- prometheus.MustNewConstMetric(evalSecsDesc, prometheus.CounterValue, a.alarms.EvaluationSeconds())
	}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

func (a *App) describeNodes(ch chan<- prometheus.Metric) {
	counts := map[[2]string]float64{}
	for _, n := range a.Nodes() {
		counts[[2]string{n.Cluster, n.State}]++
	}
	for k, v := range counts {
		ch <- prometheus.MustNewConstMetric(nodesDesc, prometheus.GaugeValue, v, k[0], k[1])
	}
}

var (
	notesDesc   = prometheus.NewDesc("beamctl_notifications_total", "Notifications recorded, dropped by the rate limit, or failed (the store could not write them), by cluster, node and kind.", []string{"cluster", "node", "kind", "result"}, nil)
	exportsDesc = prometheus.NewDesc("beamctl_export_notifications_total", "Notifications an export target sent, or dropped because its queue was full.", []string{"target", "result"}, nil)
	exportFails = prometheus.NewDesc("beamctl_export_failures_total", "Failed attempts to send a batch to an export target (each is retried).", []string{"target"}, nil)
	alarmsDesc  = prometheus.NewDesc("beamctl_alarms_active", "Active alarms by cluster, rule and severity.", []string{"cluster", "rule", "severity"}, nil)
)

func (a *App) describeNotifications(ch chan<- prometheus.Metric) {
	for _, c := range a.notes.Counts() {
		ch <- prometheus.MustNewConstMetric(notesDesc, prometheus.CounterValue, float64(c.Recorded), c.Cluster, c.Node, c.Kind, "recorded")
		ch <- prometheus.MustNewConstMetric(notesDesc, prometheus.CounterValue, float64(c.Dropped), c.Cluster, c.Node, c.Kind, "dropped")
		ch <- prometheus.MustNewConstMetric(notesDesc, prometheus.CounterValue, float64(c.Failed), c.Cluster, c.Node, c.Kind, "failed")
	}
	active := map[[3]string]float64{}
	for _, x := range a.alarms.Active() {
		active[[3]string{x.Cluster, x.Rule, x.Severity.String()}]++
	}
	for k, v := range active {
		ch <- prometheus.MustNewConstMetric(alarmsDesc, prometheus.GaugeValue, v, k[0], k[1], k[2])
	}
	notify.Collect(ch, a.deliveryLoops()...)
	a.exportMu.Lock()
	targets := a.exports
	a.exportMu.Unlock()
	for _, t := range targets {
		ch <- prometheus.MustNewConstMetric(exportsDesc, prometheus.CounterValue, float64(t.Sent.Load()), t.Name, "sent")
		ch <- prometheus.MustNewConstMetric(exportsDesc, prometheus.CounterValue, float64(t.Dropped.Load()), t.Name, "dropped")
		ch <- prometheus.MustNewConstMetric(exportFails, prometheus.CounterValue, float64(t.Failed.Load()), t.Name)
	}
}

var nodesDesc = prometheus.NewDesc("beamctl_managed_nodes", "Managed nodes by cluster and connection state.", []string{"cluster", "state"}, nil)
