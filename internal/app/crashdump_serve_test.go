package app

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/testnode"
)

// storeDump lays out a crash dump in storage as fetchCrashDump does
// (directories 0700, a 0600 gzip file named by its fetch time) and
// returns its URL path and bytes.
func storeDump(t *testing.T, storage, cluster, node string) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	_, err := io.WriteString(gz, "=erl_crash_dump:0.5\nWed Dec  2 13:00:00 2026\nSlogan: Kernel pid terminated (application_controller)\n"+
		"=node:'"+node+"'\n=no_distribution\n=cookie:secretcookie\n")
	require.NoError(t, err)
	require.NoError(t, gz.Close())
	dir := filepath.Join(storage, "crashdumps", safeName(cluster), safeName(node))
	require.NoError(t, os.MkdirAll(dir, 0o700))
	file := time.Now().UTC().Format("20060102T150405Z") + "-erl_crash.dump.gz"
	require.NoError(t, os.WriteFile(filepath.Join(dir, file), b.Bytes(), 0o600))
	return "/api/v1/crashdumps/" + safeName(cluster) + "/" + safeName(node) + "/" + file, b.Bytes()
}

// TestCrashDumpServed: a real server serves the 0600 crash dump in its
// storage to an admin (loopback without authentication; an admin token
// under TLS and users), not to a viewer, and records the download in its
// audit trail under the token's identity.
func TestCrashDumpServed(t *testing.T) {
	cfg, err := config.Parse([]byte("clusters:\n  - name: x\n    cookie: c\n    nodes: [nosuch@localhost]\nweb:\n  roles:\n    alice: admin\n"), t.TempDir())
	require.NoError(t, err)
	start := func(o Options) (*App, string, []byte) {
		o.Config, o.StoragePath = cfg, t.TempDir()
		path, dump := storeDump(t, o.StoragePath, "x", "nosuch@localhost")
		a, err := New(o)
		require.NoError(t, err)
		t.Cleanup(func() { _ = a.Stop() })
		require.NoError(t, a.Start(context.Background()))
		return a, path, dump
	}
	get := func(t *testing.T, c *http.Client, url string, auth func(*http.Request)) (int, http.Header, []byte) {
		t.Helper()
		r, err := http.NewRequest("GET", url, nil)
		require.NoError(t, err)
		if auth != nil {
			auth(r)
		}
		resp, err := c.Do(r)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, resp.Header, body
	}

	t.Run("loopback admin", func(t *testing.T) {
		a, path, dump := start(Options{Listen: "127.0.0.1:0"})
		base := "http://" + a.Addr()
		status, _, body := get(t, http.DefaultClient, base+"/api/v1/crashdumps", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.Contains(t, string(body), `"slogan":"Kernel pid terminated (application_controller)"`)
		require.NotContains(t, string(body), "secretcookie")
		status, hd, body := get(t, http.DefaultClient, base+path, nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.Equal(t, dump, body)
		require.Equal(t, "application/octet-stream", hd.Get("Content-Type"))
	})

	t.Run("admin token, viewer refused", func(t *testing.T) {
		tf := testnode.MakeTLS(t)
		h, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
		require.NoError(t, err)
		webConfig := filepath.Join(t.TempDir(), "web.yml")
		require.NoError(t, os.WriteFile(webConfig, []byte(fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  alice: %s\n  victor: %s\n",
			tf.NodeCert, tf.NodeKey, h, h)), 0o600))
		a, path, dump := start(Options{Listen: "127.0.0.1:0", WebConfigFile: webConfig})
		ca, err := os.ReadFile(tf.CACert)
		require.NoError(t, err)
		pool := x509.NewCertPool()
		require.True(t, pool.AppendCertsFromPEM(ca))
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		base := "https://" + a.Addr()
		basic := func(u string) func(*http.Request) { return func(r *http.Request) { r.SetBasicAuth(u, "pw") } }

		status, _, body := get(t, client, base+"/api/v1/crashdumps", basic("victor"))
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.Contains(t, string(body), path[len("/api/v1/crashdumps/"):])
		status, _, body = get(t, client, base+path, basic("victor"))
		require.Equal(t, http.StatusForbidden, status, "%s", body)
		require.NotContains(t, string(body), "secretcookie")

		// An admin token made by alice.
		r, err := http.NewRequest("POST", base+"/api/v1/tokens", strings.NewReader("name=ops&role=admin"))
		require.NoError(t, err)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth("alice", "pw")
		resp, err := client.Do(r)
		require.NoError(t, err)
		var created struct {
			Data struct {
				Token string `json:"token"`
			} `json:"data"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&created))
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.NotEmpty(t, created.Data.Token)

		status, _, body = get(t, client, base+path, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+created.Data.Token) })
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.Equal(t, dump, body)

		status, _, body = get(t, client, base+"/api/v1/audit?action=crashdump.download", basic("alice"))
		require.Equal(t, http.StatusOK, status, "%s", body)
		var page struct {
			Data struct {
				Records []struct {
					Who, Role, Action, Node, Outcome string
					Args                             map[string]string
				} `json:"records"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal(body, &page))
		require.Len(t, page.Data.Records, 2, "started and its outcome: %s", body)
		for _, rec := range page.Data.Records {
			require.Equal(t, "token:ops", rec.Who)
			require.Equal(t, "admin", rec.Role)
			require.Equal(t, "nosuch@localhost", rec.Node)
		}
	})
}
