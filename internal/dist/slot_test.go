package dist

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/testnode"
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

// TestNameTakeOver: a name this process holds (Options.Alive) takes over
// the node's connection under that name when it is not one of this
// process's open connections (here, one the test disowns, as a process
// that ended leaves it), and never one of its own.
func TestNameTakeOver(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	alive := "beamctl_takeover"
	first := dial(t, n, Options{Alive: alive})
	// A second connection under the name, while the first is ours: refused.
	_, err := Dial(context.Background(), n.Name, Options{Cookie: n.Cookie, Alive: alive})
	require.ErrorIs(t, err, ErrNameInUse)
	require.NoError(t, first.Err())
	// The first now counts as another process's: taken over.
	liveNames.remove(first.Self()+" "+n.Name, first)
	second := dial(t, n, Options{Alive: alive})
	require.Equal(t, first.Self(), second.Self())
	select {
	case <-first.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the node did not drop the old connection")
	}
	r, err := second.Call(context.Background(), "erlang", "node")
	require.NoError(t, err)
	require.Equal(t, etf.Atom(n.Name), r)
}
