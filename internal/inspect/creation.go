package inspect

import (
	"context"
	"fmt"

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

// resolvePid turns a pid or registered name into a live pid.
func resolvePid(ctx context.Context, c Conn, proc etf.Term) (etf.Pid, error) {
	if name, ok := proc.(etf.Atom); ok {
		r, err := c.Call(ctx, "erlang", "whereis", name)
		if err != nil {
			return etf.Pid{}, err
		}
		pid, ok := r.(etf.Pid)
		if !ok {
			return etf.Pid{}, fmt.Errorf("no process is registered as %s on %s", text(name, c.Node()), c.Node())
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
