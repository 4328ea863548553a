// Package testnode starts real Erlang/OTP nodes for tests and stops them when
// the test ends, also when it fails.
//
// Tests that need Erlang fail (never skip) when erl is missing: the README's
// test command installs it. Node names are random, so tests run in parallel.
package testnode

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/beamctl/beamctl/internal/erlnode"
)

// Options describe a node to start (see erlnode.Spec).
type Options = erlnode.Spec

// Node is a running OTP node owned by a test.
type Node struct {
	*erlnode.Node
	t testing.TB
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

// ShortHost returns the host part of short node names.
func ShortHost() string { return erlnode.ShortHost() }

// Start starts a node with a random name (prefix "bt") unless opts.Name is
// set, and waits until it has booted, run its set-up (opts.Eval) and
// registered in epmd (for a minute unless opts.StartTimeout says
// otherwise). The node is killed when the test ends.
func Start(t testing.TB, opts Options) *Node {
	t.Helper()
	ErlPath(t)
	if opts.Name == "" {
		opts.Name = erlnode.RandomName("bt")
	}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.StartTimeout <= 0 {
		// A VM boots in about a second, but a busy 2-core machine running
		// many test packages can take far longer.
		opts.StartTimeout = time.Minute
	}
	n, err := erlnode.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	tn := &Node{Node: n, t: t}
	t.Cleanup(func() {
		n.Kill()
		if t.Failed() {
			t.Logf("output of node %s:\n%s", n.Name, n.Output())
		}
	})
	return tn
}

// Restart starts the node again under the same name after Kill.
func (n *Node) Restart() {
	n.t.Helper()
	if err := n.Node.Restart(context.Background()); err != nil {
		n.t.Fatal(err)
	}
}

// EpmdNames lists the alive names registered in the local epmd.
func EpmdNames() (map[string]bool, error) { return erlnode.EpmdNames(context.Background()) }

// Eval runs script in a fresh, non-distributed VM (erl -noshell -eval) and
// returns what it printed on stdout. The script must not call halt(); Eval
// appends it. The VM is killed after a minute.
func Eval(t testing.TB, script string, extraArgs ...string) string {
	t.Helper()
	return evalEnv(t, nil, script, extraArgs...)
}

// EvalWithCookie is Eval in a VM that has cookie, for a script that starts
// distribution (extraArgs -sname ...) and talks to nodes: the cookie is
// in a private $HOME/.erlang.cookie, never on the command line (ps).
func EvalWithCookie(t testing.TB, cookie, script string, extraArgs ...string) string {
	t.Helper()
	return evalEnv(t, cookieEnv(t, cookie), script, extraArgs...)
}

// cookieEnv is the environment of an erl that uses cookie: HOME is a
// private directory of the test holding .erlang.cookie.
func cookieEnv(t testing.TB, cookie string) []string {
	t.Helper()
	home, err := erlnode.CookieHome(t.TempDir(), cookie)
	if err != nil {
		t.Fatal(err)
	}
	return append(os.Environ(), "HOME="+home)
}

func evalEnv(t testing.TB, env []string, script string, extraArgs ...string) string {
	t.Helper()
	ErlPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	wrapped := "try\n" + script + "\ncatch C:R:S -> io:format(standard_error, \"eval failed: ~p:~p ~p~n\", [C, R, S]), halt(3) end, halt(0)."
	args := append([]string{"-noshell", "-noinput"}, extraArgs...)
	args = append(args, "-eval", wrapped)
	cmd := exec.CommandContext(ctx, "erl", args...)
	cmd.Env = env
	cmd.Dir = t.TempDir() // where a crash dump would land
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

// FakeTime returns the environment that runs a node with its wall clock
// offset by what the file clock holds (libfaketime's syntax, e.g. "+15s";
// re-read every second, so a test can move the clock of a running node).
// The monotonic clock is left alone: the VM's timers and the distribution
// ticks are not disturbed. The test fails when libfaketime is missing (the
// README's test command installs Debian's faketime).
func FakeTime(t testing.TB, clock string) []string {
	t.Helper()
	libs, _ := filepath.Glob("/usr/lib/*/faketime/libfaketime.so.1")
	if len(libs) == 0 {
		t.Fatal("libfaketime not found: this test needs Debian's faketime package (run `make test`, which installs it)")
	}
	return []string{"LD_PRELOAD=" + libs[0], "FAKETIME_TIMESTAMP_FILE=" + clock, "FAKETIME_CACHE_DURATION=1", "FAKETIME_DONT_FAKE_MONOTONIC=1"}
}

// Shell is a remote shell on a node, typed into by a test from a client
// node (as erl -remsh does: rpc:call(Node, shell, start, []) from a node
// that reads its standard input; OTP 25's -remsh ignores a stdin that is
// not a terminal).
type Shell struct {
	// Client is the client node's full name: where the user typed.
	Client string
	stdin  io.WriteCloser
	out    *erlnode.SyncBuffer
}

// Output is what the client node has printed so far.
func (s *Shell) Output() string { return s.out.String() }

// RemoteShell starts a client node named prefix plus a random number
// with a shell on n. Its input stays open until the test ends: at its end
// the shell would halt n.
func RemoteShell(t testing.TB, n *Node, prefix string) *Shell {
	t.Helper()
	alive := erlnode.RandomName(prefix)
	cmd := exec.Command("erl", "-sname", alive, "-noshell", "-eval",
		"rpc:call('"+n.Name+"', shell, start, []), timer:sleep(infinity).")
	cmd.Env = cookieEnv(t, n.Cookie) // Not -setcookie: ps shows command lines.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &Shell{Client: alive + "@" + ShortHost(), stdin: stdin, out: &erlnode.SyncBuffer{}}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start a remote shell client: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("remote shell %s on %s:\n%s", s.Client, n.Name, s.out.String())
		}
	})
	return s
}

// Type writes lines into the shell, as a user would type them.
func (s *Shell) Type(t testing.TB, lines string) {
	t.Helper()
	if _, err := io.WriteString(s.stdin, lines); err != nil {
		t.Fatalf("type into the remote shell: %v", err)
	}
}
