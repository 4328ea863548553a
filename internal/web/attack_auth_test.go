package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Attacks on the API's authentication, one test per attack: each sends
// what an attacker would and checks that nothing happened.

// TestAttackCSRF: a page of another site makes the browser of a logged-in
// operator post to the API. The browser sends the session cookie (were it
// not SameSite) and a foreign Origin or Sec-Fetch-Site: refused with 403,
// even with the right CSRF token, and nothing is acked.
func TestAttackCSRF(t *testing.T) {
	s := newSecureServer(t, func(sec *Security) {
		sec.ExternalURL = &url.URL{Scheme: "https", Host: "beamctl.example.com"}
	})
	id := s.raiseAlarm(t)
	c, csrf := s.login(t, "oscar")
	for _, tc := range []struct {
		name   string
		header map[string]string
	}{
		{"foreign Origin with the CSRF token", map[string]string{"Origin": "https://evil.example", "X-CSRF-Token": csrf}},
		{"cross-site fetch with the CSRF token", map[string]string{"Sec-Fetch-Site": "cross-site", "X-CSRF-Token": csrf}},
		{"a plain HTML form (no custom header possible)", map[string]string{"Origin": "https://evil.example"}},
		{"same origin but no CSRF token", map[string]string{"Sec-Fetch-Site": "same-origin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := s.do(t, req{method: "POST", path: "/api/v1/alarms/" + id + "/ack", cookie: c, header: tc.header})
			require.Equal(t, http.StatusForbidden, status, "%v", body)
		})
	}
	a, err := s.m.alarms.Get(context.Background(), mustInt(t, id))
	require.NoError(t, err)
	require.Empty(t, a.AckedBy, "a forged request acked the alarm")
	require.Empty(t, s.audit.records())

	// The same request from the API's own origin (the external URL) works.
	status, _, body := s.do(t, req{method: "POST", path: "/api/v1/alarms/" + id + "/ack", cookie: c,
		header: map[string]string{"Origin": "https://beamctl.example.com", "X-CSRF-Token": csrf}})
	require.Equal(t, http.StatusOK, status, "%v", body)

	// A page of another site cannot make a browser with cached basic
	// credentials run an inspection tool (a GET that runs code).
	status, _, body = s.do(t, req{method: "GET", path: "/api/v1/nodes/nosuch@h/memory", user: "oscar",
		header: map[string]string{"Sec-Fetch-Site": "cross-site"}})
	require.Equal(t, http.StatusForbidden, status, "%v", body)
	require.Equal(t, "cross-origin request refused: a page of another site cannot run this", body["error"])

	// A login form posted from another site is refused too.
	status, _, _ = s.do(t, req{method: "POST", path: "/api/v1/login", form: url.Values{"user": {"oscar"}, "password": {testUsers["oscar"].password}},
		header: map[string]string{"Origin": "https://evil.example"}})
	require.Equal(t, http.StatusForbidden, status)
}

// TestAttackForeignHost: DNS rebinding. A page of evil.example whose name
// now resolves to the server's address sends requests with Host
// evil.example: refused with 421, with or without credentials; loopback
// names, the connection's own address and the external URL's host pass.
func TestAttackForeignHost(t *testing.T) {
	s := newSecureServer(t, func(sec *Security) {
		sec.ExternalURL = &url.URL{Scheme: "https", Host: "beamctl.example.com"}
	})
	port := strings.TrimPrefix(s.URL[strings.LastIndex(s.URL, ":"):], ":")
	for _, tc := range []struct {
		host string
		want int
	}{
		{"evil.example:" + port, http.StatusMisdirectedRequest},
		{"evil.example", http.StatusMisdirectedRequest},
		{"127.0.0.1.nip.io:" + port, http.StatusMisdirectedRequest},
		{"localhost:1", http.StatusMisdirectedRequest},
		{"localhost:" + port, http.StatusOK},
		{"127.0.0.1:" + port, http.StatusOK},
		{"beamctl.example.com", http.StatusOK},
		{"beamctl.example.com:443", http.StatusOK},
	} {
		t.Run(tc.host, func(t *testing.T) {
			status, _, body := s.do(t, req{method: "GET", path: "/api/v1/nodes", user: "alice", host: tc.host})
			require.Equal(t, tc.want, status, "%v", body)
			if tc.want == http.StatusMisdirectedRequest {
				require.Equal(t, `host "`+tc.host+`" is not this server's name: use the --web.external-url host or a loopback address (a DNS rebinding guard)`, body["error"])
			}
		})
	}
}

// TestAttackTokenBruteForce: guessing tokens from one address is cut off
// after 5 failures a minute with 429 and Retry-After, the right token
// included, and counted in beamctl_web_auth_failures_total.
func TestAttackTokenBruteForce(t *testing.T) {
	s := newSecureServer(t, nil)
	status, _, body := s.do(t, req{method: "POST", path: "/api/v1/tokens", user: "alice", form: url.Values{"name": {"ci"}, "role": {"viewer"}}})
	require.Equal(t, http.StatusOK, status, "%v", body)
	secret := body["data"].(map[string]any)["token"].(string)
	for i := range 5 {
		status, _, _ = s.do(t, req{method: "GET", path: "/api/v1/nodes", bearer: "bmctl_guess" + strconv.Itoa(i)})
		require.Equal(t, http.StatusUnauthorized, status, "guess %d", i)
	}
	for _, tok := range []string{"bmctl_guess6", secret} {
		status, hd, body := s.do(t, req{method: "GET", path: "/api/v1/nodes", bearer: tok})
		require.Equal(t, http.StatusTooManyRequests, status, "%v", body)
		ra, err := strconv.Atoi(hd.Get("Retry-After"))
		require.NoError(t, err)
		require.True(t, ra > 0 && ra <= 60, "Retry-After %d", ra)
	}
	require.Equal(t, 5.0, s.failures(t, "token"))
	require.Equal(t, 2.0, s.failures(t, "rate_limited"))
}

// TestAttackLoginBruteForce: password guessing at the login form is cut
// off per address and, from many addresses, per user.
func TestAttackLoginBruteForce(t *testing.T) {
	s := newSecureServer(t, nil)
	login := func(remote, user, password string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "https://127.0.0.1:9464/api/v1/login", strings.NewReader(url.Values{"user": {user}, "password": {password}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr = remote
		r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, &netAddr{"127.0.0.1:9464"}))
		w := httptest.NewRecorder()
		s.h.ServeHTTP(w, r)
		return w
	}
	// One address guessing several users.
	for i := range 5 {
		require.Equal(t, http.StatusUnauthorized, login("192.0.2.1:1000", "user"+strconv.Itoa(i), "guess").Code)
	}
	w := login("192.0.2.1:1000", "victor", testUsers["victor"].password)
	require.Equal(t, http.StatusTooManyRequests, w.Code, w.Body.String())
	require.NotEmpty(t, w.Header().Get("Retry-After"))
	// Many addresses guessing one user.
	for i := range 5 {
		require.Equal(t, http.StatusUnauthorized, login("198.51.100."+strconv.Itoa(i+1)+":1000", "alice", "guess").Code)
	}
	w = login("198.51.100.99:1000", "alice", testUsers["alice"].password)
	require.Equal(t, http.StatusTooManyRequests, w.Code, w.Body.String())
	require.Contains(t, w.Body.String(), "too many failed attempts; try again in")
	// Others are not locked out.
	require.Equal(t, http.StatusOK, login("203.0.113.5:1000", "oscar", testUsers["oscar"].password).Code)
	require.Equal(t, 10.0, s.failures(t, "login"))
}

// TestAttackExpiredToken: a token past its expiry is refused with 401.
func TestAttackExpiredToken(t *testing.T) {
	s := newSecureServer(t, nil)
	status, _, body := s.do(t, req{method: "POST", path: "/api/v1/tokens", user: "alice", form: url.Values{"name": {"short"}, "role": {"admin"}, "expires": {"2s"}}})
	require.Equal(t, http.StatusOK, status, "%v", body)
	secret := body["data"].(map[string]any)["token"].(string)
	status, _, body = s.do(t, req{method: "GET", path: "/api/v1/tokens", bearer: secret})
	require.Equal(t, http.StatusOK, status, "the fresh token: %v", body)
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, _, body = s.do(t, req{method: "GET", path: "/api/v1/tokens", bearer: secret})
		if status != http.StatusOK || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.Equal(t, http.StatusUnauthorized, status, "%v", body)
	require.Equal(t, "the token is unknown, revoked or expired", body["error"])
}
