package capture

import (
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/testnode"
)

// TestFetchCrashDump crashes a node with erlang:halt/1 (which writes a
// crash dump), restarts it, and fetches the dump through it.
func TestFetchCrashDump(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	none, err := FetchCrashDump(ctx, c, "", t.TempDir())
	require.NoError(t, err)
	require.Nil(t, none, "no dump yet")
	// A registered process with a long queue, to find in the dump.
	pid, err := c.Call(ctx, "erlang", "spawn", etf.Atom("timer"), etf.Atom("sleep"), etf.List{etf.Atom("infinity")})
	require.NoError(t, err)
	_, err = c.Call(ctx, "erlang", "register", etf.Atom("dump_test_queue"), pid)
	require.NoError(t, err)
	pids, msgs := make(etf.List, 300), make(etf.List, 300)
	for i := range pids {
		pids[i], msgs[i] = pid, int64(i)
	}
	_, err = c.Call(ctx, "lists", "zipwith", etf.Export{Module: "erlang", Function: "send", Arity: 2}, pids, msgs)
	require.NoError(t, err)
	_, _ = c.Call(ctx, "erlang", "halt", etf.String("boom from the test"))
	c.Close()
	n.Restart()

	c, err = dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	defer c.Close()
	dir := filepath.Join(t.TempDir(), "crashdumps")
	d, err := FetchCrashDump(ctx, c, "", dir)
	require.NoError(t, err)
	require.NotNil(t, d)
	require.Equal(t, "boom from the test", d.Slogan)
	require.NotEmpty(t, d.Written)
	require.Greater(t, d.Size, int64(1000))
	require.Equal(t, "dump_test_queue", d.TopQueue[0].Name)
	require.GreaterOrEqual(t, d.TopQueue[0].Queue, int64(300))
	require.NotEmpty(t, d.TopMemory)

	// Stored compressed, byte for byte; renamed on the node.
	f, err := os.Open(d.Stored)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	stored, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Equal(t, d.Size, int64(len(stored)))
	require.True(t, strings.HasPrefix(string(stored), "=erl_crash_dump:"))
	// It holds the cookie: stored for this user only.
	require.Contains(t, string(stored), n.Cookie)
	st, err := os.Stat(d.Stored)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "the stored dump")
	st, err = os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), st.Mode().Perm(), "the dumps' directory")
	onNode, err := os.ReadFile(d.RenamedTo) // the node runs on this host
	require.NoError(t, err)
	require.Equal(t, stored, onNode)
	_, err = os.Stat(filepath.Join(filepath.Dir(d.RenamedTo), "erl_crash.dump"))
	require.True(t, os.IsNotExist(err), "renamed, so fetched once")
	again, err := FetchCrashDump(ctx, c, "", dir)
	require.NoError(t, err)
	require.Nil(t, again)
}
