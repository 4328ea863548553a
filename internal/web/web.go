// Package web serves beamctl serve's HTTP API: the Prometheus query API
// subset that Grafana and promtool use (/api/v1/query, /api/v1/query_range,
// /api/v1/series, /api/v1/labels, /api/v1/label/<name>/values,
// /api/v1/metadata) over the embedded store, and beamctl's own model
// (/api/v1/nodes, the inspection tools of /api/v1/tools, notifications,
// alarms). It depends on the server only through the small interfaces
// Querier and Model. Every route, with the role it needs, is in the one
// table of routes.go; security.go authenticates (internal/auth) and
// guards the whole API (Host allowlist, cross-origin, headers).
package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/beamctl/beamctl/internal/alarm"
	"github.com/beamctl/beamctl/internal/exposition"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/store"
)

// Node is one managed node as the API shows it.
type Node struct {
	Cluster     string    `json:"cluster"`
	Node        string    `json:"node"`
	State       string    `json:"state"`
	Since       time.Time `json:"since"`
	LastError   string    `json:"last_error,omitempty"`
	LastCollect time.Time `json:"last_collect"`
	// Series is how many series the last full round stored.
	Series int `json:"series"`
	// Family groups nodes that should run the same code: the configured
	// family, else the release name and version.
	Family        string  `json:"family,omitempty"`
	OTPRelease    string  `json:"otp_release,omitempty"`
	UptimeSeconds float64 `json:"uptime_seconds,omitempty"`
}

// Model is what the API needs of the server besides the store
// (internal/app implements it).
type Model interface {
	Nodes() []Node
	Metadata() map[string]Metadata
	// Conn returns the live connection to a managed node; the server owns
	// it (the API never closes it).
	Conn(ctx context.Context, node string) (inspect.Conn, error)
	// Notifications holds the notifications.
	Notifications() Notifications
	// Alarms is the alarm engine.
	Alarms() Alarms
	// CrashDumpDir is the directory of the fetched crash dumps,
	// <cluster>/<node>/<file> (crashdumps.go; "": none).
	CrashDumpDir() string
	// NodeCode is what the server last read of a node's code (code.go):
	// no call to the node.
	NodeCode(ctx context.Context, cluster, node string) (NodeCode, error)
}

// Notifications is the part of the notification journal the API uses.
type Notifications interface {
	// Query returns the stored notifications matching f, newest first.
	Query(ctx context.Context, f journal.Filter) ([]journal.Notification, error)
	// Subscribe delivers new notifications matching f until cancel is
	// called.
	Subscribe(f journal.Filter, buf int) (live <-chan journal.Notification, cancel func())
}

// Alarms is the part of the alarm engine the API uses.
type Alarms interface {
	List(ctx context.Context, f alarm.Filter) ([]alarm.Alarm, error)
	Get(ctx context.Context, id int64) (*alarm.Alarm, error)
	Ack(ctx context.Context, id int64, who string) (*alarm.Alarm, error)
	Unack(ctx context.Context, id int64, who string) (*alarm.Alarm, error)
	Comment(ctx context.Context, id int64, who, text string) (*alarm.Alarm, error)
	Clear(ctx context.Context, id int64, who string) (*alarm.Alarm, error)
	// Rules lists the installed rules with the health of their evaluations.
	Rules() []alarm.RuleStatus
	// Active returns the raised alarms.
	Active() []alarm.Alarm
	// Pending returns the conditions waiting for their rule's for:.
	Pending() []alarm.PendingKey
	// OnChange calls f after every alarm change, from the goroutine that
	// made it (f must not block), until cancel is called.
	OnChange(f func(alarm.Change)) (cancel func())
}

// Querier is the part of the store the API uses.
type Querier interface {
	Query(ctx context.Context, q string, ts time.Time) (*store.Result, error)
	QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) (*store.Result, error)
	LabelNames(ctx context.Context, start, end time.Time) ([]string, error)
	LabelValues(ctx context.Context, name string, start, end time.Time) ([]string, error)
	Series(ctx context.Context, selectors []string, start, end time.Time) ([]map[string]string, error)
}

// Metadata describes a metric family, for /api/v1/metadata.
type Metadata struct {
	Type string `json:"type"`
	Help string `json:"help"`
	Unit string `json:"unit"`
}

// maxBody bounds request bodies (form-encoded queries).
const maxBody = 1 << 20

// New returns the API handler, built from the route table (routes.go).
// self serves beamctl's own metrics on /metrics and reload serves POST
// /-/reload (nil: not served). Without options the API is in loopback
// mode (see Security) with DefaultLimits (WithLimits).
func New(q Querier, m Model, self, reload http.Handler, logger *slog.Logger, opts ...Option) http.Handler {
	h := newHandler(q, m, logger, opts)
	h.self, h.reload = self, reload
	h.g = newGuard(h.sec, h.log)
	return h.g.secure(h.router())
}

type handler struct {
	q            Querier
	m            Model
	self, reload http.Handler
	log          *slog.Logger
	sec          Security // set by WithSecurity
	g            *guard
	lim          *limiter
	// streamsDone, when closed, ends the notification streams.
	streamsDone <-chan struct{}
	// version is beamctl's, for the build information (WithBuildInfo).
	version string
	// uiConfig gives the web UI's settings (WithUIConfig; nil: none).
	uiConfig func() UIConfig
	// deploys runs the slow-roll deploys (WithDeploys; nil: none).
	deploys Deploys
}

// apiError is a Prometheus API error: bad_data (400) or execution (422).
type apiError struct {
	status int
	typ    string
	err    error
}

func badData(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "bad_data", err: fmt.Errorf(format, args...)}
}

func (h *handler) respond(w http.ResponseWriter, data any, aerr *apiError) {
	w.Header().Set("Content-Type", "application/json")
	body := map[string]any{"status": "success", "data": data}
	if aerr != nil {
		w.WriteHeader(aerr.status)
		body = map[string]any{"status": "error", "errorType": aerr.typ, "error": aerr.err.Error()}
	}
	if err := json.NewEncoder(w).Encode(body); err != nil {
		h.log.Debug("Cannot write response", "err", err)
	}
}

func (h *handler) form(w http.ResponseWriter, r *http.Request) *apiError {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return &apiError{status: http.StatusMethodNotAllowed, typ: "bad_data", err: fmt.Errorf("method %s is not allowed", r.Method)}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		return h.formError(err)
	}
	return nil
}

// The times the store can hold (int64 milliseconds), as Prometheus'
// minTime and maxTime.
var (
	minTime = time.Unix(math.MinInt64/1000+62135596801, 0).UTC()
	maxTime = time.Unix(math.MaxInt64/1000-62135596801, 999999999).UTC()
)

// parseTime reads a Prometheus API time: a Unix timestamp in (fractional)
// seconds or RFC 3339, within the range the store can hold.
func parseTime(s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
		}
		if f < float64(minTime.Unix()) || f > float64(maxTime.Unix()) {
			return time.Time{}, fmt.Errorf("timestamp %q is out of range (from %d to %d seconds)", s, minTime.Unix(), maxTime.Unix())
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
	}
	return t, nil
}

// parseStep reads a step as seconds (float) or a duration ("15s"): at
// least a millisecond (the store's resolution; 1e-300 would be zero) and
// no more than a time.Duration holds.
func parseStep(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if f, ferr := strconv.ParseFloat(s, 64); ferr == nil {
		if math.IsNaN(f) || f*float64(time.Second) >= math.MaxInt64 || f*float64(time.Second) <= math.MinInt64 {
			return 0, fmt.Errorf("cannot parse %q to a valid duration: it is out of range", s)
		}
		d, err = time.Duration(f*float64(time.Second)), nil
	}
	if err != nil {
		return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
	}
	if d < time.Millisecond {
		return 0, fmt.Errorf("step %q is not a positive duration of at least 1ms", s)
	}
	return d, nil
}

// maxPoints is the most points per series a range query may return, as
// Prometheus.
const maxPoints = 11000

func (h *handler) query(w http.ResponseWriter, r *http.Request) {
	if aerr := h.form(w, r); aerr != nil {
		h.respond(w, nil, aerr)
		return
	}
	q := r.Form.Get("query")
	if q == "" {
		h.respond(w, nil, badData("parameter query is required"))
		return
	}
	ts, err := parseTime(r.Form.Get("time"), time.Now())
	if err != nil {
		h.respond(w, nil, badData("invalid parameter time: %v", err))
		return
	}
	release, ok := h.startQuery(w, r)
	if !ok {
		return
	}
	defer release()
	res, err := h.q.Query(r.Context(), q, ts)
	if err != nil {
		h.respond(w, nil, queryError(err))
		return
	}
	h.respond(w, resultJSON(res), nil)
}

func (h *handler) queryRange(w http.ResponseWriter, r *http.Request) {
	if aerr := h.form(w, r); aerr != nil {
		h.respond(w, nil, aerr)
		return
	}
	q := r.Form.Get("query")
	if q == "" {
		h.respond(w, nil, badData("parameter query is required"))
		return
	}
	start, err := parseTime(r.Form.Get("start"), time.Time{})
	if err != nil || start.IsZero() {
		h.respond(w, nil, badData("invalid parameter start: a time is required"))
		return
	}
	end, err := parseTime(r.Form.Get("end"), time.Time{})
	if err != nil || end.IsZero() {
		h.respond(w, nil, badData("invalid parameter end: a time is required"))
		return
	}
	step, err := parseStep(r.Form.Get("step"))
	if err != nil {
		h.respond(w, nil, badData("invalid parameter step: %v", err))
		return
	}
	if end.Before(start) {
		h.respond(w, nil, badData("query end is before its start"))
		return
	}
	if n := end.Sub(start) / step; n > maxPoints {
		h.respond(w, nil, badData("query range of %d steps exceeds 11,000 points per series (raise the step)", n))
		return
	}
	release, ok := h.startQuery(w, r)
	if !ok {
		return
	}
	defer release()
	res, err := h.q.QueryRange(r.Context(), q, start, end, step)
	if err != nil {
		h.respond(w, nil, queryError(err))
		return
	}
	h.respond(w, resultJSON(res), nil)
}

func queryError(err error) *apiError {
	if strings.Contains(err.Error(), "parse error") || strings.Contains(err.Error(), "query end") ||
		strings.Contains(err.Error(), "step") || strings.Contains(err.Error(), "exceeds 11,000") {
		return &apiError{status: http.StatusBadRequest, typ: "bad_data", err: err}
	}
	return &apiError{status: http.StatusUnprocessableEntity, typ: "execution", err: err}
}

func (h *handler) window(r *http.Request) (time.Time, time.Time, *apiError) {
	start, err := parseTime(r.Form.Get("start"), time.Unix(0, 0))
	if err != nil {
		return start, start, badData("invalid parameter start: %v", err)
	}
	end, err := parseTime(r.Form.Get("end"), time.Now().Add(time.Hour))
	if err != nil {
		return start, end, badData("invalid parameter end: %v", err)
	}
	return start, end, nil
}

// formWindow reads the request's form and its start/end window, answering
// the error itself when either is bad.
func (h *handler) formWindow(w http.ResponseWriter, r *http.Request) (time.Time, time.Time, bool) {
	if aerr := h.form(w, r); aerr != nil {
		h.respond(w, nil, aerr)
		return time.Time{}, time.Time{}, false
	}
	start, end, aerr := h.window(r)
	if aerr != nil {
		h.respond(w, nil, aerr)
		return time.Time{}, time.Time{}, false
	}
	return start, end, true
}

func (h *handler) labels(w http.ResponseWriter, r *http.Request) {
	h.labelList(w, r, "label names", func(ctx context.Context, start, end time.Time) ([]string, error) {
		return h.q.LabelNames(ctx, start, end)
	})
}

func (h *handler) labelValues(w http.ResponseWriter, r *http.Request) {
	h.labelList(w, r, "label values", func(ctx context.Context, start, end time.Time) ([]string, error) {
		name := r.PathValue("name")
		sels := r.Form["match[]"]
		if len(sels) == 0 {
			return h.q.LabelValues(ctx, name, start, end)
		}
		// Only the values of matching series, as Prometheus: Grafana's
		// label_values(selector, label) variables ask so.
		series, err := h.q.Series(ctx, sels, start, end)
		if err != nil {
			return nil, badInput{err}
		}
		seen := map[string]bool{}
		out := []string{}
		for _, s := range series {
			if v, ok := s[name]; ok && v != "" && !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
		sort.Strings(out)
		return out, nil
	})
}

// badInput is an error of the request (a bad selector), answered 400.
type badInput struct{ error }

// labelList answers labels or label values: start, end and limit read,
// within a query slot and --query.max-series.
func (h *handler) labelList(w http.ResponseWriter, r *http.Request, what string,
	list func(ctx context.Context, start, end time.Time) ([]string, error)) {
	start, end, ok := h.formWindow(w, r)
	if !ok {
		return
	}
	limit, aerr := parseLimit(r)
	if aerr != nil {
		h.respond(w, nil, aerr)
		return
	}
	release, ok := h.startQuery(w, r)
	if !ok {
		return
	}
	defer release()
	names, err := list(r.Context(), start, end)
	var bad badInput
	if errors.As(err, &bad) {
		h.respond(w, nil, badData("%v", bad.error))
		return
	}
	if err != nil {
		h.respond(w, nil, &apiError{status: http.StatusInternalServerError, typ: "internal", err: err})
		return
	}
	keep, warnings, ok := h.capResult(w, what, len(names), limit)
	if !ok {
		return
	}
	h.respondWarned(w, nonNil(names[:keep]), warnings)
}

func (h *handler) series(w http.ResponseWriter, r *http.Request) {
	if aerr := h.form(w, r); aerr != nil {
		h.respond(w, nil, aerr)
		return
	}
	sels := r.Form["match[]"]
	if len(sels) == 0 {
		h.respond(w, nil, badData("no match[] parameter provided"))
		return
	}
	start, end, ok := h.formWindow(w, r)
	if !ok {
		return
	}
	limit, aerr := parseLimit(r)
	if aerr != nil {
		h.respond(w, nil, aerr)
		return
	}
	release, ok := h.startQuery(w, r)
	if !ok {
		return
	}
	defer release()
	series, err := h.q.Series(r.Context(), sels, start, end)
	if err != nil {
		h.respond(w, nil, badData("%v", err))
		return
	}
	keep, warnings, ok := h.capResult(w, "series", len(series), limit)
	if !ok {
		return
	}
	if series == nil {
		series = []map[string]string{}
	}
	h.respondWarned(w, series[:keep], warnings)
}

// metadata answers {"metric": [{"type", "help", "unit"}]}, optionally for
// one metric (metric=) and at most limit metrics.
func (h *handler) metadata(w http.ResponseWriter, r *http.Request) {
	if aerr := h.form(w, r); aerr != nil {
		h.respond(w, nil, aerr)
		return
	}
	limit := -1
	if l := r.Form.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			h.respond(w, nil, badData("limit must be a number"))
			return
		}
		limit = n
	}
	out := map[string][]Metadata{}
	for name, md := range h.m.Metadata() {
		if m := r.Form.Get("metric"); m != "" && m != name {
			continue
		}
		if limit >= 0 && len(out) >= limit {
			break
		}
		out[name] = []Metadata{md}
	}
	h.respond(w, out, nil)
}

// federate writes the latest sample of every series matching the match[]
// selectors in the Prometheus text format, so that an existing Prometheus
// can scrape beamctl (as Prometheus's own /federate).
func (h *handler) federate(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "cannot read the request", http.StatusBadRequest)
		return
	}
	sels := r.Form["match[]"]
	if len(sels) == 0 {
		http.Error(w, "no match[] parameter provided", http.StatusBadRequest)
		return
	}
	release, ok := h.startQuery(w, r)
	if !ok {
		return
	}
	defer release()
	now := time.Now()
	type line struct {
		labels []exposition.Label
		value  float64
		ts     time.Time
	}
	byName := map[string][]line{}
	for _, sel := range sels {
		res, err := h.q.Query(r.Context(), sel, now)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if res.Type != "vector" {
			http.Error(w, "match[] must select series", http.StatusBadRequest)
			return
		}
		for _, s := range res.Series {
			name := s.Labels["__name__"]
			var keys []string
			for k := range s.Labels {
				if k != "__name__" {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			ls := make([]exposition.Label, len(keys))
			for i, k := range keys {
				ls[i] = exposition.Label{Name: k, Value: s.Labels[k]}
			}
			p := s.Points[0]
			byName[name] = append(byName[name], line{labels: ls, value: p.Value, ts: p.Time})
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	md := h.m.Metadata()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	ew := exposition.NewWriter(w)
	for _, n := range names {
		typ, help := "untyped", "Federated by beamctl."
		if m, ok := md[n]; ok {
			typ, help = m.Type, m.Help
		}
		ew.Family(n, help, typ)
		for _, l := range byName[n] {
			ew.Sample(n, l.labels, l.value, l.ts)
		}
	}
	_ = ew.Flush() // The client went away.
}

// inspectTimeout bounds one inspection request, plus the time the tool
// measures (top's window).
const inspectTimeout = 30 * time.Second

// tools serves GET /api/v1/tools: the registry of inspection tools, with
// their parameters (types, defaults, bounds), whether they load
// beamctl_agent, what they may change on a node, and whether this API runs
// them (web).
func (h *handler) tools(w http.ResponseWriter, _ *http.Request) {
	h.respond(w, inspect.Tools(), nil)
}

// webTools names the tools the API runs: by GET, or for admins by POST.
func webTools(admin bool) string {
	var names []string
	for _, t := range inspect.Tools() {
		if (!admin && t.Web) || (admin && t.WebAdmin) {
			names = append(names, t.Name)
		}
	}
	return strings.Join(names, ", ")
}

// inspect runs one of the registry's inspection tools that the API serves
// (read-only ones that show nothing secret) on a managed node through the
// server's connection. The query parameters are the tool's, checked against
// the registry's bounds; the data is the CLI's -o json.
func (h *handler) inspect(w http.ResponseWriter, r *http.Request) {
	h.runTool(w, r, func(t *inspect.Tool) bool { return t.Web }, 0)
}

// maxAdminToolTime bounds what a WebAdmin tool may spend on a node in one
// request (msacc's window, leaks' pauses).
const maxAdminToolTime = time.Minute

// inspectAdmin runs, for an admin, a tool that changes something on the
// node for a bounded time (POST; audited like every run).
func (h *handler) inspectAdmin(w http.ResponseWriter, r *http.Request) {
	h.runTool(w, r, func(t *inspect.Tool) bool { return t.WebAdmin }, maxAdminToolTime)
}

// runTool runs the tool named in the path if served (it is, by the route's
// method) and, when maxTime > 0, if its run's own time stays within it.
func (h *handler) runTool(w http.ResponseWriter, r *http.Request, served func(*inspect.Tool) bool, maxTime time.Duration) {
	if aerr := h.form(w, r); aerr != nil {
		h.respond(w, nil, aerr)
		return
	}
	name := r.PathValue("tool")
	t, ok := inspect.Lookup(name)
	if !ok || !served(t) {
		h.respond(w, nil, &apiError{status: http.StatusNotFound, typ: "not_found",
			err: fmt.Errorf("no tool %q on the API by %s; GET runs %s; POST (admin) runs %s", name, r.Method, webTools(false), webTools(true))})
		return
	}
	raw := make(map[string]string, len(r.Form))
	for k, vs := range r.Form {
		if len(vs) != 1 {
			h.respond(w, nil, badData("%s is given %d times", k, len(vs)))
			return
		}
		raw[k] = vs[0]
	}
	args, err := t.Parse(raw)
	if err != nil {
		h.respond(w, nil, badData("%v", err))
		return
	}
	if maxTime > 0 && t.Time != nil && t.Time(args) > maxTime {
		h.respond(w, nil, badData("%s would run for %s on the node; the API allows %s (use the CLI for longer)", name, t.Time(args), maxTime))
		return
	}
	release, ok := h.startInspection(w, r.PathValue("node"))
	if !ok {
		return
	}
	defer release()
	timeout := inspectTimeout
	if t.Time != nil {
		timeout += t.Time(args)
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	conn, err := h.m.Conn(ctx, r.PathValue("node"))
	if err != nil {
		h.respond(w, nil, &apiError{status: http.StatusNotFound, typ: "not_found", err: err})
		return
	}
	end, ok := h.audit(w, r, "inspect."+name, r.PathValue("node"), raw)
	if !ok {
		return
	}
	data, err := t.Run(ctx, conn, args)
	end(err)
	if err != nil {
		h.respond(w, nil, &apiError{status: http.StatusUnprocessableEntity, typ: "execution", err: err})
		return
	}
	h.respond(w, data, nil)
}

func (h *handler) nodes(w http.ResponseWriter, _ *http.Request) {
	nodes := h.m.Nodes()
	if nodes == nil {
		nodes = []Node{}
	}
	h.respond(w, nodes, nil)
}

// Family is a group of nodes of one cluster that should run the same code.
type Family struct {
	Cluster string   `json:"cluster"`
	Family  string   `json:"family"`
	Nodes   []string `json:"nodes"`
	// OTPReleases lists the OTP releases the family's nodes run; more
	// than one is worth a look.
	OTPReleases []string `json:"otp_releases"`
}

// families groups the nodes by cluster and family; nodes whose family is
// not known yet (never collected) are left out.
func families(nodes []Node) []Family {
	idx := map[[2]string]int{}
	var out []Family
	for _, n := range nodes {
		if n.Family == "" {
			continue
		}
		k := [2]string{n.Cluster, n.Family}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, Family{Cluster: n.Cluster, Family: n.Family, OTPReleases: []string{}})
		}
		f := &out[i]
		f.Nodes = append(f.Nodes, n.Node)
		if n.OTPRelease != "" && !slices.Contains(f.OTPReleases, n.OTPRelease) {
			f.OTPReleases = append(f.OTPReleases, n.OTPRelease)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Cluster != out[j].Cluster {
			return out[i].Cluster < out[j].Cluster
		}
		return out[i].Family < out[j].Family
	})
	for i := range out {
		sort.Strings(out[i].Nodes)
		sort.Strings(out[i].OTPReleases)
	}
	if out == nil {
		out = []Family{}
	}
	return out
}

func (h *handler) families(w http.ResponseWriter, _ *http.Request) {
	h.respond(w, families(h.m.Nodes()), nil)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// resultJSON renders a result the way the Prometheus API does: values as
// [unix_seconds, "value"].
func resultJSON(res *store.Result) map[string]any {
	point := func(p store.Point) []any {
		return []any{float64(p.Time.UnixMilli()) / 1000, strconv.FormatFloat(p.Value, 'f', -1, 64)}
	}
	switch res.Type {
	case "scalar", "string":
		var v []any
		if len(res.Series) > 0 && len(res.Series[0].Points) > 0 {
			v = point(res.Series[0].Points[0])
			if res.Type == "string" {
				v[1] = res.Series[0].Labels["value"]
			}
		}
		return map[string]any{"resultType": res.Type, "result": v}
	case "matrix":
		out := make([]map[string]any, 0, len(res.Series))
		for _, s := range res.Series {
			vals := make([][]any, len(s.Points))
			for i, p := range s.Points {
				vals[i] = point(p)
			}
			out = append(out, map[string]any{"metric": s.Labels, "values": vals})
		}
		return map[string]any{"resultType": "matrix", "result": out}
	}
	out := make([]map[string]any, 0, len(res.Series))
	for _, s := range res.Series {
		out = append(out, map[string]any{"metric": s.Labels, "value": point(s.Points[0])})
	}
	return map[string]any{"resultType": "vector", "result": out}
}
