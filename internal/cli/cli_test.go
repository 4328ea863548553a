package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/erlnode"
	"github.com/beamctl/beamctl/internal/testnode"
)

// run runs the CLI in-process and returns its exit code, stdout and stderr.
func run(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestCommands(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	cookie := "--cookie=" + n.Cookie

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    []string // substrings of stdout
		wantErr    string   // substring of stderr
		jsonFields []string // top-level JSON fields expected in stdout
	}{
		{name: "ping", args: []string{cookie, "ping", n.Name}, wantOut: []string{"pong " + n.Name, "OTP 25"}},
		{name: "ping bare name", args: []string{cookie, "ping", n.Alive}, wantOut: []string{"pong " + n.Name}},
		{name: "ping erl-style flags", args: []string{"-setcookie", n.Cookie, "-sname", "ops_" + n.Alive, "ping", n.Name}, wantOut: []string{"hidden node ops_" + n.Alive + "@"}},
		{
			name: "ping unknown node", args: []string{cookie, "ping", "nosuch_" + n.Alive}, wantCode: 1,
			wantOut: []string{"pang nosuch_" + n.Alive, "node not registered"}, wantErr: "1 of 1 nodes did not answer",
		},
		{name: "ping wrong cookie", args: []string{"--cookie=wrong", "ping", n.Name}, wantCode: 1, wantOut: []string{"the cookie is wrong"}},
		{name: "rpc", args: []string{cookie, "rpc", n.Name, "erlang", "system_info", "[otp_release]"}, wantOut: []string{`"25"`}},
		{name: "rpc term args", args: []string{cookie, "rpc", n.Name, "lists", "reverse", `[[1, {a, <<"b">>}, #{k => v}]]`}, wantOut: []string{`[#{k => v},{a,<<"b">>},1]`}},
		{name: "rpc local pid", args: []string{cookie, "rpc", n.Name, "erlang", "process_info", "[<0.0.0>, registered_name]"}, wantOut: []string{"{registered_name,init}"}},
		{name: "rpc badrpc", args: []string{cookie, "rpc", n.Name, "nosuch", "f"}, wantCode: 1, wantErr: "badrpc: {'EXIT',{undef,"},
		{name: "rpc bad args", args: []string{cookie, "rpc", n.Name, "erlang", "node", "[1,"}, wantCode: 1, wantErr: "ARGS must be an Erlang list"},
		{name: "rpc args not a list", args: []string{cookie, "rpc", n.Name, "erlang", "node", "ok"}, wantCode: 1, wantErr: "expected a list, got atom"},
		{name: "rpc timeout", args: []string{cookie, "--timeout=300ms", "rpc", n.Name, "timer", "sleep", "[5000]"}, wantCode: 1, wantErr: "deadline exceeded (the command's --timeout is 300ms)"},
		{name: "rpc too large", args: []string{cookie, "--max-message-size=1000", "rpc", n.Name, "lists", "seq", "[1, 10000]"}, wantCode: 1, wantErr: "exceeds the maximum message size of 1000 bytes"},
		{name: "rpc json", args: []string{cookie, "-o", "json", "rpc", n.Name, "erlang", "memory"}, jsonFields: []string{"node", "mfa", "result", "text"}},
		{name: "nodes", args: []string{cookie, "nodes", n.Name}, wantOut: []string{n.Name + " ", " self\n", "hidden (this beamctl)"}},
		{name: "nodes json", args: []string{cookie, "-o", "json", "nodes", n.Name}, jsonFields: []string{"node", "visible", "hidden", "beamctl_node"}},
		{name: "ping json", args: []string{cookie, "-o", "json", "ping", n.Name}, wantOut: []string{`"result": "pong"`}},
		{name: "usage error", args: []string{"nosuchcommand"}, wantCode: 2, wantErr: "expected command but got \"nosuchcommand\""},
		{name: "a command's help runs nothing", args: []string{cookie, "stat", n.Name, "--help"}, wantErr: "usage: beamctl stat"},
		{name: "a bound is a usage error", args: []string{cookie, "top", n.Name, "-n", "5000"}, wantCode: 2, wantErr: `n must be a whole number from 1 to 1000, not "5000"`},
		{name: "bad node name", args: []string{cookie, "ping", "a@b@c"}, wantCode: 1, wantOut: []string{"is not of the form name@host"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := run(t, tc.args...)
			require.Equal(t, tc.wantCode, code, "stdout: %s\nstderr: %s", stdout, stderr)
			for _, w := range tc.wantOut {
				require.Contains(t, stdout, w)
			}
			if tc.wantErr != "" {
				require.Contains(t, stderr, tc.wantErr)
			}
			if tc.jsonFields != nil {
				var v map[string]any
				require.NoError(t, json.Unmarshal([]byte(stdout), &v), stdout)
				for _, f := range tc.jsonFields {
					require.Contains(t, v, f)
				}
			}
		})
	}
}

func TestLongNames(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{LongName: true})
	// beamctl picks the long-name style itself, or takes the name given.
	code, stdout, stderr := run(t, "--cookie", n.Cookie, "ping", n.Name)
	require.Zero(t, code, stderr)
	require.Contains(t, stdout, "pong "+n.Name)
	code, stdout, stderr = run(t, "--cookie", n.Cookie, "-name", "ops_"+n.Alive+"@127.0.0.1", "nodes", n.Name)
	require.Zero(t, code, stderr)
	require.Contains(t, stdout, "ops_"+n.Alive+"@127.0.0.1  hidden (this beamctl)")
	code, _, stderr = run(t, "--cookie", n.Cookie, "--name", "nohost", "nodes", n.Name)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "--name nohost needs a host part")
}

func TestRPCJSONValues(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	code, stdout, stderr := run(t, "--cookie", n.Cookie, "-o", "json", "rpc", n.Name, "erlang", "memory")
	require.Zero(t, code, stderr)
	var v struct {
		Result [][]any `json:"result"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &v))
	require.NotEmpty(t, v.Result)
	require.Equal(t, "total", v.Result[0][0])
	require.Greater(t, v.Result[0][1].(float64), float64(1<<20))
}

func TestCookieResolution(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "cookie")
	require.NoError(t, os.WriteFile(file, []byte("fromfile\n"), 0o600))
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	home := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(home, ".erlang.cookie"), []byte("fromhome"), 0o400))
	t.Setenv("HOME", home)

	tests := []struct {
		name    string
		g       globals
		env     string
		want    string
		wantErr string
	}{
		{name: "flag wins", g: globals{cookie: "flag", cookieFile: file}, env: "env", want: "flag"},
		{name: "file", g: globals{cookieFile: file}, env: "env", want: "fromfile"},
		{name: "environment", env: "env", want: "env"},
		{name: "home file", want: "fromhome"},
		{name: "empty file", g: globals{cookieFile: empty}, wantErr: "is empty"},
		{name: "missing file", g: globals{cookieFile: filepath.Join(dir, "nope")}, wantErr: "read cookie file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			osGetenv = func(string) string { return tc.env }
			defer func() { osGetenv = os.Getenv }()
			got, err := resolveCookie(&tc.g)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	testnode.ErlPath(t)
	prefix := erlnode.RandomName("dt")
	const cookie = "demo-cookie-not-shown"
	// Long enough for the demo's backlog to raise its alarm ("within a
	// minute or two", issue 13; about 60 s on an idle machine).
	code, stdout, stderr := run(t, "--cookie", cookie, "demo", "--nodes", "2", "--prefix", prefix, "--duration", "150s",
		"--web.listen-address", "127.0.0.1:0", "--storage.path", t.TempDir())
	require.Zero(t, code, stderr)
	require.NotContains(t, stdout+stderr, cookie, "the demo names its cookie file, not the cookie")
	require.Regexp(t, `beamctl --cookie-file \S+ ping `, stdout)
	require.Contains(t, stdout, "Started 2 OTP nodes")
	require.Contains(t, stdout, "hidden (this beamctl)")
	require.Contains(t, stdout, "Workload running on every node")
	require.Regexp(t, `Prometheus/Grafana data source: http://127\.0\.0\.1:\d+`, stdout)
	require.Regexp(t, `nodes up 2  processes \d+  reductions/s \d+`, stdout, "live figures from the server's store")
	require.Regexp(t, `web UI:  http://127\.0\.0\.1:\d+/ui/`, stdout)
	require.Regexp(t, `alarms [1-9]`, stdout, "the backlog raised process_message_queue")
	require.Contains(t, stdout, "Stopped 2 demo nodes.")
	names, err := erlnode.EpmdNames(context.Background())
	if err == nil {
		require.False(t, names[prefix+"_a"] || names[prefix+"_b"], "no demo node is left behind")
	}
}

// TestCookieFileWarning: a cookie file (--cookie-file or ~/.erlang.cookie)
// that its group or others can read gets a warning naming the file and
// chmod 600, as ssh warns about a private key; the command still runs.
func TestCookieFileWarning(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("ERLANG_COOKIE", "")
	homeCookie := filepath.Join(home, ".erlang.cookie")
	flagCookie := filepath.Join(t.TempDir(), "cookie")
	for _, p := range []string{homeCookie, flagCookie} {
		require.NoError(t, os.WriteFile(p, []byte(n.Cookie), 0o600))
	}
	tests := []struct {
		name string
		file string
		args []string
		mode os.FileMode
		warn bool
	}{
		{"flag 0600", flagCookie, []string{"--cookie-file", flagCookie}, 0o600, false},
		{"flag 0644", flagCookie, []string{"--cookie-file", flagCookie}, 0o644, true},
		{"home 0400", homeCookie, nil, 0o400, false},
		{"home 0640", homeCookie, nil, 0o640, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, os.Chmod(tt.file, tt.mode))
			code, stdout, stderr := run(t, append(tt.args, "ping", n.Name)...)
			require.Zero(t, code, stderr)
			require.Contains(t, stdout, "pong "+n.Name)
			if tt.warn {
				require.Contains(t, stderr, "chmod 600 "+tt.file)
			} else {
				require.NotContains(t, stderr, "chmod")
			}
			require.NotContains(t, stderr, n.Cookie)
		})
	}
}
