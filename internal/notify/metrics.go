package notify

import "github.com/prometheus/client_golang/prometheus"

var (
	deliveriesDesc = prometheus.NewDesc("beamctl_alarm_deliveries_total",
		"Alarm deliveries by destination (its place in the configuration): alerts sent, failed attempts (retried), alerts dropped (any reason).",
		[]string{"destination", "integration", "result"}, nil)
	droppedDesc = prometheus.NewDesc("beamctl_alarm_deliveries_dropped_total",
		"Alerts a destination dropped, by reason: queue_full, rejected (a 4xx other than 429, a permanent SMTP error), resolved_overflow.",
		[]string{"destination", "integration", "reason"}, nil)
)

// Collect sends the loops' delivery counts. The labels are the loops'
// names and integrations, never a URL.
func Collect(ch chan<- prometheus.Metric, loops ...*Loop) {
	for _, l := range loops {
		var dropped uint64
		for _, r := range dropReasons {
			n := l.Dropped(r)
			dropped += n
			ch <- prometheus.MustNewConstMetric(droppedDesc, prometheus.CounterValue, float64(n), l.o.Name, l.o.Integration, r)
		}
		ch <- prometheus.MustNewConstMetric(deliveriesDesc, prometheus.CounterValue, float64(l.Sent()), l.o.Name, l.o.Integration, "sent")
		ch <- prometheus.MustNewConstMetric(deliveriesDesc, prometheus.CounterValue, float64(l.Failed()), l.o.Name, l.o.Integration, "failed")
		ch <- prometheus.MustNewConstMetric(deliveriesDesc, prometheus.CounterValue, float64(dropped), l.o.Name, l.o.Integration, "dropped")
	}
}
