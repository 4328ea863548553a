package auth

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/beamctl/beamctl/internal/testnode"
)

func hash(t *testing.T, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	require.NoError(t, err)
	return string(h)
}

func TestUsers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "web.yml")
	write := func(body string) {
		require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	}
	write(fmt.Sprintf("basic_auth_users:\n  alice: %s\n  victor: %s\n", hash(t, "a"), hash(t, "v")))
	u, err := NewUsers(path, func() map[string]Role { return map[string]Role{"alice": Admin, "ghost": Operator} })
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"alice", "victor"}, u.Names())

	for _, tc := range []struct {
		user, pw string
		want     Identity
		err      error
	}{
		{"alice", "a", Identity{Name: "alice", Role: Admin, Method: "basic"}, nil},
		{"victor", "v", Identity{Name: "victor", Role: Viewer, Method: "basic"}, nil}, // not in roles: a viewer
		{"alice", "v", Identity{}, ErrBadCredentials},
		{"ghost", "", Identity{}, ErrBadCredentials}, // in roles, not a user
		{"mallory", "a", Identity{}, ErrBadCredentials},
	} {
		for range 2 { // the second time from the cache
			id, err := u.Check(tc.user, tc.pw)
			require.ErrorIs(t, err, tc.err, tc.user)
			require.Equal(t, tc.want, id)
		}
	}

	// The file changes (a new password): it is read again; a broken
	// file keeps the users.
	write(fmt.Sprintf("basic_auth_users:\n  alice: %s\n", hash(t, "new")))
	u.checked = time.Time{}
	u.modTime = time.Time{}
	_, err = u.Check("alice", "a")
	require.ErrorIs(t, err, ErrBadCredentials)
	_, err = u.Check("alice", "new")
	require.NoError(t, err)
	write("basic_auth_users: [")
	u.checked, u.modTime = time.Time{}, time.Time{}
	_, err = u.Check("alice", "new")
	require.NoError(t, err)

	write("basic_auth_users:\n  bob: plaintext\n")
	_, err = NewUsers(path, nil)
	require.EqualError(t, err, "web config "+path+": basic_auth_users.bob is not a bcrypt hash")
	write("tls_server_config:\n  cert_file: nosuch.pem\n  key_file: nosuch-key.pem\n")
	_, err = NewUsers(path, nil)
	require.ErrorContains(t, err, "web config "+path+": ")
	require.ErrorContains(t, err, "nosuch.pem")
}

func TestTokens(t *testing.T) {
	dir := t.TempDir()
	ts, err := OpenTokens(dir)
	require.NoError(t, err)
	defer ts.Close()
	fi, err := os.Stat(filepath.Join(dir, "tokens.db"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	ctx := context.Background()

	secret, tok, err := ts.Create(ctx, "ci", Operator, "alice", time.Hour)
	require.NoError(t, err)
	require.Regexp(t, `^bmctl_[A-Za-z0-9_-]{43}$`, secret)
	id, err := ts.Verify(ctx, secret)
	require.NoError(t, err)
	require.Equal(t, Identity{Name: "token:ci", Role: Operator, Method: "token"}, id)

	// Neither the secret nor its base64 body is in the file.
	b, err := os.ReadFile(filepath.Join(dir, "tokens.db"))
	require.NoError(t, err)
	require.False(t, bytes.Contains(b, []byte(secret[len(TokenPrefix):])))

	for _, bad := range []string{"", "bmctl_", secret + "x", "nope" + secret[4:]} {
		_, err := ts.Verify(ctx, bad)
		require.ErrorIs(t, err, ErrBadToken, bad)
	}
	// Past its expiry it is refused.
	ts.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	_, err = ts.Verify(ctx, secret)
	require.ErrorIs(t, err, ErrBadToken)
	ts.now = time.Now

	list, err := ts.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, tok.ID, list[0].ID)
	require.NotNil(t, list[0].LastUsed)

	require.NoError(t, ts.Revoke(ctx, tok.ID))
	_, err = ts.Verify(ctx, secret)
	require.ErrorIs(t, err, ErrBadToken)
	require.ErrorIs(t, ts.Revoke(ctx, tok.ID), ErrNoToken)

	for _, tc := range []struct {
		name string
		role Role
		exp  time.Duration
		want string
	}{
		{"", Viewer, 0, "a token's name must be 1 to 64 characters on one line"},
		{"a\nb", Viewer, 0, "a token's name must be 1 to 64 characters on one line"},
		{"x", 0, 0, "a token's role must be viewer, operator or admin"},
		{"x", Viewer, -time.Second, "a token's expiry must be in the future"},
	} {
		_, _, err := ts.Create(ctx, tc.name, tc.role, "alice", tc.exp)
		require.EqualError(t, err, tc.want)
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := NewLimiter(3, time.Minute)
	l.now = func() time.Time { return now }
	for range 3 {
		require.Zero(t, l.Blocked("k"))
		l.Fail("k")
		now = now.Add(10 * time.Second)
	}
	// Failures at 0, 10, 20 s; now 30 s: blocked until the first leaves.
	require.Equal(t, 30*time.Second, l.Blocked("k"))
	require.Zero(t, l.Blocked("other"))
	now = now.Add(30 * time.Second)
	require.Zero(t, l.Blocked("k"))
}

func TestSessions(t *testing.T) {
	s := NewSessions(time.Hour)
	now := time.Now()
	s.now = func() time.Time { return now }
	id, exp := s.Create(Identity{Name: "alice", Role: Admin, Method: "basic"})
	require.Equal(t, now.Add(time.Hour), exp)
	require.Equal(t, "session", id.Method)
	got, ok := s.Get(id.Session)
	require.True(t, ok)
	require.Equal(t, id, got)
	require.True(t, CheckCSRF(got, id.CSRF))
	require.False(t, CheckCSRF(got, ""))
	now = now.Add(time.Hour)
	_, ok = s.Get(id.Session)
	require.False(t, ok, "an expired session")
	id, _ = s.Create(Identity{Name: "bob"})
	s.Delete(id.Session)
	_, ok = s.Get(id.Session)
	require.False(t, ok)
}

// TestServerTLSRotation: a renewed certificate written over the old files
// is served on the next handshake, without a restart.
func TestServerTLSRotation(t *testing.T) {
	first, second := testnode.MakeTLS(t), testnode.MakeTLS(t)
	path := filepath.Join(t.TempDir(), "web.yml")
	require.NoError(t, os.WriteFile(path, []byte(fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\n", first.NodeCert, first.NodeKey)), 0o600))
	cfg, err := ServerTLS(path, false)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.TLS = cfg
	srv.StartTLS()
	defer srv.Close()
	served := func() []byte {
		c, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reads the served certificate
		require.NoError(t, err)
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Raw
	}
	pemCert := func(path string) []byte {
		c, err := tls.LoadX509KeyPair(path, map[string]string{first.NodeCert: first.NodeKey, second.NodeCert: second.NodeKey}[path])
		require.NoError(t, err)
		return c.Certificate[0]
	}
	require.Equal(t, pemCert(first.NodeCert), served())
	for from, to := range map[string]string{second.NodeCert: first.NodeCert, second.NodeKey: first.NodeKey} {
		b, err := os.ReadFile(from)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(to, b, 0o600))
	}
	require.Equal(t, pemCert(second.NodeCert), served())

	// No tls_server_config: plain HTTP.
	require.NoError(t, os.WriteFile(path, []byte("basic_auth_users: {}\n"), 0o600))
	cfg, err = ServerTLS(path, false)
	require.NoError(t, err)
	require.Nil(t, cfg)
}
