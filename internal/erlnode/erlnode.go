// Package erlnode starts and stops local Erlang/OTP nodes (erl processes).
// The demo cluster and the tests use it; beamctl never starts nodes it
// manages in production.
package erlnode

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrNoErlang means erl is not on PATH.
var ErrNoErlang = errors.New("erl not found on PATH: install Erlang/OTP (Debian: apt-get install erlang-nox)")

// Spec describes a node to start.
type Spec struct {
	// Name is the node's alive name (the part before @). Empty picks a
	// random name with prefix "node".
	Name string
	// Cookie is the node's cookie. Empty picks a random one.
	Cookie string
	// LongName starts the node with -name NAME@127.0.0.1 instead of -sname.
	LongName bool
	// Args are extra arguments for erl.
	Args []string
	// Eval is an expression evaluated at start (erl -eval): the test's or
	// demo's set-up. Start returns once it has returned, so it must not
	// block; a set-up that fails halts the node and Start returns the error.
	Eval string
	// StartTimeout bounds the wait for the node to boot, run Eval and
	// register in epmd (default 20s).
	StartTimeout time.Duration
	// Dir is the node's working directory (where erl_crash.dump lands).
	Dir string
	// Env adds to the node's environment (e.g. TZ=UTC-9).
	Env []string
}

// Node is a running erl process.
type Node struct {
	Name   string // full node name, e.g. a@vm
	Alive  string
	Host   string
	Cookie string

	spec   Spec
	home   string // the node's $HOME, holding its .erlang.cookie
	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	output SyncBuffer
}

// RandomName returns prefix followed by random hex digits.
func RandomName(prefix string) string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// ShortHost returns the host part of short node names (like `hostname -s`).
func ShortHost() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	h, _, _ = strings.Cut(h, ".")
	return h
}

// Start starts a node and waits until it has booted, run spec.Eval and
// registered in epmd.
func Start(ctx context.Context, spec Spec) (*Node, error) {
	if _, err := exec.LookPath("erl"); err != nil {
		return nil, ErrNoErlang
	}
	if spec.Name == "" {
		spec.Name = RandomName("node")
	}
	if spec.Cookie == "" {
		spec.Cookie = RandomName("cookie")
	}
	if spec.StartTimeout <= 0 {
		spec.StartTimeout = 20 * time.Second
	}
	n := &Node{Alive: spec.Name, Cookie: spec.Cookie, spec: spec, Host: ShortHost()}
	if spec.LongName {
		n.Host = "127.0.0.1"
	}
	n.Name = n.Alive + "@" + n.Host
	if err := n.start(ctx); err != nil {
		return nil, fmt.Errorf("start node %s: %w", n.Name, err)
	}
	return n, nil
}

func (n *Node) args() []string {
	flag, name := "-sname", n.Alive
	if n.spec.LongName {
		flag, name = "-name", n.Name
	}
	// No -setcookie: a command line is visible to every user (ps); erl
	// reads the cookie from $HOME/.erlang.cookie (see CookieHome).
	args := []string{flag, name, "-noshell", "-noinput"}
	args = append(args, n.spec.Args...)
	// The -eval expressions run in order, in one process, once the boot
	// script is done (a node is reachable earlier, before kernel_refc and
	// others run). The marker comes after the spec's own set-up, so that
	// Start returns only when the set-up has run: a test must not find
	// its node half set up.
	if n.spec.Eval != "" {
		args = append(args, "-eval", n.spec.Eval)
	}
	args = append(args, "-eval", `io:format("~s~n", ["`+bootedMarker+`"])`)
	return args
}

// bootedMarker is what a node prints when its boot and its spec's set-up
// (Eval) are complete.
const bootedMarker = "erlnode: booted"

func (n *Node) start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	from := len(n.Output())
	home, err := CookieHome(n.spec.Dir, n.Cookie)
	if err != nil {
		return err
	}
	n.home = home
	cmd := exec.Command("erl", n.args()...)
	cmd.Env = append(os.Environ(), "HOME="+home)
	cmd.Env = append(cmd.Env, n.spec.Env...)
	cmd.Dir = n.spec.Dir
	cmd.Stdout = &n.output
	cmd.Stderr = &n.output
	// A process group of its own: Kill takes beam.smp and any port
	// programs with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run erl: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	n.cmd, n.done = cmd, done

	ctx, cancel := context.WithTimeout(ctx, n.spec.StartTimeout)
	defer cancel()
	for {
		select {
		case <-done:
			_ = os.RemoveAll(home)
			return fmt.Errorf("erl exited before its boot and set-up completed; output:\n%s", n.Output())
		case <-ctx.Done():
			n.killLocked()
			return fmt.Errorf("node did not boot, run its set-up and register in epmd within %s: %w; output:\n%s", n.spec.StartTimeout, ctx.Err(), n.Output())
		case <-time.After(50 * time.Millisecond):
		}
		if !strings.Contains(n.Output()[from:], bootedMarker) {
			continue
		}
		if names, err := EpmdNames(ctx); err == nil && names[n.Alive] {
			return nil
		}
	}
}

// Output returns what the node printed so far.
func (n *Node) Output() string { return n.output.String() }

// Kill kills the node with SIGKILL (like kill -9) and waits until it is gone.
func (n *Node) Kill() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.killLocked()
}

func (n *Node) killLocked() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
	}
	n.cmd = nil
	if n.home != "" {
		_ = os.RemoveAll(n.home)
		n.home = ""
	}
}

// CookieHome makes a private home directory (mode 0700) in dir (the
// system's temporary directory if empty) holding .erlang.cookie (mode
// 0400) with cookie, and returns its path. An erl started with HOME set to
// it uses that cookie without -setcookie, whose value every user of the
// machine could read in ps (-args_file does not help: erlexec expands it
// into beam.smp's command line). The caller removes it.
func CookieHome(dir, cookie string) (string, error) {
	home, err := os.MkdirTemp(dir, "erlhome-") // MkdirTemp makes it 0700.
	if err != nil {
		return "", fmt.Errorf("make a home directory for the cookie: %w", err)
	}
	if err := os.WriteFile(filepath.Join(home, ".erlang.cookie"), []byte(cookie), 0o400); err != nil {
		_ = os.RemoveAll(home)
		return "", fmt.Errorf("write the cookie file: %w", err)
	}
	return home, nil
}

// Env is the environment of a client erl for this node (erl -remsh, an
// erl -eval that connects to it): HOME with a copy of the node's cookie.
// The directory is removed when the node is killed.
func (n *Node) Env() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append(os.Environ(), "HOME="+n.home)
}

// Restart starts a killed node again under the same name.
func (n *Node) Restart(ctx context.Context) error {
	// epmd drops the name when the node's epmd connection closes; wait.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if names, err := EpmdNames(ctx); err == nil && !names[n.Alive] {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := n.start(ctx); err != nil {
		return fmt.Errorf("restart node %s: %w", n.Name, err)
	}
	return nil
}

// EpmdNames lists the alive names registered in the local epmd.
func EpmdNames(ctx context.Context) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "epmd", "-names").Output()
	if err != nil {
		return nil, fmt.Errorf("epmd -names: %w", err)
	}
	names := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		// "name foo at port 12345"
		if f := strings.Fields(line); len(f) >= 5 && f[0] == "name" {
			names[f[1]] = true
		}
	}
	return names, nil
}

// SyncBuffer is a bytes.Buffer that one goroutine (exec's copier of a
// node's output) writes while another reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
