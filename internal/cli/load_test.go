package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/testnode"
)

// compileVersion compiles module hotmod returning version v and looping in
// a receive, so a process can linger in its code.
func compileVersion(t *testing.T, v int) string {
	t.Helper()
	src := fmt.Sprintf("-module(hotmod).\n-export([version/0, loop/0]).\nversion() -> %d.\nloop() -> receive _ -> loop() end.\n", v)
	dir := testnode.Compile(t, "hotmod", src)
	return filepath.Join(dir, "hotmod.beam")
}

func TestLoad(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	cookie := "--cookie=" + n.Cookie
	v1, v2, v3 := compileVersion(t, 1), compileVersion(t, 2), compileVersion(t, 3)
	md5 := regexp.MustCompile(`md5 after:  ([0-9a-f]{32})`)

	code, stdout, stderr := run(t, cookie, "load", n.Name, "--beam", v1)
	require.Zero(t, code, stderr)
	require.Contains(t, stdout, "md5 before: (not loaded)")
	require.Regexp(t, md5, stdout)
	code, stdout, _ = run(t, cookie, "rpc", n.Name, "hotmod", "version")
	require.Zero(t, code)
	require.Equal(t, "1\n", stdout)

	// A process sits in v1's receive loop; loading v2 makes v1 old code.
	code, stdout, stderr = run(t, cookie, "rpc", n.Name, "erlang", "spawn", "[hotmod, loop, []]")
	require.Zero(t, code, stderr)
	pid := stdout[:len(stdout)-1]
	code, _, stderr = run(t, cookie, "load", n.Name, "--beam", v2)
	require.Zero(t, code, stderr)

	// The dry run shows the old code and who runs it, and changes nothing.
	var plans []struct {
		OldCode   bool     `json:"old_code"`
		Lingering []string `json:"lingering"`
		MD5Before string   `json:"md5_before"`
		MD5New    string   `json:"md5_new"`
	}
	code, stdout, stderr = run(t, cookie, "-o", "json", "load", n.Name, "--beam", v3, "--dry-run")
	require.Zero(t, code, stderr)
	require.NoError(t, json.Unmarshal([]byte(stdout), &plans))
	require.True(t, plans[0].OldCode)
	require.Equal(t, []string{pid}, plans[0].Lingering)
	require.NotEqual(t, plans[0].MD5Before, plans[0].MD5New)

	// Without --force the lingering process blocks the load.
	code, _, stderr = run(t, cookie, "load", n.Name, "--beam", v3, "--purge-wait", "300ms")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "1 processes still run the old code of hotmod")
	require.Contains(t, stderr, "use --force")
	code, stdout, _ = run(t, cookie, "rpc", n.Name, "hotmod", "version")
	require.Zero(t, code)
	require.Equal(t, "2\n", stdout, "nothing was loaded")

	// --force kills it, says so, and loads v3.
	code, stdout, stderr = run(t, cookie, "load", n.Name, "--beam", v3, "--purge-wait", "300ms", "--force")
	require.Zero(t, code, stderr)
	require.Contains(t, stdout, "killed (lingering in old code): "+pid)
	require.Regexp(t, md5, stdout)
	require.Equal(t, plans[0].MD5New, md5.FindStringSubmatch(stdout)[1], "md5 after is v3's")
	code, stdout, _ = run(t, cookie, "rpc", n.Name, "erlang", "is_process_alive", "["+pid+"]")
	require.Zero(t, code)
	require.Equal(t, "false\n", stdout)
	code, stdout, _ = run(t, cookie, "rpc", n.Name, "hotmod", "version")
	require.Zero(t, code)
	require.Equal(t, "3\n", stdout)

	log, err := os.ReadFile(filepath.Join(os.Getenv("XDG_STATE_HOME"), "beamctl", "audit.log"))
	require.NoError(t, err)
	require.Contains(t, string(log), `"action":"load"`)
}
