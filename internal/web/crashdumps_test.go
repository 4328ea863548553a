package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// writeDump stores a gzip crash dump as fetchCrashDump lays it out
// (<dir>/<cluster>/<node>/<file>, directories 0700, file 0600) with its
// modification time, and returns the stored bytes.
func writeDump(t *testing.T, dir, cluster, node, file, slogan string, mtime time.Time) []byte {
	t.Helper()
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	_, err := io.WriteString(gz, "=erl_crash_dump:0.5\nWed Dec  2 13:00:00 2026\nSlogan: "+slogan+
		"\nSystem version: Erlang/OTP 25\n=proc:<0.1.0>\nName: init\nStack+heap: 376\n"+strings.Repeat("=x\n", 1000))
	require.NoError(t, err)
	require.NoError(t, gz.Close())
	d := filepath.Join(dir, cluster, node)
	require.NoError(t, os.MkdirAll(d, 0o700))
	p := filepath.Join(d, file)
	require.NoError(t, os.WriteFile(p, b.Bytes(), 0o600))
	require.NoError(t, os.Chtimes(p, mtime, mtime))
	return b.Bytes()
}

// get sends an authenticated GET and returns the status, headers and raw
// body.
func (s *secureServer) get(t *testing.T, user, path string) (int, http.Header, []byte) {
	t.Helper()
	r, err := http.NewRequest("GET", s.URL+path, nil)
	require.NoError(t, err)
	r.SetBasicAuth(user, testUsers[user].password)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := s.client.Do(r.WithContext(ctx))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, body
}

// TestCrashDumps: viewers list the stored dumps (newest first, with the
// slogan and time line of their headers); only admins download one, each
// download in the audit trail first with the admin's identity; no path
// reaches a file that is not a listed dump.
func TestCrashDumps(t *testing.T) {
	s := newSecureServer(t, nil)
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	writeDump(t, s.m.dumps, "prod", "a@h", "20261202T120000Z-erl_crash.dump.gz", "Kernel pid terminated (application_controller)", old)
	want := writeDump(t, s.m.dumps, "prod", "b@h", "20261202T130000Z-erl_crash.dump.gz", "eheap_alloc: Cannot allocate 42 bytes", old.Add(time.Minute))
	// What must never be served: a file beside the dump directory and
	// a symbolic link to it among the dumps.
	secret := filepath.Join(filepath.Dir(s.m.dumps), "secret.txt")
	require.NoError(t, os.WriteFile(secret, []byte("the cookie"), 0o600))
	require.NoError(t, os.Symlink(secret, filepath.Join(s.m.dumps, "prod", "b@h", "link.dump.gz")))

	t.Run("list", func(t *testing.T) {
		status, _, body := s.do(t, req{method: "GET", path: "/api/v1/crashdumps", user: "victor"})
		require.Equal(t, http.StatusOK, status, "%v", body)
		list := body["data"].([]any)
		require.Len(t, list, 2, "the symbolic link is not listed")
		d := list[0].(map[string]any)
		require.Equal(t, "prod/b@h/20261202T130000Z-erl_crash.dump.gz", d["id"])
		require.Equal(t, "prod", d["cluster"])
		require.Equal(t, "b@h", d["node"])
		require.Equal(t, "20261202T130000Z-erl_crash.dump.gz", d["file"])
		require.EqualValues(t, len(want), d["size"])
		require.Equal(t, "eheap_alloc: Cannot allocate 42 bytes", d["slogan"])
		require.Equal(t, "Wed Dec  2 13:00:00 2026", d["written"])
		require.Equal(t, old.Add(time.Minute).UTC().Format(time.RFC3339), d["fetched"])
		require.Equal(t, "a@h", list[1].(map[string]any)["node"])

		status, _, body = s.do(t, req{method: "GET", path: "/api/v1/crashdumps?limit=1", user: "victor"})
		require.Equal(t, http.StatusOK, status, "%v", body)
		require.Len(t, body["data"].([]any), 1)
		status, _, body = s.do(t, req{method: "GET", path: "/api/v1/crashdumps?limit=0", user: "victor"})
		require.Equal(t, http.StatusBadRequest, status)
		require.Equal(t, `limit must be a whole number from 1 to 1000, not "0"`, body["error"])
	})

	path := "/api/v1/crashdumps/prod/b@h/20261202T130000Z-erl_crash.dump.gz"
	t.Run("roles", func(t *testing.T) {
		for _, u := range []string{"oscar", "victor"} {
			status, _, body := s.get(t, u, path)
			require.Equal(t, http.StatusForbidden, status, "%s: %s", u, body)
			require.NotContains(t, string(body), "Slogan")
		}
		require.Empty(t, s.audit.records())
	})

	t.Run("download", func(t *testing.T) {
		status, hd, body := s.get(t, "alice", path)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.Equal(t, want, body)
		require.Equal(t, "application/octet-stream", hd.Get("Content-Type"))
		require.Equal(t, `attachment; filename=20261202T130000Z-erl_crash.dump.gz`, hd.Get("Content-Disposition"))
		recs := s.audit.records()
		require.Len(t, recs, 1)
		require.Equal(t, AuditAction{Who: "alice", Role: "admin", From: "127.0.0.1", Action: "crashdump.download", Node: "b@h",
			Args: map[string]string{"cluster": "prod", "file": "20261202T130000Z-erl_crash.dump.gz"}}, recs[0].AuditAction)
		require.True(t, recs[0].Done)
		require.Empty(t, recs[0].Err)
	})

	t.Run("paths", func(t *testing.T) {
		for _, tc := range []struct {
			path   string
			status int
			err    string
		}{
			{"/api/v1/crashdumps/prod/b@h/link.dump.gz", 404, "no crash dump prod/b@h/link.dump.gz is stored: GET /api/v1/crashdumps lists them"},
			{"/api/v1/crashdumps/prod/b@h/nosuch.gz", 404, "no crash dump prod/b@h/nosuch.gz is stored: GET /api/v1/crashdumps lists them"},
			{"/api/v1/crashdumps/prod/b@h/..%2F..%2F..%2Fsecret.txt", 400, `the file "../../../secret.txt" is not a crash dump's file: give the names GET /api/v1/crashdumps lists`},
			{"/api/v1/crashdumps/prod/..%2F..%2Fx/secret.txt", 400, `the node "../../x" is not a crash dump's node: give the names GET /api/v1/crashdumps lists`},
			{"/api/v1/crashdumps/%2e%2e/b@h/x", 400, `the cluster ".." is not a crash dump's cluster: give the names GET /api/v1/crashdumps lists`},
			{"/api/v1/crashdumps/prod/b@h/a%00b", 400, `the file "a\x00b" is not a crash dump's file: give the names GET /api/v1/crashdumps lists`},
			{"/api/v1/crashdumps/prod/b@h/..\\secret.txt", 400, `the file "..\\secret.txt" is not a crash dump's file: give the names GET /api/v1/crashdumps lists`},
			{"/api/v1/crashdumps/prod/b@h/../../../secret.txt", 404, "no route /api/v1/secret.txt"}, // the mux cleans and redirects
			{"/api/v1/crashdumps/prod/b@h", 404, "no route /api/v1/crashdumps/prod/b@h"},
		} {
			status, _, body := s.get(t, "alice", tc.path)
			require.Equal(t, tc.status, status, "%s: %s", tc.path, body)
			require.Contains(t, string(body), strings.ReplaceAll(strings.ReplaceAll(tc.err, `\`, `\\`), `"`, `\"`), tc.path)
			require.NotContains(t, string(body), "the cookie", tc.path)
		}
		require.Len(t, s.audit.records(), 1, "only the one download was done")
	})

	t.Run("audit fails", func(t *testing.T) {
		s.audit.mu.Lock()
		s.audit.fail = errors.New("disk full")
		s.audit.mu.Unlock()
		defer func() {
			s.audit.mu.Lock()
			s.audit.fail = nil
			s.audit.mu.Unlock()
		}()
		status, _, body := s.get(t, "alice", path)
		require.Equal(t, http.StatusServiceUnavailable, status)
		require.Contains(t, string(body), "the audit trail cannot record crashdump.download, so it was not done: disk full")
		require.NotContains(t, string(body), "Slogan")
	})
}
