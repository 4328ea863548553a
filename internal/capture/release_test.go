package capture

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/testnode"
)

// TestReleaseChecks damages a running node's sys.config (a control
// character, as a power cut leaves) and puts one module in two code path
// directories.
func TestReleaseChecks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sysConfig := filepath.Join(dir, "sys.config")
	require.NoError(t, os.WriteFile(sysConfig, []byte("[{kernel, [{logger_level, notice}]}].\n"), 0o600))
	n := testnode.Start(t, testnode.Options{Args: []string{"-config", sysConfig}})
	ctx := context.Background()
	c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	defer c.Close()

	problems, err := CheckReleaseFiles(ctx, c)
	require.NoError(t, err)
	require.Empty(t, problems, "a healthy node")
	require.NoError(t, os.WriteFile(sysConfig, []byte("[{kernel, [{logger_level, \x00notice}]}].\n"), 0o600))
	problems, err = CheckReleaseFiles(ctx, c)
	require.NoError(t, err)
	require.Equal(t, map[string]string{sysConfig: "holds control characters"}, problems)
	require.NoError(t, os.WriteFile(sysConfig, []byte("[{kernel, [{logger_level, notice}]}"), 0o600))
	problems, err = CheckReleaseFiles(ctx, c)
	require.NoError(t, err)
	require.Contains(t, problems[sysConfig], "does not parse")

	clashes, err := ModuleClashes(ctx, c)
	require.NoError(t, err)
	require.Empty(t, clashes, "OTP as Debian ships it")
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, d := range []string{a, b} {
		require.NoError(t, os.MkdirAll(d, 0o750))
		_, err := inspect.EvalWith(ctx, c, `
Forms = [begin {ok, T, _} = erl_scan:string(S), {ok, F} = erl_parse:parse_form(T), F end
         || S <- ["-module(clashing_mod).", "-export([v/0]).", "v() -> 1."]],
{ok, _, Bin} = compile:forms(Forms, [binary]),
ok = file:write_file(filename:join(Dir, "clashing_mod.beam"), Bin),
code:add_pathz(Dir).`, map[string]etf.Term{"Dir": etf.String(d)})
		require.NoError(t, err)
	}
	clashes, err = ModuleClashes(ctx, c)
	require.NoError(t, err)
	require.Equal(t, map[string][]string{"clashing_mod": {a, b}}, clashes)
}
