package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/beamctl/beamctl/internal/auth"
)

// Security is who may use the API and how (docs/security.md). Its
// zero value is the loopback mode of a server without a web configuration:
// requests from a loopback address are the admin "anonymous@loopback",
// others are refused.
type Security struct {
	// Users are the basic_auth_users of --web.config.file (nil: none).
	Users *auth.Users
	// Tokens are the API tokens (nil: the token routes answer 503).
	Tokens *auth.Tokens
	// Sessions are the browser sessions (nil: an in-memory store whose
	// sessions last 12 hours).
	Sessions *auth.Sessions
	// NoAuth (--web.no-auth) makes every request without credentials the
	// admin "anonymous", from any address.
	NoAuth bool
	// ExternalURL (--web.external-url) is the URL users reach the server
	// at: its host is accepted in Host headers and its origin is trusted.
	ExternalURL *url.URL
	// TLS says the API is served over TLS (session cookies are Secure).
	TLS bool
	// Auditor records actions (nil: they are not recorded).
	Auditor Auditor
	// Registerer gets the authentication failure counter (nil: none).
	Registerer prometheus.Registerer
	// LoginFailures within LoginWindow, per remote address and per user,
	// before attempts are refused with 429 (0: 5 a minute).
	LoginFailures int
	LoginWindow   time.Duration
}

// Option configures New. (The limits branch declares the same type in
// limits.go: one declaration stays at the merge.)
type Option func(*handler)

// WithSecurity sets the API's authentication, roles and audit trail
// (default: the loopback mode).
func WithSecurity(s Security) Option {
	return func(h *handler) { h.sec = s }
}

// Identities of the modes without credentials.
const (
	anonymousLoopback = "anonymous@loopback"
	anonymousNoAuth   = "anonymous"
	sessionCookie     = "beamctl_session"
	csrfHeader        = "X-CSRF-Token"
)

// guard holds the security state of one API handler.
type guard struct {
	Security
	limiter  *auth.Limiter
	failures *prometheus.CounterVec
	log      *slog.Logger
}

func newGuard(s Security, log *slog.Logger) *guard {
	if s.Sessions == nil {
		s.Sessions = auth.NewSessions(12 * time.Hour)
	}
	if s.LoginFailures <= 0 {
		s.LoginFailures = 5
	}
	if s.LoginWindow <= 0 {
		s.LoginWindow = time.Minute
	}
	g := &guard{Security: s, limiter: auth.NewLimiter(s.LoginFailures, s.LoginWindow), log: log,
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "beamctl_web_auth_failures_total",
			Help: "Failed authentications on the HTTP API (wrong password, unknown/expired/revoked token, unknown session, rate-limited), by method.",
		}, []string{"method"})}
	if s.Registerer != nil {
		if err := s.Registerer.Register(g.failures); err != nil {
			log.Warn("Cannot register the authentication failure counter", "err", err)
		}
	}
	return g
}

// authError is an authentication or authorisation refusal.
type authError struct {
	status     int
	msg        string
	retryAfter time.Duration
}

func (e *authError) Error() string { return e.msg }

// remoteIP is the request's peer address (never a forwarded header: a
// client could write any).
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func isLoopback(r *http.Request) bool {
	ip := net.ParseIP(remoteIP(r))
	return ip != nil && ip.IsLoopback()
}

// throttled refuses a client that failed too often recently.
func (g *guard) throttled(keys ...string) *authError {
	var wait time.Duration
	for _, k := range keys {
		wait = max(wait, g.limiter.Blocked(k))
	}
	if wait > 0 {
		g.failures.WithLabelValues("rate_limited").Inc()
		return &authError{status: http.StatusTooManyRequests, retryAfter: wait,
			msg: fmt.Sprintf("too many failed attempts; try again in %d seconds", int(math.Ceil(wait.Seconds())))}
	}
	return nil
}

// failed records a failed attempt for the keys.
func (g *guard) failed(method string, keys ...string) {
	g.failures.WithLabelValues(method).Inc()
	for _, k := range keys {
		g.limiter.Fail(k)
	}
}

// authenticate finds who makes the request: a bearer token, basic
// credentials, a session cookie, or the modes without credentials.
func (g *guard) authenticate(r *http.Request) (auth.Identity, *authError) {
	ipKey := "ip:" + remoteIP(r)
	if h := r.Header.Get("Authorization"); h != "" {
		if aerr := g.throttled(ipKey); aerr != nil {
			return auth.Identity{}, aerr
		}
		if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
			if g.Tokens == nil {
				return auth.Identity{}, &authError{status: http.StatusUnauthorized, msg: "this server has no API tokens"}
			}
			id, err := g.Tokens.Verify(r.Context(), strings.TrimSpace(tok))
			if errors.Is(err, auth.ErrBadToken) {
				g.failed("token", ipKey)
				return auth.Identity{}, &authError{status: http.StatusUnauthorized, msg: err.Error()}
			}
			if err != nil {
				return auth.Identity{}, &authError{status: http.StatusServiceUnavailable, msg: "cannot check the token: " + err.Error()}
			}
			return id, nil
		}
		user, pass, ok := r.BasicAuth()
		if !ok {
			return auth.Identity{}, &authError{status: http.StatusUnauthorized, msg: "the Authorization header must be Basic or Bearer"}
		}
		if aerr := g.throttled("user:" + user); aerr != nil {
			return auth.Identity{}, aerr
		}
		if g.Users == nil {
			g.failed("basic", ipKey)
			return auth.Identity{}, &authError{status: http.StatusUnauthorized, msg: "this server has no users (--web.config.file basic_auth_users)"}
		}
		id, err := g.Users.Check(user, pass)
		if err != nil {
			g.failed("basic", ipKey, "user:"+user)
			return auth.Identity{}, &authError{status: http.StatusUnauthorized, msg: err.Error()}
		}
		return id, nil
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		if aerr := g.throttled(ipKey); aerr != nil {
			return auth.Identity{}, aerr
		}
		id, ok := g.Sessions.Get(c.Value)
		if ok && g.Users != nil {
			// The role of now: a reload may have changed it, or the
			// user may be gone.
			id.Role, ok = g.Users.Role(id.Name)
		}
		if !ok {
			g.failed("session", ipKey)
			return auth.Identity{}, &authError{status: http.StatusUnauthorized, msg: "the session has expired or ended; log in again"}
		}
		if unsafeMethod(r.Method) && !auth.CheckCSRF(id, r.Header.Get(csrfHeader)) {
			return auth.Identity{}, &authError{status: http.StatusForbidden,
				msg: "a request with a session cookie that changes something needs the session's " + csrfHeader + " header"}
		}
		return id, nil
	}
	switch {
	case g.NoAuth:
		return auth.Identity{Name: anonymousNoAuth, Role: auth.Admin, Method: "none"}, nil
	case g.Users == nil && isLoopback(r):
		return auth.Identity{Name: anonymousLoopback, Role: auth.Admin, Method: "none"}, nil
	}
	return auth.Identity{}, &authError{status: http.StatusUnauthorized,
		msg: "authentication required: basic credentials, a bearer token or a session"}
}

func unsafeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// require wraps a route's handler: it authenticates the request, checks
// the role and puts the identity in the request's context.
func (g *guard) require(role auth.Role, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, aerr := g.authenticate(r)
		if aerr == nil && id.Role < role {
			aerr = &authError{status: http.StatusForbidden,
				msg: fmt.Sprintf("this needs the %s role; %s has the %s role", role, id.Name, id.Role)}
		}
		if aerr != nil {
			g.refuse(w, r, aerr)
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.WithIdentity(r.Context(), id)))
	})
}

// sameSiteOnly refuses a request sent by a page of another site (Fetch
// metadata): for the routes that run code on a node with a safe method
// (GET), which http.CrossOriginProtection lets through, so that a page
// cannot make a browser with cached basic credentials run them.
func (g *guard) sameSiteOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("Sec-Fetch-Site") {
		case "cross-site", "same-site":
			g.refuse(w, r, &authError{status: http.StatusForbidden,
				msg: "cross-origin request refused: a page of another site cannot run this"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// uiHeader marks the web UI's requests: a 401 to them has no Basic
// challenge, so the browser shows the UI's login page, not its own dialog.
// Nor has a 401 to any script request of a page (Sec-Fetch-Dest: empty),
// such as an EventSource, which cannot set headers.
const uiHeader = "X-Beamctl-UI"

// refuse answers an authentication error in the API's error shape.
func (g *guard) refuse(w http.ResponseWriter, r *http.Request, aerr *authError) {
	typ := "forbidden"
	switch aerr.status {
	case http.StatusUnauthorized:
		typ = "unauthorized"
		if r.Header.Get(uiHeader) == "" && r.Header.Get("Sec-Fetch-Dest") != "empty" {
			w.Header().Set("WWW-Authenticate", `Basic realm="beamctl", charset="UTF-8"`)
		}
	case http.StatusTooManyRequests:
		typ = "too_many_requests"
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(aerr.retryAfter.Seconds()))))
	case http.StatusServiceUnavailable, http.StatusMisdirectedRequest:
		typ = "unavailable"
	}
	writeError(w, g.log, aerr.status, typ, aerr.msg)
}

// hostAllowed is the DNS-rebinding check: the Host must be the external
// URL's, a loopback name or address, or the IP address the connection
// came in on, with the port the server listens on.
func (g *guard) hostAllowed(r *http.Request) bool {
	host := r.Host
	if u := g.ExternalURL; u != nil && (strings.EqualFold(host, u.Host) || strings.EqualFold(withPort(host, g.TLS), withPort(u.Host, u.Scheme == "https"))) {
		return true
	}
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	lhost, lport, err := net.SplitHostPort(local.String())
	if err != nil {
		return false
	}
	h, p, err := net.SplitHostPort(withPort(host, g.TLS))
	if err != nil || p != lport {
		return false
	}
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && (ip.IsLoopback() || ip.Equal(net.ParseIP(lhost)))
}

// withPort adds the scheme's default port to a host without one.
func withPort(host string, tls bool) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	port := "80"
	if tls {
		port = "443"
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), port)
}

// secure wraps the whole API: security headers on every answer, the Host
// allowlist, and Go's cross-origin protection of unsafe methods (with the
// external URL's origin trusted). No CORS header is ever sent.
func (g *guard) secure(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	if u := g.ExternalURL; u != nil {
		if err := cop.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			g.log.Warn("Cannot trust the external URL's origin", "err", err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, g.log, http.StatusForbidden, "forbidden",
			"cross-origin request refused: a page of another site cannot change anything here")
	}))
	inner := cop.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		if !g.hostAllowed(r) {
			writeError(w, g.log, http.StatusMisdirectedRequest, "misdirected",
				fmt.Sprintf("host %q is not this server's name: use the --web.external-url host or a loopback address (a DNS rebinding guard)", r.Host))
			return
		}
		inner.ServeHTTP(w, r)
	})
}

// writeError answers an error in the Prometheus API's shape.
func writeError(w http.ResponseWriter, log *slog.Logger, status int, typ, msg string) {
	h := &handler{log: log}
	h.respond(w, nil, &apiError{status: status, typ: typ, err: errors.New(msg)})
}

// identity is the request's authenticated identity (every route but the
// unauthenticated ones has one).
func identity(ctx context.Context) auth.Identity {
	id, _ := auth.FromContext(ctx)
	return id
}
