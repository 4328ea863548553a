package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	promodel "github.com/prometheus/common/model"

	"github.com/beamctl/beamctl/internal/auth"
)

// login serves POST /api/v1/login (form user, password): a session
// cookie (HttpOnly, SameSite=Strict, Secure under TLS) and the session's
// CSRF token, which requests that change something send in X-CSRF-Token.
// Failures are limited per remote address and per user.
func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	if aerr := h.form(w, r); aerr != nil {
		h.respond(w, nil, aerr)
		return
	}
	user, pass := r.PostForm.Get("user"), r.PostForm.Get("password")
	keys := []string{"ip:" + remoteIP(r), "user:" + user}
	if aerr := h.g.throttled(keys...); aerr != nil {
		h.g.refuse(w, r, aerr)
		return
	}
	if h.g.Users == nil {
		h.respond(w, nil, badData("this server has no users to log in as (--web.config.file with basic_auth_users)"))
		return
	}
	id, err := h.g.Users.Check(user, pass)
	if err != nil {
		h.g.failed("login", keys...)
		// Not the user name: someone may have typed a password into it.
		h.log.Info("Failed login", "from", remoteIP(r))
		h.g.refuse(w, r, &authError{status: http.StatusUnauthorized, msg: err.Error()})
		return
	}
	id, expires := h.g.Sessions.Create(id)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id.Session, Path: "/", Expires: expires,
		HttpOnly: true, Secure: h.g.TLS, SameSite: http.SameSiteStrictMode})
	h.respond(w, sessionJSON(id, expires), nil)
}

func sessionJSON(id auth.Identity, expires time.Time) map[string]any {
	out := map[string]any{"user": id.Name, "role": id.Role.String(), "method": id.Method}
	if id.Method == "session" {
		out["csrf_token"] = id.CSRF
		if !expires.IsZero() {
			out["expires"] = expires.UTC()
		}
	}
	return out
}

// logout serves POST /api/v1/logout: the session ends.
func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	id := identity(r.Context())
	if id.Session != "" {
		h.g.Sessions.Delete(id.Session)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.g.TLS, SameSite: http.SameSiteStrictMode})
	h.respond(w, map[string]string{"user": id.Name}, nil)
}

// session serves GET /api/v1/session: who the request is authenticated
// as, and the session's CSRF token.
func (h *handler) session(w http.ResponseWriter, r *http.Request) {
	h.respond(w, sessionJSON(identity(r.Context()), time.Time{}), nil)
}

// audit records that the request is about to do action; when the audit
// trail cannot record it, it answers 503 and returns ok false: the action
// must not run. end records the outcome.
func (h *handler) audit(w http.ResponseWriter, r *http.Request, action, node string, args map[string]string) (end func(error), ok bool) {
	if h.g.Auditor == nil {
		return func(error) {}, true
	}
	id := identity(r.Context())
	end, err := h.g.Auditor.Begin(r.Context(), AuditAction{Who: id.Name, Role: id.Role.String(), From: remoteIP(r),
		Action: action, Node: node, Args: args})
	if err != nil {
		h.log.Error("The audit trail cannot record an action; it is refused", "action", action, "err", err)
		h.respond(w, nil, &apiError{status: http.StatusServiceUnavailable, typ: "unavailable",
			err: fmt.Errorf("the audit trail cannot record %s, so it was not done: %v", action, err)})
		return nil, false
	}
	return end, true
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// reloadAudited serves POST /-/reload, recorded in the audit trail.
func (h *handler) reloadAudited(w http.ResponseWriter, r *http.Request) {
	end, ok := h.audit(w, r, "reload", "", nil)
	if !ok {
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	h.reload.ServeHTTP(sw, r)
	var err error
	if sw.status >= 400 {
		err = fmt.Errorf("HTTP %d", sw.status)
	}
	end(err)
}

func (h *handler) tokensReady(w http.ResponseWriter) bool {
	if h.g.Tokens == nil {
		h.respond(w, nil, &apiError{status: http.StatusServiceUnavailable, typ: "unavailable",
			err: errors.New("this server keeps no API tokens")})
		return false
	}
	return true
}

// listTokens serves GET /api/v1/tokens: never a token's secret or hash.
func (h *handler) listTokens(w http.ResponseWriter, r *http.Request) {
	if !h.tokensReady(w) {
		return
	}
	ts, err := h.g.Tokens.List(r.Context())
	if err != nil {
		h.respond(w, nil, &apiError{status: http.StatusInternalServerError, typ: "internal", err: err})
		return
	}
	h.respond(w, ts, nil)
}

// createToken serves POST /api/v1/tokens (form name, role, expires such as
// 30d or empty for never): the token's secret is in this answer only.
func (h *handler) createToken(w http.ResponseWriter, r *http.Request) {
	if !h.tokensReady(w) {
		return
	}
	if aerr := h.form(w, r); aerr != nil {
		h.respond(w, nil, aerr)
		return
	}
	name, roleName, exp := r.PostForm.Get("name"), r.PostForm.Get("role"), r.PostForm.Get("expires")
	role, err := auth.ParseRole(roleName)
	if err != nil {
		h.respond(w, nil, badData("role: %v", err))
		return
	}
	var expires time.Duration
	if exp != "" {
		d, err := promodel.ParseDuration(exp)
		if err != nil || d <= 0 {
			h.respond(w, nil, badData("expires must be a duration such as 30d or 12h, or empty for never, not %q", exp))
			return
		}
		expires = time.Duration(d)
	}
	if strings.TrimSpace(name) == "" {
		h.respond(w, nil, badData("name is required"))
		return
	}
	end, ok := h.audit(w, r, "token.create", "", map[string]string{"name": name, "role": roleName, "expires": exp})
	if !ok {
		return
	}
	secret, tok, err := h.g.Tokens.Create(r.Context(), name, role, identity(r.Context()).Name, expires)
	end(err)
	if err != nil {
		h.respond(w, nil, badData("%v", err))
		return
	}
	h.respond(w, struct {
		auth.Token
		Secret string `json:"token"`
	}{tok, secret}, nil)
}

// revokeToken serves DELETE /api/v1/tokens/{id}.
func (h *handler) revokeToken(w http.ResponseWriter, r *http.Request) {
	if !h.tokensReady(w) {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		h.respond(w, nil, badData("token id must be a positive whole number, not %q", r.PathValue("id")))
		return
	}
	end, ok := h.audit(w, r, "token.revoke", "", map[string]string{"id": r.PathValue("id")})
	if !ok {
		return
	}
	err = h.g.Tokens.Revoke(r.Context(), id)
	end(err)
	switch {
	case errors.Is(err, auth.ErrNoToken):
		h.respond(w, nil, &apiError{status: http.StatusNotFound, typ: "not_found", err: err})
	case err != nil:
		h.respond(w, nil, &apiError{status: http.StatusInternalServerError, typ: "internal", err: err})
	default:
		h.respond(w, map[string]int64{"revoked": id}, nil)
	}
}

// auditRecords serves GET /api/v1/audit?since=&until=&who=&action=&node=&limit=.
func (h *handler) auditRecords(w http.ResponseWriter, r *http.Request) {
	if aerr := h.form(w, r); aerr != nil {
		h.respond(w, nil, aerr)
		return
	}
	if h.g.Auditor == nil {
		h.respond(w, nil, &apiError{status: http.StatusServiceUnavailable, typ: "unavailable",
			err: errors.New("this server keeps no audit trail")})
		return
	}
	f := AuditFilter{Who: r.Form.Get("who"), Action: r.Form.Get("action"), Node: r.Form.Get("node")}
	var err error
	if f.Since, err = parseTime(r.Form.Get("since"), time.Time{}); err != nil {
		h.respond(w, nil, badData("invalid parameter since: %v", err))
		return
	}
	if f.Until, err = parseTime(r.Form.Get("until"), time.Time{}); err != nil {
		h.respond(w, nil, badData("invalid parameter until: %v", err))
		return
	}
	if s := r.Form.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			h.respond(w, nil, badData("limit must be a whole number from 1 to %d, not %q", maxLimit, s))
			return
		}
		f.Limit = n
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	recs, err := h.g.Auditor.Records(ctx, f)
	if err != nil {
		h.respond(w, nil, &apiError{status: http.StatusInternalServerError, typ: "internal", err: err})
		return
	}
	h.respond(w, recs, nil)
}
