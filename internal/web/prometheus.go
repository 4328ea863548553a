package web

import (
	"maps"
	"net/http"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beamctl/beamctl/internal/alarm"
)

// This file serves the three Prometheus endpoints Grafana asks a
// Prometheus data source for besides queries: build information (to learn
// what the server supports) and the rules and alerts its alerting view
// lists, in Prometheus' shapes (docs/serve.md, "Grafana").

// WithBuildInfo sets the beamctl version GET /api/v1/status/buildinfo
// reports (internal/cli.Version; empty: "dev").
func WithBuildInfo(version string) Option {
	return func(h *handler) { h.version = version }
}

// fallbackPromQL is the Prometheus release whose query API beamctl
// answers when the build carries no module information (go run, some
// tests): the PromQL engine of go.mod is github.com/prometheus/prometheus
// v0.316, which is Prometheus 3.16.
const fallbackPromQL = "3.16.0"

// promQLVersion derives the Prometheus release of the PromQL engine
// linked in from its Go module version (v0.316.0 is 3.16.0, v0.53.1 is
// 2.53.1), so that the version stays true when go.mod moves.
func promQLVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return fallbackPromQL
	}
	for _, d := range bi.Deps {
		if d.Path != "github.com/prometheus/prometheus" {
			continue
		}
		parts := strings.SplitN(strings.TrimPrefix(d.Version, "v0."), ".", 2)
		minor, err := strconv.Atoi(parts[0])
		if err != nil || len(parts) != 2 || minor < 100 {
			return fallbackPromQL
		}
		patch, _, _ := strings.Cut(parts[1], "-")
		return strconv.Itoa(minor/100) + "." + strconv.Itoa(minor%100) + "." + patch
	}
	return fallbackPromQL
}

// buildInfo is Prometheus' build information plus beamctl's own version.
type buildInfo struct {
	// Version is the Prometheus release whose query API beamctl serves
	// (the PromQL engine it links): Grafana compares it to decide which
	// API features to use, so beamctl's own version would mislead it.
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	Branch    string `json:"branch"`
	BuildUser string `json:"buildUser"`
	BuildDate string `json:"buildDate"`
	GoVersion string `json:"goVersion"`
	// BeamctlVersion is beamctl's release (Prometheus clients ignore it).
	BeamctlVersion string `json:"beamctlVersion"`
}

// buildinfo serves GET /api/v1/status/buildinfo. It has no "application"
// or "features" field: Grafana then treats the server as Prometheus (with
// them it would take it for Mimir or Cortex and look for a ruler API).
func (h *handler) buildinfo(w http.ResponseWriter, _ *http.Request) {
	b := buildInfo{Version: promQLVersion(), GoVersion: runtime.Version(), BeamctlVersion: h.version}
	if b.BeamctlVersion == "" {
		b.BeamctlVersion = "dev"
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Revision = s.Value
			case "vcs.time":
				b.BuildDate = s.Value
			}
		}
	}
	h.respond(w, b, nil)
}

// promAlert is an alert as Prometheus' API shows it.
type promAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"` // firing or pending
	ActiveAt    time.Time         `json:"activeAt"`
	Value       string            `json:"value"`
}

// promRule is an alerting rule as Prometheus' rules API shows it.
type promRule struct {
	Name           string            `json:"name"`
	Query          string            `json:"query"`
	Duration       float64           `json:"duration"`
	Labels         map[string]string `json:"labels"`
	Annotations    map[string]string `json:"annotations"`
	Alerts         []promAlert       `json:"alerts"`
	Health         string            `json:"health"`
	LastError      string            `json:"lastError,omitempty"`
	EvaluationTime float64           `json:"evaluationTime"`
	LastEvaluation time.Time         `json:"lastEvaluation"`
	State          string            `json:"state"` // firing, pending or inactive
	Type           string            `json:"type"`
}

type promGroup struct {
	Name           string     `json:"name"`
	File           string     `json:"file"`
	Rules          []promRule `json:"rules"`
	Interval       float64    `json:"interval"`
	EvaluationTime float64    `json:"evaluationTime"`
	LastEvaluation time.Time  `json:"lastEvaluation"`
}

// alertLabels are an alarm's labels for Prometheus clients: the rule as
// alertname, where it is, its severity, and a user rule's own labels.
func alertLabels(k alarm.Key, sev string, extra map[string]string) map[string]string {
	l := map[string]string{"alertname": k.Rule, "cluster": k.Cluster}
	for n, v := range extra {
		l[n] = v
	}
	if k.Node != "" {
		l["node"] = k.Node
	}
	if k.Subject != "" {
		l["subject"] = k.Subject
	}
	if sev != "" {
		l["severity"] = sev
	}
	return l
}

// promAlerts returns the raised alarms as firing alerts and the
// conditions waiting for their for: as pending ones (which have no
// severity or value yet), by rule.
func (h *handler) promAlerts() map[string][]promAlert {
	e := h.m.Alarms()
	out := map[string][]promAlert{}
	for _, a := range e.Active() {
		ann := map[string]string{"description": a.Description}
		for n, v := range a.Annotations {
			ann[n] = v
		}
		out[a.Rule] = append(out[a.Rule], promAlert{Labels: alertLabels(a.Key(), a.Severity.String(), a.Labels),
			Annotations: ann, State: "firing", ActiveAt: a.RaisedAt, Value: strconv.FormatFloat(a.Value, 'e', -1, 64)})
	}
	for _, p := range e.Pending() {
		out[p.Key.Rule] = append(out[p.Key.Rule], promAlert{Labels: alertLabels(p.Key, "", nil),
			Annotations: map[string]string{}, State: "pending", ActiveAt: p.Since, Value: "0e+00"})
	}
	return out
}

// promAlertList serves GET /api/v1/alerts as Prometheus does: every
// firing (raised) and pending alert.
func (h *handler) promAlertList(w http.ResponseWriter, _ *http.Request) {
	alerts := []promAlert{}
	byRule := h.promAlerts()
	for _, r := range h.m.Alarms().Rules() {
		alerts = append(alerts, byRule[r.Name]...)
	}
	h.respond(w, map[string]any{"alerts": alerts}, nil)
}

// promRules serves GET /api/v1/rules as Prometheus does: every alarm rule
// as an alerting rule, in two groups of the file "beamctl": the built-in
// rules and the user's (alarms.rules in the configuration). beamctl's own
// view of the rules, with evaluation counts, is GET /api/v1/alarm-rules.
func (h *handler) promRules(w http.ResponseWriter, r *http.Request) {
	if aerr := h.form(w, r); aerr != nil {
		h.respond(w, nil, aerr)
		return
	}
	if t := r.Form.Get("type"); t == "record" {
		h.respond(w, map[string]any{"groups": []promGroup{}}, nil)
		return
	}
	builtin := alarm.BuiltinNames()
	byRule := h.promAlerts()
	groups := []*promGroup{
		{Name: "builtin", File: "beamctl", Rules: []promRule{}},
		{Name: "user", File: "beamctl", Rules: []promRule{}},
	}
	for _, st := range h.m.Alarms().Rules() {
		alerts := byRule[st.Name]
		if alerts == nil {
			alerts = []promAlert{}
		}
		state := "inactive"
		for _, a := range alerts {
			if a.State == "firing" {
				state = "firing"
				break
			}
			state = "pending"
		}
		query := st.Query
		if query == "" {
			query = st.Type + " rule " + st.Name // not PromQL: over the model or the notifications
		}
		g := groups[1]
		if slices.Contains(builtin, st.Name) {
			g = groups[0]
		}
		labels, ann := map[string]string{}, map[string]string{}
		maps.Copy(labels, st.Labels)
		maps.Copy(ann, st.Annotations)
		g.Rules = append(g.Rules, promRule{Name: st.Name, Query: query, Duration: st.ForSeconds,
			Labels: labels, Annotations: ann, Alerts: alerts,
			Health: st.Health.String(), LastError: st.LastError, EvaluationTime: st.EvaluationSeconds,
			LastEvaluation: st.LastEvaluation, State: state, Type: "alerting"})
		g.EvaluationTime += st.EvaluationSeconds
		if st.LastEvaluation.After(g.LastEvaluation) {
			g.LastEvaluation = st.LastEvaluation
		}
	}
	out := []promGroup{}
	for _, g := range groups {
		if len(g.Rules) > 0 {
			out = append(out, *g)
		}
	}
	h.respond(w, map[string]any{"groups": out}, nil)
}
