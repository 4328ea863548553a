package dist

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLockName: names held at once differ, a released name is taken
// again, and when all are held a caller waits, then fails with a sentence.
func TestLockName(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", dir)
	ctx := context.Background()
	var held []*NameLock
	seen := map[string]bool{}
	for range NameSlots {
		l, err := LockName(ctx, "")
		require.NoError(t, err)
		require.False(t, seen[l.Alive], "%s given twice", l.Alive)
		seen[l.Alive] = true
		_, err = ParseNodeName(l.Alive + "@host")
		require.NoError(t, err)
		held = append(held, l)
	}
	srv, err := LockName(ctx, "srv") // the server's set is another
	require.NoError(t, err)
	require.False(t, seen[srv.Alive])
	require.NoError(t, srv.Release())

	wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err = LockName(wctx, "")
	require.ErrorContains(t, err, "node names")
	require.ErrorContains(t, err, "are in use by other beamctl processes of this user on this host")

	require.NoError(t, held[3].Release())
	l, err := LockName(ctx, "")
	require.NoError(t, err)
	require.Equal(t, held[3].Alive, l.Alive)

	fi, err := os.Stat(filepath.Join(dir, "beamctl"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
}

// TestLockDirRefused: a lock directory others can write to is refused.
func TestLockDirRefused(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", dir)
	require.NoError(t, os.Mkdir(filepath.Join(dir, "beamctl"), 0o700))
	require.NoError(t, os.Chmod(filepath.Join(dir, "beamctl"), 0o777))
	_, err := LockName(context.Background(), "")
	require.ErrorContains(t, err, "is writable by others")
}
