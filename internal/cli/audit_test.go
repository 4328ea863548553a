package cli

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/audit"
	"github.com/beamctl/beamctl/internal/testnode"
)

// TestAuditDirectConnections runs eval, load, inspection tools, rpc,
// metrics and agent remove against a real node: each writes a started record before it runs
// and its outcome after, with the node and the arguments, to --audit.file;
// beamctl audit reads them and beamctl audit verify checks the chain and
// names the first record edited.
func TestAuditDirectConnections(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	cookie := "--cookie=" + n.Cookie
	file := filepath.Join(t.TempDir(), "state", "audit.log")
	af := "--audit.file=" + file
	beam := compileVersion(t, 1)

	steps := []struct {
		name    string
		args    []string
		code    int
		action  string
		args0   map[string]string // expected arguments (a subset)
		outcome string
	}{
		{name: "eval", args: []string{"eval", n.Name, "lists:sum([1,2,3])", "--yes"}, action: "eval",
			args0: map[string]string{"expression": "lists:sum([1,2,3])"}, outcome: audit.OK},
		{name: "eval that fails", args: []string{"eval", n.Name, "erlang:error(boom)", "--yes"}, code: 1, action: "eval",
			args0: map[string]string{"expression": "erlang:error(boom)"}, outcome: "error: "},
		{name: "load", args: []string{"load", n.Name, "--beam", beam}, action: "load",
			args0: map[string]string{"beam": beam, "force": "false", "purge-wait": "30s", "dry-run": "false"}, outcome: audit.OK},
		{name: "an inspection tool", args: []string{"alloc", n.Name}, action: "inspect.alloc",
			args0: map[string]string{"agent": "loads beamctl_agent if missing"}, outcome: audit.OK},
		{name: "an application's environment", args: []string{"apps", n.Name, "--env", "kernel"}, action: "inspect.app_env",
			args0: map[string]string{"app": "kernel"}, outcome: audit.OK},
		{name: "rpc", args: []string{"rpc", n.Name, "erlang", "system_info", "[otp_release]"}, action: "rpc",
			args0: map[string]string{"module": "erlang", "function": "system_info", "args": "[otp_release]"}, outcome: audit.OK},
		{name: "top", args: []string{"top", n.Name, "-n", "3"}, action: "inspect.top",
			args0: map[string]string{"n": "3"}, outcome: audit.OK},
		{name: "metrics (installs the log counter)", args: []string{"metrics", n.Name}, action: "inspect.metrics",
			args0: map[string]string{"agentless": "false"}, outcome: audit.OK},
		{name: "agent remove", args: []string{"agent", "remove", n.Name}, action: "agent.remove", outcome: audit.OK},
	}
	for i, s := range steps {
		code, _, stderr := run(t, append([]string{cookie, af}, s.args...)...)
		require.Equal(t, s.code, code, "%s: %s", s.name, stderr)
		recs, err := audit.Read(file, audit.Filter{})
		require.NoError(t, err)
		require.Len(t, recs, 2*(i+1), s.name)
		end, start := recs[0], recs[1]
		require.Equal(t, audit.Started, start.Outcome, s.name)
		require.Equal(t, s.action, start.Action, s.name)
		require.Equal(t, n.Name, start.Node, s.name)
		for k, v := range s.args0 {
			require.Equal(t, v, start.Args[k], "%s: argument %s", s.name, k)
		}
		require.NotEmpty(t, start.Who)
		require.Equal(t, start.Seq, end.Ref, s.name)
		require.Equal(t, s.action, end.Action, s.name)
		require.Contains(t, end.Outcome, s.outcome, s.name)
	}
	fi, err := os.Stat(file)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	// beamctl audit reads them, filtered.
	code, stdout, stderr := run(t, af, "-o", "json", "audit", "--action", "inspect", "--node", n.Name)
	require.Zero(t, code, stderr)
	var got []audit.Record
	require.NoError(t, json.Unmarshal([]byte(stdout), &got))
	require.Len(t, got, 8, "alloc, app_env, top and metrics")
	require.Equal(t, "inspect.metrics", got[0].Action)
	require.Equal(t, "inspect.alloc", got[7].Action)
	code, stdout, stderr = run(t, "audit", "--file", file, "--action", "eval", "--since", "1h")
	require.Zero(t, code, stderr)
	require.Contains(t, stdout, `expression="lists:sum([1,2,3])"`)
	require.Contains(t, stdout, "ok (of 1)")

	code, stdout, stderr = run(t, "audit", "verify", "--file", file)
	require.Zero(t, code, stderr)
	require.Contains(t, stdout, "OK, 18 records, seq 1 to 18")

	// An edit of the failed eval's record is named.
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	b = bytes.Replace(b, []byte(`erlang:error(boom)`), []byte(`erlang:error(oops)`), 1)
	require.NoError(t, os.WriteFile(file, b, 0o600))
	code, _, stderr = run(t, "audit", "verify", "--file", file)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, file+" has been tampered with: record seq 3 (line 3) was changed: its hash does not match its content")

	code, _, stderr = run(t, "audit", "verify", "--file", file, "--anchor", "3:xyz")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, `--anchor "3:xyz" is not SEQ:HASH`)
}

// TestAuditDefaultFile: without --audit.file the log is in
// $XDG_STATE_HOME/beamctl, in a directory only its user reads.
func TestAuditDefaultFile(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	code, _, stderr := run(t, "--cookie="+n.Cookie, "memory", n.Name)
	require.Zero(t, code, stderr)
	file := filepath.Join(state, "beamctl", "audit.log")
	recs, err := audit.Read(file, audit.Filter{})
	require.NoError(t, err)
	require.Len(t, recs, 2)
	require.Equal(t, "inspect.memory", recs[1].Action)
	fi, err := os.Stat(filepath.Dir(file))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	code, stdout, stderr := run(t, "-o", "json", "audit", "verify")
	require.Zero(t, code, stderr)
	var rep struct {
		OK     bool         `json:"ok"`
		Report audit.Report `json:"report"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	require.True(t, rep.OK)
	require.Equal(t, 2, rep.Report.Records)
}

// TestAuditFromServer reads GET /api/v1/audit of a server (here an HTTP
// server answering as the API does): the filters go as query parameters,
// times in RFC 3339, and the page's records are printed.
func TestAuditFromServer(t *testing.T) {
	var got url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/api/v1/audit", r.URL.Path)
		got = r.URL.Query()
		page := audit.Page{Head: audit.Head{Seq: 2, Hash: "h2"}, Records: []audit.Record{
			{Seq: 2, Time: time.Now(), Who: "alice", Role: "admin", From: "10.0.0.7:5123", Action: "alarm.ack", Outcome: audit.OK, Ref: 1},
			{Seq: 1, Time: time.Now(), Who: "alice", Role: "admin", From: "10.0.0.7:5123", Action: "alarm.ack", Outcome: audit.Started,
				Args: map[string]string{"id": "node_down/a@h"}},
		}}
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": page})
	}))
	defer srv.Close()
	code, stdout, stderr := run(t, "--server", srv.URL, "audit", "--who", "alice", "--action", "alarm", "--since", "2h", "--limit", "5")
	require.Zero(t, code, stderr)
	require.Equal(t, "alice", got.Get("who"))
	require.Equal(t, "alarm", got.Get("action"))
	require.Equal(t, "5", got.Get("limit"))
	since, err := time.Parse(time.RFC3339Nano, got.Get("since"))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(-2*time.Hour), since, time.Minute)
	require.Contains(t, stdout, `started`)
	require.Contains(t, stdout, `id="node_down/a@h"`)
	require.Contains(t, stdout, "ok (of 1)")

	code, _, stderr = run(t, "--server", srv.URL, "audit", "--since", "yesterday")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, `--since: "yesterday" is neither a duration (1h, 7d) nor an RFC 3339 time`)
}
