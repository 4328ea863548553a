package inspect

import (
	"context"
	"errors"
	"fmt"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
)

// LocalizeArgs gives pids, ports and refs of the connection's node that were
// typed without a creation (<0.54.0>) the node's creation, so that they name
// its live processes. It costs one round trip, only when needed.
func LocalizeArgs(ctx context.Context, c Conn, t etf.Term) (etf.Term, error) {
	node := etf.Atom(c.Node())
	if !needsCreation(t, node) {
		return t, nil
	}
	cr, err := c.Call(ctx, "erlang", "system_info", etf.Atom("creation"))
	if err != nil {
		return nil, fmt.Errorf("read the node's creation: %w", err)
	}
	n, err := etf.ToUint64(cr)
	if err != nil {
		return nil, fmt.Errorf("read the node's creation: %w", err)
	}
	return withCreation(t, node, uint32(n)), nil
}

// resolvePid turns a pid or registered name (a RegName) into a live pid.
func resolvePid(ctx context.Context, c Conn, proc etf.Term) (etf.Pid, error) {
	if name, ok := proc.(RegName); ok {
		a, err := existingAtom(ctx, c, string(name))
		if err != nil {
			return etf.Pid{}, err
		}
		r := etf.Term(etf.Undefined)
		if a != "" {
			if r, err = c.Call(ctx, "erlang", "whereis", a); err != nil {
				return etf.Pid{}, err
			}
		}
		pid, ok := r.(etf.Pid)
		if !ok {
			return etf.Pid{}, fmt.Errorf("no process is registered as %s on %s", text(etf.Atom(name), c.Node()), c.Node())
		}
		return pid, nil
	}
	t, err := LocalizeArgs(ctx, c, proc)
	if err != nil {
		return etf.Pid{}, err
	}
	pid, ok := t.(etf.Pid)
	if !ok {
		return etf.Pid{}, fmt.Errorf("%s is not a pid", text(proc, c.Node()))
	}
	return pid, nil
}

func needsCreation(t etf.Term, node etf.Atom) bool {
	found := false
	walk(t, func(x etf.Term) {
		switch v := x.(type) {
		case etf.Pid:
			found = found || v.Node == node && v.Creation == 0
		case etf.Port:
			found = found || v.Node == node && v.Creation == 0
		case etf.Ref:
			found = found || v.Node == node && v.Creation == 0
		}
	})
	return found
}

// withCreation returns t with every creation-less identifier of node given
// creation cr.
func withCreation(t etf.Term, node etf.Atom, cr uint32) etf.Term {
	switch v := t.(type) {
	case etf.Pid:
		if v.Node == node && v.Creation == 0 {
			v.Creation = cr
		}
		return v
	case etf.Port:
		if v.Node == node && v.Creation == 0 {
			v.Creation = cr
		}
		return v
	case etf.Ref:
		if v.Node == node && v.Creation == 0 {
			v.Creation = cr
		}
		return v
	case etf.List:
		out := make(etf.List, len(v))
		for i, e := range v {
			out[i] = withCreation(e, node, cr)
		}
		return out
	case etf.Tuple:
		out := make(etf.Tuple, len(v))
		for i, e := range v {
			out[i] = withCreation(e, node, cr)
		}
		return out
	case etf.ImproperList:
		out := etf.ImproperList{Elems: make([]etf.Term, len(v.Elems)), Tail: withCreation(v.Tail, node, cr)}
		for i, e := range v.Elems {
			out.Elems[i] = withCreation(e, node, cr)
		}
		return out
	case etf.Map:
		out := make(etf.Map, len(v))
		for i, p := range v {
			out[i] = etf.MapPair{Key: withCreation(p.Key, node, cr), Value: withCreation(p.Value, node, cr)}
		}
		return out
	}
	return t
}

// walk calls f on t and every term nested in it.
func walk(t etf.Term, f func(etf.Term)) {
	f(t)
	switch v := t.(type) {
	case etf.List:
		for _, e := range v {
			walk(e, f)
		}
	case etf.Tuple:
		for _, e := range v {
			walk(e, f)
		}
	case etf.ImproperList:
		for _, e := range v.Elems {
			walk(e, f)
		}
		walk(v.Tail, f)
	case etf.Map:
		for _, p := range v {
			walk(p.Key, f)
			walk(p.Value, f)
		}
	}
}

// existingAtom returns the atom called name if the node has one, else "".
// The name goes to the node as a binary (erlang:binary_to_existing_atom/2),
// so that looking up a name never adds an atom to the node's table: a name
// that is not an atom there cannot name a process, an application or a
// table. Only then may the atom itself be sent.
func existingAtom(ctx context.Context, c Conn, name string) (etf.Atom, error) {
	r, err := c.Call(ctx, "erlang", "binary_to_existing_atom", []byte(name), etf.Atom("utf8"))
	var bad *dist.BadRPCError
	if errors.As(err, &bad) && isBadarg(bad.Reason) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	a, ok := r.(etf.Atom)
	if !ok {
		return "", fmt.Errorf("binary_to_existing_atom returned %s", text(r, c.Node()))
	}
	return a, nil
}

// isBadarg reports whether a badrpc reason is {'EXIT', {badarg, _}}.
func isBadarg(reason etf.Term) bool {
	t, err := etf.ToTuple(reason, 2)
	if err != nil || t[0] != etf.Atom("EXIT") {
		return false
	}
	if t[1] == etf.Atom("badarg") {
		return true
	}
	e, err := etf.ToTuple(t[1], 2)
	return err == nil && e[0] == etf.Atom("badarg")
}
