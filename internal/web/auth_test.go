package web

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/beamctl/beamctl/internal/alarm"
	"github.com/beamctl/beamctl/internal/auth"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/store"
	"github.com/beamctl/beamctl/internal/testnode"
)

// memAuditor is an in-memory audit trail: what the handlers recorded.
type memAuditor struct {
	mu   sync.Mutex
	recs []auditRecord
	fail error // Begin fails with it
}

type auditRecord struct {
	AuditAction
	Done bool
	Err  string
}

func (m *memAuditor) Begin(_ context.Context, a AuditAction) (func(error), error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	m.recs = append(m.recs, auditRecord{AuditAction: a})
	i := len(m.recs) - 1
	return func(err error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.recs[i].Done = true
		if err != nil {
			m.recs[i].Err = err.Error()
		}
	}, nil
}

func (m *memAuditor) Records(context.Context, AuditFilter) (any, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]auditRecord{}, m.recs...), nil
}

func (m *memAuditor) records() []auditRecord {
	r, _ := m.Records(context.Background(), AuditFilter{})
	return r.([]auditRecord)
}

// The test users (real bcrypt hashes) and their roles: victor is not in
// web.roles, so a viewer.
var testUsers = map[string]struct {
	password string
	role     auth.Role
}{
	"alice":  {"alice-secret", auth.Admin},
	"oscar":  {"oscar-secret", auth.Operator},
	"victor": {"victor-secret", auth.Viewer},
}

// userOf returns the test user of a role.
func userOf(r auth.Role) string {
	for u, c := range testUsers {
		if c.role == r {
			return u
		}
	}
	panic("no user of role " + r.String())
}

// secureServer is the API served over real TLS with a web configuration
// of three users, API tokens and an in-memory audit trail.
type secureServer struct {
	*httptest.Server
	client  *http.Client
	m       model
	db      *store.DB
	audit   *memAuditor
	reg     *prometheus.Registry
	tokens  *auth.Tokens
	h       http.Handler // the API, to call with a chosen remote address
	roles   atomic.Value // map[string]auth.Role overriding the test roles (a reload)
	reloads int
}

// writeWebConfig writes an exporter-toolkit web configuration with TLS
// (tlsFiles) and the test users.
func writeWebConfig(t *testing.T, f testnode.TLSFiles) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n", f.NodeCert, f.NodeKey)
	for u, c := range testUsers {
		h, err := bcrypt.GenerateFromPassword([]byte(c.password), bcrypt.MinCost)
		require.NoError(t, err)
		fmt.Fprintf(&b, "  %s: %s\n", u, h)
	}
	path := filepath.Join(t.TempDir(), "web.yml")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
	return path
}

func newSecureServer(t *testing.T, tune func(*Security)) *secureServer {
	t.Helper()
	s := &secureServer{audit: &memAuditor{}, reg: prometheus.NewRegistry()}
	var err error
	s.db, err = store.Open(t.TempDir(), nil, nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() { s.db.Close() })
	ns, err := journal.Open(t.TempDir(), journal.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { ns.Close() })
	ae, err := alarm.Open(context.Background(), alarm.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { ae.Close() })
	s.m = model{rec: journal.NewRecorder(ns, nil, journal.RecorderOptions{}), alarms: ae, dumps: t.TempDir()}

	tf := testnode.MakeTLS(t)
	webConfig := writeWebConfig(t, tf)
	users, err := auth.NewUsers(webConfig, func() map[string]auth.Role {
		if r, ok := s.roles.Load().(map[string]auth.Role); ok && r != nil {
			return r
		}
		out := map[string]auth.Role{}
		for u, c := range testUsers {
			if c.role != auth.Viewer {
				out[u] = c.role
			}
		}
		return out
	})
	require.NoError(t, err)
	tlsCfg, err := auth.ServerTLS(webConfig, false)
	require.NoError(t, err)
	require.NotNil(t, tlsCfg)
	s.tokens, err = auth.OpenTokens(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { s.tokens.Close() })
	sec := Security{Users: users, Tokens: s.tokens, TLS: true, Auditor: s.audit, Registerer: s.reg}
	if tune != nil {
		tune(&sec)
	}
	self := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "# beamctl's own metrics") })
	reload := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.reloads++
		fmt.Fprintln(w, "Configuration reloaded.")
	})
	s.h = New(s.db, s.m, self, reload, nil, WithSecurity(sec))
	s.Server = httptest.NewUnstartedServer(s.h)
	s.TLS = tlsCfg
	s.StartTLS()
	t.Cleanup(s.Close)
	ca, err := os.ReadFile(tf.CACert)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(ca))
	s.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return s
}

// req is one request to the secure server.
type req struct {
	method, path string
	form         url.Values
	user         string // basic credentials of a test user
	password     string // instead of the user's own
	bearer       string
	cookie       *http.Cookie
	header       map[string]string
	host         string
}

// do sends r and returns the status, the headers and the decoded body
// (nil when it is not JSON).
func (s *secureServer) do(t *testing.T, r req) (int, http.Header, map[string]any) {
	t.Helper()
	var body io.Reader
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
	}
	hr, err := http.NewRequest(r.method, s.URL+r.path, body)
	require.NoError(t, err)
	if r.form != nil {
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if r.user != "" {
		pw := r.password
		if pw == "" {
			pw = testUsers[r.user].password
		}
		hr.SetBasicAuth(r.user, pw)
	}
	if r.bearer != "" {
		hr.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	if r.cookie != nil {
		hr.AddCookie(r.cookie)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	if r.host != "" {
		hr.Host = r.host
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := s.client.Do(hr.WithContext(ctx))
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "application/json" {
		return resp.StatusCode, resp.Header, nil
	}
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, resp.Header, out
}

// concrete fills a route pattern's wildcards with values its handler
// accepts in form (an unknown node or alarm is the handler's 404, not an
// authentication error).
func concrete(pattern string) string {
	return strings.NewReplacer("{name}", "node", "{id}", "1", "{action}", "ack", "{node}", "nosuch@h", "{tool}", "memory",
		"{cluster}", "nosuch", "{file}", "nosuch.dump.gz", "{$}", "", "{page...}", "nodes/x").Replace(pattern)
}

// TestRouteRoles walks the route table, which is the only source of the
// mux's routes, and checks for every route: no credentials → 401, a wrong
// password → 401, too low a role → 403, the right role → neither (the
// handler's own answer). It counts the routes and the unauthenticated
// mutating ones (docs/security.md).
func TestRouteRoles(t *testing.T) {
	// Every route tries a wrong password: no login limit here.
	s := newSecureServer(t, func(sec *Security) { sec.LoginFailures = 1000 })
	var unauth, unauthMutating, mutating []string
	for _, rt := range Routes() {
		name := rt.Method + " " + rt.Pattern
		if rt.Mutates {
			mutating = append(mutating, name)
		}
		if rt.Role == 0 {
			unauth = append(unauth, name)
			if rt.Mutates {
				unauthMutating = append(unauthMutating, name)
			}
		}
		t.Run(name, func(t *testing.T) {
			path := concrete(rt.Pattern)
			var form url.Values
			if rt.Method == "POST" || rt.Method == "DELETE" {
				form = url.Values{}
			}
			if rt.Pattern == "/api/v1/login" {
				form = url.Values{"user": {"victor"}, "password": {testUsers["victor"].password}}
			}
			if rt.Role == 0 {
				status, _, body := s.do(t, req{method: rt.Method, path: path, form: form})
				require.Less(t, status, 400, "%v", body) // / redirects to the UI
				return
			}
			status, hd, body := s.do(t, req{method: rt.Method, path: path, form: form})
			require.Equal(t, http.StatusUnauthorized, status, "no credentials: %v", body)
			require.Equal(t, "unauthorized", body["errorType"])
			require.Contains(t, hd.Get("WWW-Authenticate"), "Basic")

			status, _, body = s.do(t, req{method: rt.Method, path: path, form: form, user: userOf(rt.Role), password: "wrong"})
			require.Equal(t, http.StatusUnauthorized, status, "wrong password: %v", body)

			if rt.Role > auth.Viewer {
				low := userOf(rt.Role - 1)
				status, _, body = s.do(t, req{method: rt.Method, path: path, form: form, user: low})
				require.Equal(t, http.StatusForbidden, status, "%s: %v", low, body)
				require.Equal(t, fmt.Sprintf("this needs the %s role; %s has the %s role", rt.Role, low, rt.Role-1), body["error"])
			}

			status, _, body = s.do(t, req{method: rt.Method, path: path, form: form, user: userOf(rt.Role)})
			require.NotContains(t, []int{401, 403, 405, 421, 429}, status, "right role: %v", body)
			if body != nil && body["status"] == "error" {
				// A handler's refusal of the parameters, not of the
				// caller, nor the router's of an unserved route.
				require.NotContains(t, []string{"unauthorized", "forbidden"}, body["errorType"], "%v", body)
				require.NotContains(t, body["error"], "no route", "%v", body)
			}
		})
	}
	t.Logf("routes: %d; unauthenticated: %d (%s); mutating: %d; unauthenticated mutating: %d",
		len(Routes()), len(unauth), strings.Join(unauth, ", "), len(mutating), len(unauthMutating))
	require.ElementsMatch(t, []string{"GET /-/healthy", "GET /-/ready", "POST /api/v1/login", "GET /{$}", "GET /ui/{page...}"}, unauth)
	require.Empty(t, unauthMutating)
	require.Equal(t, 1, s.reloads, "the admin's reload ran once, no one else's")

	// Every route of the table is served: a path outside it is the
	// router's 404, inside it never.
	status, _, body := s.do(t, req{method: "GET", path: "/api/v1/nosuch", user: "alice"})
	require.Equal(t, http.StatusNotFound, status, "%v", body)
	require.Equal(t, "no route /api/v1/nosuch", body["error"])
}

// raiseAlarm makes one active alarm and returns its id.
func (s *secureServer) raiseAlarm(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	require.NoError(t, s.db.Append(ctx, []store.Sample{{Labels: []store.Label{{Name: "__name__", Value: "beam_x"}, {Name: "node", Value: "a@h"}}, Time: now, Value: 5}}))
	s.m.alarms.SetRules([]alarm.Rule{&alarm.QueryRule{RuleName: "x_high", Expr: "beam_x > 3", Severity: alarm.Major, Text: "x", Q: s.db}})
	s.m.alarms.Evaluate(ctx, now)
	as, err := s.m.alarms.List(ctx, alarm.Filter{ActiveOnly: true})
	require.NoError(t, err)
	require.Len(t, as, 1)
	return strconv.FormatInt(as[0].ID, 10)
}

// TestIdentityInRecords: an alarm action is recorded with the
// authenticated identity, whatever who and X-Beamctl-User claim, in the
// alarm's history and in the audit trail, which is written before the
// action; when the audit trail fails the action is refused.
func TestIdentityInRecords(t *testing.T) {
	s := newSecureServer(t, nil)
	id := s.raiseAlarm(t)
	status, _, body := s.do(t, req{method: "POST", path: "/api/v1/alarms/" + id + "/ack", user: "oscar",
		form: url.Values{"who": {"mallory"}}, header: map[string]string{"X-Beamctl-User": "mallory"}})
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.Equal(t, "oscar", body["data"].(map[string]any)["acked_by"])
	recs := s.audit.records()
	require.Len(t, recs, 1)
	require.Equal(t, AuditAction{Who: "oscar", Role: "operator", From: "127.0.0.1", Action: "alarm.ack", Args: map[string]string{"id": id}}, recs[0].AuditAction)
	require.True(t, recs[0].Done)
	require.Empty(t, recs[0].Err)

	// A token's identity is token:<name>.
	secret, _, err := s.tokens.Create(context.Background(), "pager-bot", auth.Operator, "alice", 0)
	require.NoError(t, err)
	status, _, body = s.do(t, req{method: "POST", path: "/api/v1/alarms/" + id + "/comment", bearer: secret, form: url.Values{"text": {"on it"}}})
	require.Equal(t, http.StatusOK, status, "%v", body)
	recs = s.audit.records()
	require.Equal(t, "token:pager-bot", recs[1].Who)
	require.Equal(t, map[string]string{"id": id, "text": "on it"}, recs[1].Args)

	// The audit trail cannot write: the action is refused and not done.
	s.audit.mu.Lock()
	s.audit.fail = fmt.Errorf("disk full")
	s.audit.mu.Unlock()
	status, _, body = s.do(t, req{method: "POST", path: "/api/v1/alarms/" + id + "/clear", user: "alice"})
	require.Equal(t, http.StatusServiceUnavailable, status, "%v", body)
	require.Equal(t, "the audit trail cannot record alarm.clear, so it was not done: disk full", body["error"])
	a, err := s.m.alarms.Get(context.Background(), mustInt(t, id))
	require.NoError(t, err)
	require.True(t, a.Active, "the alarm was cleared without an audit record")
	status, _, _ = s.do(t, req{method: "POST", path: "/-/reload", user: "alice"})
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Zero(t, s.reloads)
}

func mustInt(t *testing.T, s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err)
	return n
}

// TestTokens: an admin creates a token (its secret shown once), lists
// tokens (no secret or hash), uses one, revokes it; each change audited.
func TestTokens(t *testing.T) {
	s := newSecureServer(t, nil)
	status, _, body := s.do(t, req{method: "POST", path: "/api/v1/tokens", user: "alice",
		form: url.Values{"name": {"ci"}, "role": {"operator"}, "expires": {"30d"}}})
	require.Equal(t, http.StatusOK, status, "%v", body)
	created := body["data"].(map[string]any)
	secret := created["token"].(string)
	require.Regexp(t, `^bmctl_[A-Za-z0-9_-]{43}$`, secret)
	require.Equal(t, "alice", created["creator"])
	exp, err := time.Parse(time.RFC3339, created["expires"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(30*24*time.Hour), exp, time.Minute)

	status, _, body = s.do(t, req{method: "GET", path: "/api/v1/session", bearer: secret})
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.Equal(t, map[string]any{"user": "token:ci", "role": "operator", "method": "token"}, body["data"])

	_, _, body = s.do(t, req{method: "GET", path: "/api/v1/tokens", user: "alice"})
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	require.NotContains(t, string(raw), secret)
	require.NotContains(t, string(raw), strings.TrimPrefix(secret, auth.TokenPrefix))
	require.NotRegexp(t, regexp.MustCompile(`[0-9a-f]{64}`), string(raw), "a hash is listed")
	list := body["data"].([]any)
	require.Len(t, list, 1)
	require.NotEmpty(t, list[0].(map[string]any)["last_used"])

	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"name": {"x"}, "role": {"root"}}, `role: "root" is not a role: viewer, operator or admin`},
		{url.Values{"name": {"x"}, "role": {"viewer"}, "expires": {"soon"}}, `expires must be a duration such as 30d or 12h, or empty for never, not "soon"`},
		{url.Values{"role": {"viewer"}}, "name is required"},
	} {
		status, _, body = s.do(t, req{method: "POST", path: "/api/v1/tokens", user: "alice", form: tc.form})
		require.Equal(t, http.StatusBadRequest, status)
		require.Equal(t, tc.want, body["error"])
	}

	id := strconv.Itoa(int(created["id"].(float64)))
	status, _, body = s.do(t, req{method: "DELETE", path: "/api/v1/tokens/" + id, user: "alice"})
	require.Equal(t, http.StatusOK, status, "%v", body)
	status, _, body = s.do(t, req{method: "GET", path: "/api/v1/session", bearer: secret})
	require.Equal(t, http.StatusUnauthorized, status, "a revoked token still works: %v", body)
	require.Equal(t, "the token is unknown, revoked or expired", body["error"])

	var actions []string
	for _, r := range s.audit.records() {
		require.Equal(t, "alice", r.Who)
		actions = append(actions, r.Action)
	}
	require.Equal(t, []string{"token.create", "token.revoke"}, actions)
	status, _, body = s.do(t, req{method: "GET", path: "/api/v1/audit", user: "alice"})
	require.Equal(t, http.StatusOK, status)
	require.Len(t, body["data"], 2)
}

// login logs a test user in and returns the session cookie and the CSRF
// token.
func (s *secureServer) login(t *testing.T, user string) (*http.Cookie, string) {
	t.Helper()
	hr, err := http.NewRequest("POST", s.URL+"/api/v1/login", strings.NewReader(url.Values{"user": {user}, "password": {testUsers[user].password}}.Encode()))
	require.NoError(t, err)
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.client.Do(hr)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var body struct {
		Data map[string]any `json:"data"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Len(t, resp.Cookies(), 1)
	return resp.Cookies()[0], body.Data["csrf_token"].(string)
}

// TestSessions: login sets an HttpOnly, SameSite=Strict, Secure cookie;
// a change needs the session's CSRF token; logout ends the session.
func TestSessions(t *testing.T) {
	s := newSecureServer(t, nil)
	id := s.raiseAlarm(t)
	c, csrf := s.login(t, "oscar")
	require.Equal(t, "beamctl_session", c.Name)
	require.True(t, c.HttpOnly)
	require.True(t, c.Secure)
	require.Equal(t, http.SameSiteStrictMode, c.SameSite)
	require.Equal(t, "/", c.Path)
	require.NotEqual(t, c.Value, csrf)

	status, _, body := s.do(t, req{method: "GET", path: "/api/v1/session", cookie: c})
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, csrf, body["data"].(map[string]any)["csrf_token"])
	require.Equal(t, "oscar", body["data"].(map[string]any)["user"])

	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"no CSRF token", "", http.StatusForbidden},
		{"a wrong CSRF token", "x" + csrf, http.StatusForbidden},
		{"the session's CSRF token", csrf, http.StatusOK},
	} {
		status, _, body = s.do(t, req{method: "POST", path: "/api/v1/alarms/" + id + "/ack", cookie: c, header: map[string]string{"X-CSRF-Token": tc.token}})
		require.Equal(t, tc.want, status, "%s: %v", tc.name, body)
	}
	require.Len(t, s.audit.records(), 1, "only the request with the CSRF token acted")

	// The role is the user's current one, not the one at login.
	s.roles.Store(map[string]auth.Role{"oscar": auth.Viewer})
	status, _, body = s.do(t, req{method: "POST", path: "/api/v1/alarms/" + id + "/unack", cookie: c, header: map[string]string{"X-CSRF-Token": csrf}})
	require.Equal(t, http.StatusForbidden, status, "a demoted user kept the role of the login: %v", body)
	s.roles.Store(map[string]auth.Role(nil))

	status, _, _ = s.do(t, req{method: "POST", path: "/api/v1/logout", cookie: c, header: map[string]string{"X-CSRF-Token": csrf}})
	require.Equal(t, http.StatusOK, status)
	status, _, body = s.do(t, req{method: "GET", path: "/api/v1/session", cookie: c})
	require.Equal(t, http.StatusUnauthorized, status, "the session outlived logout: %v", body)
}

// TestHeaders: every answer (success, 401, 404, 421) carries the
// security headers and never a CORS header, even to a foreign Origin.
func TestHeaders(t *testing.T) {
	s := newSecureServer(t, nil)
	for _, r := range []req{
		{method: "GET", path: "/-/healthy"},
		{method: "GET", path: "/api/v1/nodes", user: "victor", header: map[string]string{"Origin": "https://evil.example"}},
		{method: "GET", path: "/api/v1/nodes"},
		{method: "GET", path: "/nosuch", user: "victor"},
		{method: "GET", path: "/api/v1/nodes", user: "victor", host: "evil.example"},
		{method: "OPTIONS", path: "/api/v1/nodes", header: map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}},
	} {
		status, hd, _ := s.do(t, r)
		require.Equal(t, "default-src 'self'; frame-ancestors 'none'", hd.Get("Content-Security-Policy"), "%d %v", status, r)
		require.Equal(t, "nosniff", hd.Get("X-Content-Type-Options"))
		require.Equal(t, "no-referrer", hd.Get("Referrer-Policy"))
		for k := range hd {
			require.NotContains(t, strings.ToLower(k), "access-control-", "a CORS header answers %v", r)
		}
	}
}

// TestModesWithoutUsers: without a web configuration, a loopback client
// is the admin anonymous@loopback and any other is refused; --web.no-auth
// makes everyone the admin anonymous.
func TestModesWithoutUsers(t *testing.T) {
	db, err := store.Open(t.TempDir(), nil, nil, nil)
	require.NoError(t, err)
	defer db.Close()
	local := &netAddr{"127.0.0.1:9464"}
	for _, tc := range []struct {
		name, remote string
		sec          Security
		want         int
		who          string
	}{
		{"loopback client", "127.0.0.1:5000", Security{}, 200, "anonymous@loopback"},
		{"IPv6 loopback client", "[::1]:5000", Security{}, 200, "anonymous@loopback"},
		{"remote client", "192.0.2.7:5000", Security{}, 401, ""},
		{"remote client, --web.no-auth", "192.0.2.7:5000", Security{NoAuth: true}, 200, "anonymous"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := New(db, model{}, nil, nil, nil, WithSecurity(tc.sec))
			r := httptest.NewRequest("GET", "http://127.0.0.1:9464/api/v1/session", nil)
			r.RemoteAddr = tc.remote
			r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, local))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			require.Equal(t, tc.want, w.Code, w.Body.String())
			if tc.who != "" {
				require.Contains(t, w.Body.String(), `"user":"`+tc.who+`"`)
				require.Contains(t, w.Body.String(), `"role":"admin"`)
			}
		})
	}
}

type netAddr struct{ s string }

func (a *netAddr) Network() string { return "tcp" }
func (a *netAddr) String() string  { return a.s }

// failures reads beamctl_web_auth_failures_total{method} from the
// server's registry.
func (s *secureServer) failures(t *testing.T, method string) float64 {
	t.Helper()
	fams, err := s.reg.Gather()
	require.NoError(t, err)
	for _, f := range fams {
		if f.GetName() != "beamctl_web_auth_failures_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if m.GetLabel()[0].GetValue() == method {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestNoChallengeForPages: a 401 to the web UI's requests, and to any
// script request of a page (an EventSource cannot set headers), has no
// Basic challenge (the browser would show its own login dialog over the
// UI's); to other clients it has.
func TestNoChallengeForPages(t *testing.T) {
	s := newSecureServer(t, nil)
	for _, tc := range []struct {
		name      string
		header    map[string]string
		challenge bool
	}{
		{"curl", nil, true},
		{"a navigation", map[string]string{"Sec-Fetch-Dest": "document"}, true},
		{"the UI", map[string]string{"X-Beamctl-UI": "1"}, false},
		{"an EventSource", map[string]string{"Sec-Fetch-Dest": "empty"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, hd, _ := s.do(t, req{method: "GET", path: "/api/v1/notifications/stream", header: tc.header})
			require.Equal(t, http.StatusUnauthorized, status)
			require.Equal(t, tc.challenge, hd.Get("WWW-Authenticate") != "", "%v", hd)
		})
	}
}
