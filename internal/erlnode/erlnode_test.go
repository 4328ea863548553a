package erlnode

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// requireErl fails the test (never skips) when erl is missing.
func requireErl(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("erl"); err != nil {
		t.Fatalf("erl not found on PATH: this test needs Erlang/OTP (run `make test`, which installs erlang-nox): %v", err)
	}
}

// TestStartWaitsForSetUp checks that Start returns only once the spec's
// set-up has run, also when it takes a while: the set-up writes a file
// after 1.5 s, and the file must be there when Start returns.
func TestStartWaitsForSetUp(t *testing.T) {
	requireErl(t)
	dir := t.TempDir()
	n, err := Start(context.Background(), Spec{
		Name: RandomName("setup"), Dir: dir,
		Eval: `timer:sleep(1500), ok = file:write_file("setup_done", <<"ok">>)`,
	})
	require.NoError(t, err)
	defer n.Kill()
	data, err := os.ReadFile(filepath.Join(dir, "setup_done"))
	require.NoError(t, err, "Start returned before the set-up had run; output:\n%s", n.Output())
	require.Equal(t, "ok", string(data))
}

// TestStartFailedSetUp checks that a set-up that fails is Start's error,
// with the node's output, not a node half set up.
func TestStartFailedSetUp(t *testing.T) {
	requireErl(t)
	_, err := Start(context.Background(), Spec{
		Name: RandomName("setup"), Dir: t.TempDir(), StartTimeout: time.Minute,
		Eval: `ok = file:read_file("/nonexistent/beamctl")`,
	})
	require.Error(t, err)
	require.Contains(t, err.Error(), "before its boot and set-up completed")
	require.Contains(t, err.Error(), "badmatch")
}

// TestCookieNotOnCommandLine starts a node as the demo does and reads the
// command lines of its processes (erl, erlexec, beam.smp): no cookie. The
// cookie is in a private home (0700) holding .erlang.cookie (0400), removed
// when the node is killed.
func TestCookieNotOnCommandLine(t *testing.T) {
	requireErl(t)
	const cookie = "demo-cookie-7f3a9c"
	n, err := Start(context.Background(), Spec{Name: RandomName("cookie"), Cookie: cookie})
	require.NoError(t, err)
	defer n.Kill()
	paths, err := filepath.Glob("/proc/[0-9]*/cmdline")
	require.NoError(t, err)
	var lines []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if line := strings.ReplaceAll(string(b), "\x00", " "); err == nil && strings.Contains(line, n.Alive) {
			lines = append(lines, line)
		}
	}
	require.Contains(t, strings.Join(lines, "\n"), "beam.smp", "the VM's command line was read")
	for _, l := range lines {
		require.NotContains(t, l, cookie)
	}
	home := n.home
	st, err := os.Stat(home)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	st, err = os.Stat(filepath.Join(home, ".erlang.cookie"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o400), st.Mode().Perm())
	n.Kill()
	_, err = os.Stat(home)
	require.ErrorIs(t, err, os.ErrNotExist, "the cookie's home is removed with the node")
}
