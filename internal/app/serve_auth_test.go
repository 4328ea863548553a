package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/testnode"
)

// TestServeAuth: serve refuses a non-loopback address without users
// unless --web.no-auth says so, and serves TLS with basic_auth_users and
// the roles of the configuration's web block.
func TestServeAuth(t *testing.T) {
	cfg, err := config.Parse([]byte("clusters:\n  - name: x\n    cookie: c\n    nodes: [nosuch@localhost]\nweb:\n  roles:\n    alice: admin\n    ghost: operator\n"), t.TempDir())
	require.NoError(t, err)
	tf := testnode.MakeTLS(t)
	h, err := bcrypt.GenerateFromPassword([]byte("alice-secret"), bcrypt.MinCost)
	require.NoError(t, err)
	webConfig := filepath.Join(t.TempDir(), "web.yml")
	require.NoError(t, os.WriteFile(webConfig, []byte(fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  alice: %s\n  victor: %s\n",
		tf.NodeCert, tf.NodeKey, h, h)), 0o600))
	start := func(o Options) (*App, error) {
		o.Config, o.StoragePath = cfg, t.TempDir()
		a, err := New(o)
		require.NoError(t, err)
		t.Cleanup(func() { _ = a.Stop() })
		return a, a.Start(context.Background())
	}

	for _, tc := range []struct {
		name string
		o    Options
		err  string
	}{
		{"every address, no users", Options{Listen: "0.0.0.0:0"},
			"refusing to serve 0.0.0.0:0 (not a loopback address) without authentication: give --web.config.file with basic_auth_users, or pass --web.no-auth to let anyone who reaches it act as admin"},
		{"empty host, no users", Options{Listen: ":0"}, "refusing to serve :0 (not a loopback address) without authentication"},
		{"users and --web.no-auth", Options{Listen: "0.0.0.0:0", WebConfigFile: webConfig, NoAuth: true},
			"--web.no-auth contradicts the basic_auth_users of " + webConfig + ": give one or the other"},
		{"bad external URL", Options{Listen: "127.0.0.1:0", ExternalURL: "beamctl.example.com"},
			`--web.external-url "beamctl.example.com" is not an http(s) URL such as https://beamctl.example.com`},
		{"every address, --web.no-auth", Options{Listen: "0.0.0.0:0", NoAuth: true}, ""},
		{"loopback, no users", Options{Listen: "127.0.0.1:0"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := start(tc.o)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}

	t.Run("TLS and users", func(t *testing.T) {
		a, err := start(Options{Listen: "0.0.0.0:0", WebConfigFile: webConfig})
		require.NoError(t, err)
		require.Equal(t, "https", a.Scheme())
		ca, err := os.ReadFile(tf.CACert)
		require.NoError(t, err)
		pool := x509.NewCertPool()
		require.True(t, pool.AppendCertsFromPEM(ca))
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		_, port, err := net.SplitHostPort(a.Addr())
		require.NoError(t, err)
		for _, tc := range []struct {
			user, path string
			want       int
		}{
			{"", "/api/v1/nodes", http.StatusUnauthorized},
			{"", "/-/healthy", http.StatusOK},
			{"victor", "/api/v1/nodes", http.StatusOK},
			{"victor", "/api/v1/tokens", http.StatusForbidden}, // not in web.roles: a viewer
			{"alice", "/api/v1/tokens", http.StatusOK},
		} {
			r, err := http.NewRequest("GET", "https://127.0.0.1:"+port+tc.path, nil)
			require.NoError(t, err)
			if tc.user != "" {
				r.SetBasicAuth(tc.user, "alice-secret")
			}
			resp, err := client.Do(r)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, tc.want, resp.StatusCode, "%s %s", tc.user, tc.path)
		}
		// A token created by alice is in the server's audit trail as hers.
		r, err := http.NewRequest("POST", "https://127.0.0.1:"+port+"/api/v1/tokens", strings.NewReader("name=ci&role=viewer"))
		require.NoError(t, err)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth("alice", "alice-secret")
		resp, err := client.Do(r)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		r, err = http.NewRequest("GET", "https://127.0.0.1:"+port+"/api/v1/audit?action=token.create", nil)
		require.NoError(t, err)
		r.SetBasicAuth("alice", "alice-secret")
		resp, err = client.Do(r)
		require.NoError(t, err)
		var page struct {
			Data struct {
				Records []struct {
					Who, Role, Action, Outcome string
					Args                       map[string]string
				} `json:"records"`
			} `json:"data"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&page))
		resp.Body.Close()
		require.Len(t, page.Data.Records, 2, "started and its outcome")
		for _, rec := range page.Data.Records {
			require.Equal(t, "alice", rec.Who)
			require.Equal(t, "admin", rec.Role)
			require.Equal(t, "token.create", rec.Action)
		}

		fi, err := os.Stat(filepath.Join(a.opts.StoragePath, "tokens.db"))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	})
}
