// Package inspect implements the live-node debugging tools (ectl's pi, top,
// memory, eval, ...) on top of a Conn (a *dist.Conn). Every function does its
// work on the managed node in as few round trips as it can and ships back
// only the result; every scan of all processes is bounded by a top-N. The
// registry (registry.go) describes the tools, their parameters and what they
// may change on a node, for the command line and the HTTP API alike.
package inspect

import (
	"context"
	"fmt"
	"strings"

	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/termtext"
)

// Conn is what the tools need of a connection to a node; *dist.Conn is one.
// A connection's identity matters: the agent is loaded once per Conn, which
// is forgotten when Done is closed.
type Conn interface {
	// Node is the peer's node name.
	Node() string
	// Pid is the connection's own process on the client side.
	Pid() etf.Pid
	// Call runs Module:Function(Args...) on the node.
	Call(ctx context.Context, module, function string, args ...etf.Term) (etf.Term, error)
	// Send sends msg to a pid or registered name on the node.
	Send(ctx context.Context, to, msg etf.Term) error
	// Done is closed when the connection is gone.
	Done() <-chan struct{}
}

// text prints a term as Erlang would, with pids of node as <0.X.Y>.
func text(t etf.Term, node string) string {
	return termtext.FormatWith(t, termtext.Options{LocalNode: etf.Atom(node)})
}

// mfaText prints {M, F, A} as M:F/A (A may be an arity or an argument list).
func mfaText(t etf.Term, node string) string {
	tup, err := etf.ToTuple(t, 3)
	if err != nil {
		return text(t, node)
	}
	arity := tup[2]
	if l, err := etf.ToList(arity); err == nil {
		arity = int64(len(l))
	}
	return fmt.Sprintf("%s:%s/%s", text(tup[0], node), text(tup[1], node), text(arity, node))
}

// RegName is a registered name as the user gave it. It is resolved on the
// node without creating an atom (resolvePid): it never goes to a node as an
// atom, since any atom in a distribution message is created on the node
// that decodes it, and atoms are never collected.
type RegName string

// ParsePid reads a process given as <0.54.0>, 0.54.0, 54 (meaning
// <0.54.0>, as ectl does), <'node@host'.54.0> of node itself, Elixir's
// #PID<0.54.0>, or a registered name (Erlang's my_server, Elixir's
// MyApp.Worker or :my_server). A name is returned as a RegName for the caller to
// resolve; a pid of another node is refused, for its node name would be a
// new atom on node.
func ParsePid(s, node string) (etf.Term, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("empty process")
	}
	if a, ok := ElixirAtom(s); ok { // MyApp.Worker, :name
		return RegName(a), nil
	}
	s = strings.TrimPrefix(s, "#PID") // Elixir's #PID<0.109.0>
	switch {
	case strings.HasPrefix(s, "<"):
	case s[0] >= '0' && s[0] <= '9' && strings.Count(s, ".") == 2:
		s = "<" + s + ">"
	case s[0] >= '0' && s[0] <= '9' && !strings.Contains(s, "."):
		s = "<0." + s + ".0>"
	default:
		a, err := termtext.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("process %q is neither a pid nor a registered name: %w", s, err)
		}
		name, ok := a.(etf.Atom)
		if !ok {
			return nil, fmt.Errorf("process %q is neither a pid nor a registered name", s)
		}
		return RegName(name), nil
	}
	t, err := termtext.ParseWith(s, termtext.Options{LocalNode: etf.Atom(node)})
	if err != nil {
		return nil, fmt.Errorf("bad pid %q: %w", s, err)
	}
	pid, ok := t.(etf.Pid)
	if !ok {
		return nil, fmt.Errorf("%q is not a pid", s)
	}
	if string(pid.Node) != node {
		return nil, fmt.Errorf("pid %s is not a process of %s", s, node)
	}
	return t, nil
}
