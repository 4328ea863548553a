package web

import (
	"fmt"
	"net/http"

	"github.com/beamctl/beamctl/internal/auth"
	"github.com/beamctl/beamctl/internal/ui"
)

// Route is one entry of the API's route table: every route the server
// answers is here, with the role it needs (docs/security.md).
type Route struct {
	Method  string
	Pattern string // as http.ServeMux reads it, without the method
	// Role is the least role the route needs; 0: no authentication
	// (health, readiness, login, and the web UI's shell).
	Role auth.Role
	// Mutates says the route changes state or runs code on a node.
	Mutates bool
	// serve returns the route's handler (nil: not served, e.g. /-/reload
	// without a configuration file).
	serve func(h *handler) http.Handler
}

func fn(f func(h *handler) http.HandlerFunc) func(h *handler) http.Handler {
	return func(h *handler) http.Handler { return f(h) }
}

// routes is the one route table.
var routes = []Route{
	{"GET", "/-/healthy", 0, false, fn(func(*handler) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "beamctl is healthy.") }
	})},
	{"GET", "/-/ready", 0, false, fn(func(*handler) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "beamctl is ready.") }
	})},
	{"POST", "/api/v1/login", 0, false, fn(func(h *handler) http.HandlerFunc { return h.login })},
	// The web UI's shell and assets hold no data (internal/ui): every
	// figure a page shows comes from the API with the caller's role.
	{"GET", "/{$}", 0, false, fn(func(*handler) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, ui.Prefix, http.StatusFound) }
	})},
	{"GET", ui.Prefix + "{page...}", 0, false, func(*handler) http.Handler { return ui.Handler() }},
	{"POST", "/api/v1/logout", auth.Viewer, true, fn(func(h *handler) http.HandlerFunc { return h.logout })},
	{"GET", "/api/v1/session", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.session })},

	{"GET", "/metrics", auth.Viewer, false, func(h *handler) http.Handler { return h.self }},
	{"GET", "/federate", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.federate })},
	{"GET", "/api/v1/query", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.query })},
	{"POST", "/api/v1/query", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.query })},
	{"GET", "/api/v1/query_range", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.queryRange })},
	{"POST", "/api/v1/query_range", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.queryRange })},
	{"GET", "/api/v1/labels", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.labels })},
	{"POST", "/api/v1/labels", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.labels })},
	{"GET", "/api/v1/label/{name}/values", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.labelValues })},
	{"GET", "/api/v1/series", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.series })},
	{"POST", "/api/v1/series", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.series })},
	{"GET", "/api/v1/metadata", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.metadata })},
	{"GET", "/api/v1/nodes", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.nodes })},
	{"GET", "/api/v1/families", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.families })},
	{"GET", "/api/v1/notifications", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.notifications })},
	{"GET", "/api/v1/notifications/stream", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.notificationStream })},
	{"GET", "/api/v1/alarms", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.alarms })},
	// The web UI's alarm pages (issue 13, process-alarms): the changes of
	// alarms as they happen (alarmstream.go).
	{"GET", "/api/v1/alarms/stream", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.alarmStream })},
	{"GET", "/api/v1/alarms/{id}", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.alarm })},
	{"GET", "/api/v1/tools", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.tools })},
	{"GET", "/api/v1/alarm-rules", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.rules })},
	// Prometheus' shapes, for Grafana (prometheus.go).
	{"GET", "/api/v1/status/buildinfo", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.buildinfo })},
	{"GET", "/api/v1/rules", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.promRules })},
	{"GET", "/api/v1/alerts", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.promAlertList })},
	// The web UI's families and query pages (code.go): the code of a
	// family's nodes compared from what the server holds, and the UI's
	// settings (the Grafana link).
	{"GET", "/api/v1/families/{cluster}/{family}/code", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.familyCode })},
	{"GET", "/api/v1/ui/config", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.uiConfigAnswer })},
	{"GET", "/api/v1/crashdumps", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.crashDumps })},
	// The web UI's overview page (overview.go): every node in one answer.
	{"GET", "/api/v1/overview", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.overview })},

	{"POST", "/api/v1/alarms/{id}/{action}", auth.Operator, true, fn(func(h *handler) http.HandlerFunc { return h.alarmAction })},
	// The Web tools are read-only, but they run code on a node.
	{"GET", "/api/v1/nodes/{node}/{tool}", auth.Operator, true, fn(func(h *handler) http.HandlerFunc { return h.inspect })},

	// The tools that change something on the node for a while (msacc's
	// flag, leaks' garbage collections): admins, by POST, audited.
	{"POST", "/api/v1/nodes/{node}/{tool}", auth.Admin, true, fn(func(h *handler) http.HandlerFunc { return h.inspectAdmin })},
	{"POST", "/-/reload", auth.Admin, true, func(h *handler) http.Handler {
		if h.reload == nil {
			return nil
		}
		return http.HandlerFunc(h.reloadAudited)
	}},
	{"GET", "/api/v1/tokens", auth.Admin, false, fn(func(h *handler) http.HandlerFunc { return h.listTokens })},
	{"POST", "/api/v1/tokens", auth.Admin, true, fn(func(h *handler) http.HandlerFunc { return h.createToken })},
	{"DELETE", "/api/v1/tokens/{id}", auth.Admin, true, fn(func(h *handler) http.HandlerFunc { return h.revokeToken })},
	{"GET", "/api/v1/audit", auth.Admin, false, fn(func(h *handler) http.HandlerFunc { return h.auditRecords })},
	// The web UI's Tokens/users page (users.go): names and roles, no hashes.
	{"GET", "/api/v1/users", auth.Admin, false, fn(func(h *handler) http.HandlerFunc { return h.users })},
	// Slow-roll deploys (deploy.go): viewers follow them, admins run them.
	{"GET", "/api/v1/deploys", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.listDeploys })},
	{"GET", "/api/v1/deploys/{id}", auth.Viewer, false, fn(func(h *handler) http.HandlerFunc { return h.getDeploy })},
	{"POST", "/api/v1/deploys", auth.Admin, true, fn(func(h *handler) http.HandlerFunc { return h.planDeploy })},
	{"POST", "/api/v1/deploys/{id}/{action}", auth.Admin, true, fn(func(h *handler) http.HandlerFunc { return h.deployAction })},
	// A crash dump holds the node's cookie: admins only, audited.
	{"GET", "/api/v1/crashdumps/{cluster}/{node}/{file}", auth.Admin, false, fn(func(h *handler) http.HandlerFunc { return h.crashDump })},
}

// Routes returns the route table (without handlers), for documentation
// and tests.
func Routes() []Route {
	out := make([]Route, len(routes))
	for i, r := range routes {
		r.serve = nil
		out[i] = r
	}
	return out
}

// mux builds the router from the table, each route behind its role check.
func (h *handler) mux() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range routes {
		hd := rt.serve(h)
		if hd == nil {
			continue
		}
		if rt.Mutates && !unsafeMethod(rt.Method) {
			hd = h.g.sameSiteOnly(hd)
		}
		if rt.Role > 0 {
			hd = h.g.require(rt.Role, hd)
		}
		mux.Handle(rt.Method+" "+rt.Pattern, hd)
	}
	return mux
}

// router answers what the table does not hold (unknown path, method not
// allowed) in the API's JSON error shape instead of the mux's text.
func (h *handler) router() http.Handler {
	mux := h.mux()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r) // it sets the path values
			return
		}
		cw := &captureWriter{header: http.Header{}}
		hd.ServeHTTP(cw, r) // the mux's 404, 405 or redirect
		switch cw.status {
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", cw.header.Get("Allow"))
			h.respond(w, nil, &apiError{status: cw.status, typ: "bad_data", err: fmt.Errorf("method %s is not allowed", r.Method)})
		case http.StatusNotFound:
			h.respond(w, nil, &apiError{status: cw.status, typ: "not_found", err: fmt.Errorf("no route %s", r.URL.Path)})
		default:
			hd.ServeHTTP(w, r)
		}
	})
}

// captureWriter keeps the status and headers of an answer, not its body.
type captureWriter struct {
	header http.Header
	status int
}

func (c *captureWriter) Header() http.Header { return c.header }
func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
}

func (c *captureWriter) Write(b []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	return len(b), nil
}
