package app

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// rounds counts the collection rounds of every node, by cluster: whether
// each started on time and how far behind it ran, so that an operator (and
// the scale benchmark) can see when beamctl watches more nodes than it can
// collect on schedule.
type rounds struct {
	mu sync.Mutex
	m  map[string]*roundCounts
}

type roundCounts struct {
	onTime, late, missed float64
	lag, busy            time.Duration
}

// observe records one round of a node's collection loop that was due at
// due, started at start and took took, on a loop ticking every tick. It is
// on time when it started within half a tick of when it was due (the slack
// the schedule gives timer jitter) and ended before the next one was due.
func (r *rounds) observe(cluster string, due, start time.Time, took, tick time.Duration) {
	lag := max(start.Sub(due), 0)
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.of(cluster)
	if lag <= tick/2 && lag+took <= tick {
		c.onTime++
	} else {
		c.late++
	}
	c.lag += lag
	c.busy += took
}

// miss records rounds that never ran: a loop busy past its next tick skips
// the ticks it slept through (time.Ticker drops them).
func (r *rounds) miss(cluster string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.of(cluster).missed += float64(n)
}

func (r *rounds) of(cluster string) *roundCounts {
	if r.m == nil {
		r.m = map[string]*roundCounts{}
	}
	c := r.m[cluster]
	if c == nil {
		c = &roundCounts{}
		r.m[cluster] = c
	}
	return c
}

var (
	roundsDesc = prometheus.NewDesc("beamctl_collection_rounds_total",
		"Collection rounds of the managed nodes, by cluster: on_time (started within half a tick of when due and ended before the next), late, or missed (skipped because the loop was still busy).",
		[]string{"cluster", "result"}, nil)
	lagDesc = prometheus.NewDesc("beamctl_collection_lag_seconds_total",
		"Sum over collection rounds of how long after its due time each started; over beamctl_collection_rounds_total, the mean lag.",
		[]string{"cluster"}, nil)
	busyDesc = prometheus.NewDesc("beamctl_collection_round_seconds_total",
		"Sum over collection rounds of the wall time each took on its node.", []string{"cluster"}, nil)
	evalsDesc    = prometheus.NewDesc("beamctl_alarm_evaluations_total", "Completed evaluations of every alarm rule.", nil, nil)
	evalSecsDesc = prometheus.NewDesc("beamctl_alarm_evaluation_seconds_total",
		"Wall time of the completed evaluations; over beamctl_alarm_evaluations_total, the mean time of one.", nil, nil)
)

func (r *rounds) describe(ch chan<- prometheus.Metric) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for cluster, c := range r.m {
		ch <- prometheus.MustNewConstMetric(roundsDesc, prometheus.CounterValue, c.onTime, cluster, "on_time")
		ch <- prometheus.MustNewConstMetric(roundsDesc, prometheus.CounterValue, c.late, cluster, "late")
		ch <- prometheus.MustNewConstMetric(roundsDesc, prometheus.CounterValue, c.missed, cluster, "missed")
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.CounterValue, c.lag.Seconds(), cluster)
		ch <- prometheus.MustNewConstMetric(busyDesc, prometheus.CounterValue, c.busy.Seconds(), cluster)
	}
}
