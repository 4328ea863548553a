// Package testnode starts real Erlang/OTP nodes for tests and stops them when
// the test ends, also when it fails.
//
// Tests that need Erlang fail (never skip) when erl is missing: the README's
// test command installs it. Node names are random, so tests run in parallel.
package testnode

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
	"testing"
	"time"
)

// Options describe a node to start.
type Options struct {
	// Name is the node's alive name (the part before @). Empty picks a free
	// random name.
	Name string
	// Cookie is the node's cookie. Empty picks a random cookie.
	Cookie string
	// LongName starts the node with -name NAME@127.0.0.1 instead of -sname.
	LongName bool
	// Args are extra arguments for erl (e.g. -proto_dist, -pa).
	Args []string
	// Eval is an expression evaluated at start (erl -eval).
	Eval string
}

// Node is a running OTP node owned by a test.
type Node struct {
	// Name is the full node name, e.g. bt1a2b3c@vm.
	Name string
	// Alive is the part before @.
	Alive string
	// Host is the part after @.
	Host string
	// Cookie is the node's cookie.
	Cookie string

	t    testing.TB
	opts Options

	mu     sync.Mutex
	cmd    *exec.Cmd
	output *bytes.Buffer
	done   chan struct{}
}

// ErlPath returns the path of erl, failing the test when it is missing.
func ErlPath(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("erl")
	if err != nil {
		t.Fatalf("erl not found on PATH: this test needs Erlang/OTP (run `make test`, which installs erlang-nox): %v", err)
	}
	return p
}

// ShortHost returns the host part of short node names (like `hostname -s`).
func ShortHost() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	if i := strings.IndexByte(h, '.'); i >= 0 {
		h = h[:i]
	}
	return h
}

// RandomName returns a fresh name with the given prefix.
func RandomName(prefix string) string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Start starts a node and waits until it is registered in epmd. The node is
// killed when the test ends.
func Start(t testing.TB, opts Options) *Node {
	t.Helper()
	ErlPath(t)
	if opts.Name == "" {
		opts.Name = RandomName("bt")
	}
	if opts.Cookie == "" {
		opts.Cookie = RandomName("cookie")
	}
	n := &Node{Alive: opts.Name, Cookie: opts.Cookie, t: t, opts: opts}
	if opts.LongName {
		n.Host = "127.0.0.1"
	} else {
		n.Host = ShortHost()
	}
	n.Name = n.Alive + "@" + n.Host
	if err := n.start(); err != nil {
		t.Fatalf("start node %s: %v", n.Name, err)
	}
	t.Cleanup(n.Stop)
	return n
}

func (n *Node) args() []string {
	flag := "-sname"
	name := n.Alive
	if n.opts.LongName {
		flag, name = "-name", n.Name
	}
	args := []string{flag, name, "-setcookie", n.Cookie, "-noshell", "-noinput"}
	args = append(args, n.opts.Args...)
	if n.opts.Eval != "" {
		args = append(args, "-eval", n.opts.Eval)
	}
	return args
}

func (n *Node) start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	cmd := exec.Command("erl", n.args()...)
	out := &bytes.Buffer{}
	cmd.Stdout = &lockedWriter{w: out}
	cmd.Stderr = cmd.Stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run erl: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	n.cmd, n.output, n.done = cmd, out, done

	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("erl exited before registering in epmd; output:\n%s", n.Output())
		default:
		}
		if names, err := EpmdNames(); err == nil && names[n.Alive] {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.killLocked()
	return fmt.Errorf("node did not register in epmd within 20s; output:\n%s", n.Output())
}

// Output returns what the node printed so far.
func (n *Node) Output() string {
	if n.output == nil {
		return ""
	}
	return (&lockedWriter{w: n.output}).String()
}

// Kill kills the node's OS process with SIGKILL and waits until it is gone.
func (n *Node) Kill() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.killLocked()
}

func (n *Node) killLocked() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	// Kill the process group: erl is a shell script that execs beam.smp,
	// and heart or port programs must not outlive the test.
	_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
	}
	n.cmd = nil
}

// Restart starts the node again under the same name after Kill.
func (n *Node) Restart() {
	n.t.Helper()
	// epmd drops the name when the node's epmd connection closes; wait for it.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if names, err := EpmdNames(); err == nil && !names[n.Alive] {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := n.start(); err != nil {
		n.t.Fatalf("restart node %s: %v", n.Name, err)
	}
}

// Stop kills the node. It is safe to call more than once.
func (n *Node) Stop() {
	n.Kill()
	if n.t.Failed() && n.output != nil {
		n.t.Logf("output of node %s:\n%s", n.Name, n.Output())
	}
}

// EpmdNames lists the alive names registered in the local epmd.
func EpmdNames() (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "epmd", "-names").Output()
	if err != nil {
		return nil, fmt.Errorf("epmd -names: %w", err)
	}
	names := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		// "name foo at port 12345"
		f := strings.Fields(line)
		if len(f) >= 5 && f[0] == "name" {
			names[f[1]] = true
		}
	}
	return names, nil
}

// Eval runs script in a fresh, non-distributed VM (erl -noshell -eval) and
// returns what it printed on stdout. The script must not call halt(); Eval
// appends it. The VM is killed after timeout.
func Eval(t testing.TB, script string, extraArgs ...string) string {
	t.Helper()
	ErlPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	wrapped := "try\n" + script + "\ncatch C:R:S -> io:format(standard_error, \"eval failed: ~p:~p ~p~n\", [C, R, S]), halt(3) end, halt(0)."
	args := append([]string{"-noshell", "-noinput"}, extraArgs...)
	args = append(args, "-eval", wrapped)
	cmd := exec.CommandContext(ctx, "erl", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) || ctx.Err() != nil {
			t.Fatalf("erl -eval failed: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
		}
		t.Fatalf("run erl: %v", err)
	}
	return stdout.String()
}

// WriteFile writes data into the test's temp dir and returns the path.
func WriteFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatalf("write %s: %v", p, err)
	}
	return p
}

// lockedWriter serialises writes of erl's stdout/stderr with reads by Output.
type lockedWriter struct {
	w *bytes.Buffer
}

var outputMu sync.Mutex

func (l *lockedWriter) Write(p []byte) (int, error) {
	outputMu.Lock()
	defer outputMu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	outputMu.Lock()
	defer outputMu.Unlock()
	return l.w.String()
}
