package web

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/beamctl/beamctl/internal/alarm"
	"github.com/beamctl/beamctl/internal/severity"
	"github.com/beamctl/beamctl/internal/store"
)

// The overview's sparklines: the last hour, a point a minute.
const (
	sparkRange  = time.Hour
	sparkPoints = 60
	sparkStep   = sparkRange / sparkPoints
	// sparkScale is the top of a sparkline's quantized values (0 to it).
	sparkScale = 100
)

// The overview's instant queries, each over all nodes at once: the cost
// of an overview does not grow in queries with the number of nodes.
var overviewQueries = []struct {
	expr string
	set  func(n *OverviewNode, labels map[string]string, v float64)
}{
	{`{__name__=~"erlang_vm_processes|erlang_vm_process_limit|erlang_vm_message_queue_max_length|erlang_vm_release_info"}`,
		func(n *OverviewNode, l map[string]string, v float64) {
			switch l["__name__"] {
			case "erlang_vm_processes":
				n.Processes = num(v)
			case "erlang_vm_process_limit":
				n.ProcessLimit = num(v)
			case "erlang_vm_message_queue_max_length":
				n.MessageQueueMax = num(v)
			case "erlang_vm_release_info":
				n.Release, n.ReleaseVersion = l["release"], l["version"]
			}
		}},
	{`erlang_vm_memory_bytes{kind="total"}`, func(n *OverviewNode, _ map[string]string, v float64) { n.MemoryBytes = num(v) }},
	{`erlang_vm_scheduler_type_utilization_ratio{type="normal"}`,
		func(n *OverviewNode, _ map[string]string, v float64) { n.SchedulerUtilization = num(v) }},
	{`sum by (cluster, node) (erlang_vm_statistics_run_queue_length)`,
		func(n *OverviewNode, _ map[string]string, v float64) { n.RunQueue = num(v) }},
}

// The overview's sparkline series (range queries over all nodes).
var sparkQueries = []struct{ name, expr string }{
	{"scheduler_utilization", `erlang_vm_scheduler_type_utilization_ratio{type="normal"}`},
	{"memory_bytes", `erlang_vm_memory_bytes{kind="total"}`},
}

// Overview is the answer of GET /api/v1/overview: every node with the
// figures an operator scans, its sparklines, and the aggregates per family
// and per cluster.
type Overview struct {
	Time     time.Time         `json:"time"`
	Spark    SparkInfo         `json:"spark"`
	Clusters []OverviewGroup   `json:"clusters"`
	Families []OverviewGroup   `json:"families"`
	Nodes    []OverviewNode    `json:"nodes"`
	Warnings []string          `json:"warnings,omitempty"`
	index    map[[2]string]int // cluster, node → Nodes index
}

// SparkInfo describes the sparklines' common time grid.
type SparkInfo struct {
	Start  time.Time `json:"start"`
	Step   float64   `json:"step_seconds"`
	Points int       `json:"points"`
	// Series names each node's sparklines (OverviewNode.Spark's keys).
	Series []string `json:"series"`
	// Scale is the top of the quantized values (see Spark).
	Scale int `json:"scale"`
}

// Spark is one sparkline: values quantized from 0 (Min) to Scale (Max)
// on the common time grid, null where there is no sample. The shape is
// what a sparkline draws; Min, Max and Last are the real figures.
type Spark struct {
	Min    float64  `json:"min"`
	Max    float64  `json:"max"`
	Last   *float64 `json:"last"`
	Values []*int   `json:"values"`
}

// OverviewNode is one node's row of the overview; a nil figure is not
// known (never collected, or no sample in the last 5 minutes).
type OverviewNode struct {
	Cluster  string            `json:"cluster"`
	Family   string            `json:"family,omitempty"`
	Node     string            `json:"node"`
	State    string            `json:"state"`
	Severity severity.Level    `json:"severity"` // worst active alarm's, "" for none
	Alarms   int               `json:"alarms"`   // active alarms on the node
	Spark    map[string]*Spark `json:"spark,omitempty"`

	MemoryBytes          *float64 `json:"memory_bytes"`
	Processes            *float64 `json:"processes"`
	ProcessLimit         *float64 `json:"process_limit"`
	RunQueue             *float64 `json:"run_queue"`
	SchedulerUtilization *float64 `json:"scheduler_utilization"`
	MessageQueueMax      *float64 `json:"message_queue_max"`
	UptimeSeconds        *float64 `json:"uptime_seconds"`
	OTPRelease           string   `json:"otp_release,omitempty"`
	Release              string   `json:"release,omitempty"`
	ReleaseVersion       string   `json:"release_version,omitempty"`
}

// OverviewGroup aggregates the nodes of a cluster or of a family.
type OverviewGroup struct {
	Cluster string         `json:"cluster"`
	Family  string         `json:"family,omitempty"`
	Nodes   int            `json:"nodes"`
	States  map[string]int `json:"states"`
	// Severity is the worst active alarm of the group's nodes (and, for a
	// cluster, of its alarms on no node); Alarms counts them.
	Severity severity.Level `json:"severity"`
	Alarms   int            `json:"alarms"`
	// Sums and maxima of the nodes' figures (of the nodes that have them).
	MemoryBytes             float64  `json:"memory_bytes"`
	Processes               float64  `json:"processes"`
	MaxProcessRatio         float64  `json:"max_process_ratio"` // processes / limit
	MaxRunQueue             float64  `json:"max_run_queue"`
	MaxSchedulerUtilization float64  `json:"max_scheduler_utilization"`
	MaxMessageQueue         float64  `json:"max_message_queue"`
	OTPReleases             []string `json:"otp_releases"`
}

func num(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// overview serves GET /api/v1/overview: the whole overview in one answer,
// from a handful of queries over all nodes, the model's nodes and the
// active alarms. sparklines=false leaves the sparklines out.
func (h *handler) overview(w http.ResponseWriter, r *http.Request) {
	if aerr := h.form(w, r); aerr != nil {
		h.respond(w, nil, aerr)
		return
	}
	spark := true
	if s := r.Form.Get("sparklines"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			h.respond(w, nil, badData("invalid parameter sparklines: %q is not a boolean", s))
			return
		}
		spark = b
	}
	release, ok := h.startQuery(w, r)
	if !ok {
		return
	}
	defer release()
	ov, err := buildOverview(r.Context(), h.q, h.m, time.Now(), spark)
	if err != nil {
		h.respond(w, nil, &apiError{status: http.StatusUnprocessableEntity, typ: "execution", err: err})
		return
	}
	h.respond(w, ov, nil)
}

// buildOverview computes the overview at now.
func buildOverview(ctx context.Context, q Querier, m Model, now time.Time, spark bool) (*Overview, error) {
	ov := &Overview{Time: now.UTC(), Nodes: []OverviewNode{}, index: map[[2]string]int{}}
	for _, n := range m.Nodes() {
		ov.index[[2]string{n.Cluster, n.Node}] = len(ov.Nodes)
		on := OverviewNode{Cluster: n.Cluster, Family: n.Family, Node: n.Node, State: n.State, OTPRelease: n.OTPRelease}
		if n.UptimeSeconds > 0 {
			on.UptimeSeconds = num(n.UptimeSeconds)
		}
		ov.Nodes = append(ov.Nodes, on)
	}

	// The queries run at once; each fills its own fields.
	type answer struct {
		labels []map[string]string
		values []float64
	}
	instant := make([]answer, len(overviewQueries))
	var wg sync.WaitGroup
	errs := make([]error, len(overviewQueries)+len(sparkQueries))
	run := func(i int, f func() error) {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = f() }()
	}
	for i, oq := range overviewQueries {
		run(i, func() error {
			res, err := q.Query(ctx, oq.expr, now)
			if err != nil {
				return fmt.Errorf("query %s: %w", oq.expr, err)
			}
			for _, s := range res.Series {
				if len(s.Points) > 0 {
					instant[i].labels = append(instant[i].labels, s.Labels)
					instant[i].values = append(instant[i].values, s.Points[0].Value)
				}
			}
			return nil
		})
	}
	start := now.Add(-sparkRange) // the last point is now
	var ranges [][]rangeSeries
	if spark {
		ranges = make([][]rangeSeries, len(sparkQueries))
		for i, sq := range sparkQueries {
			run(len(overviewQueries)+i, func() error {
				res, err := q.QueryRange(ctx, sq.expr, start, now, sparkStep)
				if err != nil {
					return fmt.Errorf("query %s: %w", sq.expr, err)
				}
				for _, s := range res.Series {
					ranges[i] = append(ranges[i], rangeSeries{s.Labels, s.Points})
				}
				return nil
			})
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i, a := range instant {
		for j, l := range a.labels {
			if n := ov.node(l); n != nil {
				overviewQueries[i].set(n, l, a.values[j])
			}
		}
	}
	if spark {
		points := int(now.Sub(start)/sparkStep) + 1
		ov.Spark = SparkInfo{Start: start.UTC(), Step: sparkStep.Seconds(), Points: points, Scale: sparkScale}
		for i, sq := range sparkQueries {
			ov.Spark.Series = append(ov.Spark.Series, sq.name)
			for _, s := range ranges[i] {
				n := ov.node(s.labels)
				if n == nil {
					continue
				}
				if n.Spark == nil {
					n.Spark = map[string]*Spark{}
				}
				n.Spark[sq.name] = quantize(s.points, start, sparkStep, points)
			}
		}
	} else {
		ov.Spark.Series = []string{}
	}

	for _, a := range m.Alarms().Active() {
		if i, ok := ov.index[[2]string{a.Cluster, a.Node}]; ok && a.Node != "" {
			n := &ov.Nodes[i]
			n.Alarms++
			n.Severity = max(n.Severity, a.Severity)
		}
	}
	ov.Clusters, ov.Families = aggregate(ov.Nodes, m.Alarms().Active())
	return ov, nil
}

type rangeSeries struct {
	labels map[string]string
	points []store.Point
}

// node is the row of a result's series (by its cluster and node labels).
func (ov *Overview) node(l map[string]string) *OverviewNode {
	i, ok := ov.index[[2]string{l["cluster"], l["node"]}]
	if !ok {
		return nil
	}
	return &ov.Nodes[i]
}

// quantize puts points on the grid of n steps from start and scales them
// from 0 (their minimum) to sparkScale (their maximum): a sparkline needs
// the shape, and a few digits a point keep the answer small with
// thousands of nodes.
func quantize(points []store.Point, start time.Time, step time.Duration, n int) *Spark {
	sp := &Spark{Values: make([]*int, n)}
	vals := make([]float64, n)
	known := make([]bool, n)
	first := true
	for _, p := range points {
		i := int(math.Round(float64(p.Time.Sub(start)) / float64(step)))
		if i < 0 || i >= n || math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
			continue
		}
		vals[i], known[i] = p.Value, true
		if first || p.Value < sp.Min {
			sp.Min = p.Value
		}
		if first || p.Value > sp.Max {
			sp.Max = p.Value
		}
		first = false
		sp.Last = num(p.Value)
	}
	span := sp.Max - sp.Min
	for i, v := range vals {
		if !known[i] {
			continue
		}
		q := 0
		if span > 0 {
			q = int(math.Round((v - sp.Min) / span * sparkScale))
		}
		sp.Values[i] = &q
	}
	return sp
}

// aggregate sums up the nodes per cluster and per family (sorted by
// name); a cluster's severity and alarm count include its alarms on no
// node (a family's, a cluster's).
func aggregate(nodes []OverviewNode, active []alarm.Alarm) (clusters, families []OverviewGroup) {
	cidx, fidx := map[string]int{}, map[[2]string]int{}
	clusters, families = []OverviewGroup{}, []OverviewGroup{}
	for i := range nodes {
		n := &nodes[i]
		c, ok := cidx[n.Cluster]
		if !ok {
			c = len(clusters)
			cidx[n.Cluster] = c
			clusters = append(clusters, newGroup(n.Cluster, ""))
		}
		add(&clusters[c], n)
		if n.Family == "" {
			continue
		}
		k := [2]string{n.Cluster, n.Family}
		f, ok := fidx[k]
		if !ok {
			f = len(families)
			fidx[k] = f
			families = append(families, newGroup(n.Cluster, n.Family))
		}
		add(&families[f], n)
	}
	for _, a := range active {
		if a.Node != "" {
			continue
		}
		if i, ok := cidx[a.Cluster]; ok {
			clusters[i].Alarms++
			clusters[i].Severity = max(clusters[i].Severity, a.Severity)
		}
	}
	sort.Slice(clusters, func(i, j int) bool { return clusters[i].Cluster < clusters[j].Cluster })
	sort.Slice(families, func(i, j int) bool {
		if families[i].Cluster != families[j].Cluster {
			return families[i].Cluster < families[j].Cluster
		}
		return families[i].Family < families[j].Family
	})
	return clusters, families
}

func newGroup(cluster, family string) OverviewGroup {
	return OverviewGroup{Cluster: cluster, Family: family, States: map[string]int{}, OTPReleases: []string{}}
}

func add(g *OverviewGroup, n *OverviewNode) {
	g.Nodes++
	g.States[n.State]++
	g.Alarms += n.Alarms
	g.Severity = max(g.Severity, n.Severity)
	val := func(p *float64) float64 {
		if p == nil {
			return 0
		}
		return *p
	}
	g.MemoryBytes += val(n.MemoryBytes)
	g.Processes += val(n.Processes)
	if n.Processes != nil && n.ProcessLimit != nil && *n.ProcessLimit > 0 {
		g.MaxProcessRatio = max(g.MaxProcessRatio, *n.Processes / *n.ProcessLimit)
	}
	g.MaxRunQueue = max(g.MaxRunQueue, val(n.RunQueue))
	g.MaxSchedulerUtilization = max(g.MaxSchedulerUtilization, val(n.SchedulerUtilization))
	g.MaxMessageQueue = max(g.MaxMessageQueue, val(n.MessageQueueMax))
	if n.OTPRelease != "" && !slices.Contains(g.OTPReleases, n.OTPRelease) {
		g.OTPReleases = append(g.OTPReleases, n.OTPRelease)
	}
}
