package dist

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// NameSlots is how many node names one user's beamctl processes use on one
// host, for the command line and for servers each. A node's atom table
// never forgets a name, so beamctl does not invent a new one per run: it
// takes the first free name of a small fixed set, and 10,000 runs add at
// most NameSlots atoms to a node.
const NameSlots = 16

// NameLock is a node name that this process holds: no other beamctl process
// of the same user on this host uses it until Release. It is an flock on a
// file in a directory only the user can reach, so a process that dies
// releases its name with it.
type NameLock struct {
	// Alive is the name's part before the @ (Options.Alive).
	Alive string
	f     *os.File
}

// Release gives the name back.
func (l *NameLock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the file drops the flock
	l.f = nil
	return err
}

// LockName takes the first free name of kind's set: beamctl_<user>_<N> for
// kind "" (the command line) and beamctl_<user>_<kind><N> otherwise (e.g.
// "srv" for beamctl serve), N from 0 to NameSlots-1. When every name is
// held by other processes it waits for one until ctx ends.
func LockName(ctx context.Context, kind string) (*NameLock, error) {
	dir, err := lockDir()
	if err != nil {
		return nil, err
	}
	prefix := "beamctl_" + userPart() + "_"
	if kind != "" {
		prefix += kind
	}
	for {
		for n := range NameSlots {
			alive := prefix + strconv.Itoa(n)
			f, err := os.OpenFile(filepath.Join(dir, alive+".lock"), os.O_RDWR|os.O_CREATE, 0o600)
			if err != nil {
				return nil, fmt.Errorf("node name lock: %w", err)
			}
			err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
			if err == nil {
				return &NameLock{Alive: alive, f: f}, nil
			}
			_ = f.Close()
			if !errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, fmt.Errorf("node name lock %s: %w", alive, err)
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("all %d node names %s0 to %s%d are in use by other beamctl processes of this user on this host; "+
				"wait for one to end, or give --sname: %w", NameSlots, prefix, prefix, NameSlots-1, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// lockDir is a directory only this user can use: $XDG_RUNTIME_DIR/beamctl,
// else <tmp>/beamctl-<uid>, created with mode 0700 and refused when it
// belongs to someone else or others can write to it.
func lockDir() (string, error) {
	dir := filepath.Join(os.TempDir(), "beamctl-"+strconv.Itoa(os.Getuid()))
	if x := os.Getenv("XDG_RUNTIME_DIR"); x != "" {
		dir = filepath.Join(x, "beamctl")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("node name lock directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", fmt.Errorf("node name lock directory: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return "", fmt.Errorf("node name lock directory %s is not a directory", dir)
	case ok && int(st.Uid) != os.Getuid():
		return "", fmt.Errorf("node name lock directory %s belongs to another user", dir)
	case fi.Mode().Perm()&0o022 != 0:
		return "", fmt.Errorf("node name lock directory %s is writable by others; make it mode 0700", dir)
	}
	return dir, nil
}

// userPart is the user name as a node name allows it (letters, digits, _
// and -), or u<uid> when the name has other characters.
func userPart() string {
	u, err := user.Current()
	if err != nil || u.Username == "" || len(u.Username) > 32 || strings.IndexFunc(u.Username, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}) >= 0 {
		return "u" + strconv.Itoa(os.Getuid())
	}
	return u.Username
}

// liveNames holds this process's connections (and dials) by "self peer",
// so that a name is taken over in a handshake only from a process that
// ended.
var liveNames = nameSet{m: map[string]map[*Conn]bool{}, dialing: map[string]int{}}

type nameSet struct {
	mu      sync.Mutex
	m       map[string]map[*Conn]bool
	dialing map[string]int
}

// dial reports whether a connection of key is open or being made, and
// counts this one as being made until done is called.
func (s *nameSet) dial(k string) (inUse bool, done func()) {
	inUse = s.has(k)
	s.mu.Lock()
	inUse = inUse || s.dialing[k] > 0
	s.dialing[k]++
	s.mu.Unlock()
	return inUse, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.dialing[k]--; s.dialing[k] <= 0 {
			delete(s.dialing, k)
		}
	}
}

// has reports whether a connection of key is still open.
func (s *nameSet) has(k string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.m[k] {
		select {
		case <-c.done:
		default:
			return true
		}
	}
	return false
}

func (s *nameSet) add(k string, c *Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[k] == nil {
		s.m[k] = map[*Conn]bool{}
	}
	s.m[k][c] = true
}

func (s *nameSet) remove(k string, c *Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m[k], c)
	if len(s.m[k]) == 0 {
		delete(s.m, k)
	}
}
