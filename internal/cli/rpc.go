package cli

import (
	"context"
	"fmt"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/termtext"
)

type rpcCmd struct {
	node, module, function, args string
}

func registerRPC(app *kingpin.Application, register func(string, command)) {
	c := &rpcCmd{}
	cmd := app.Command("rpc", "Call MOD:FUN(ARGS...) on a node and print the reply as an Erlang term.")
	cmd.Arg("node", "Node name.").Required().StringVar(&c.node)
	cmd.Arg("module", "Module.").Required().StringVar(&c.module)
	cmd.Arg("function", "Function.").Required().StringVar(&c.function)
	cmd.Arg("args", "Arguments as an Erlang list, e.g. '[process_count]' (default []). <0.54.0> is a pid on NODE.").
		Default("[]").StringVar(&c.args)
	register(cmd.FullCommand(), c)
}

func (c *rpcCmd) run(ctx context.Context, e *env) error {
	node, err := nodeName(c.node)
	if err != nil {
		return err
	}
	local := termtext.Options{LocalNode: etf.Atom(node)}
	args, err := termtext.ParseListWith(c.args, local)
	if err != nil {
		return fmt.Errorf("ARGS must be an Erlang list of arguments, e.g. '[process_count]': %w", err)
	}
	conn, err := e.dial(ctx, node)
	if err != nil {
		return err
	}
	defer conn.Close()
	if needsCreation(args, etf.Atom(node)) {
		// Pids typed as <0.X.Y> must carry the node's creation to name its
		// local processes.
		cr, err := conn.Call(ctx, "erlang", "system_info", etf.Atom("creation"))
		if err != nil {
			return fmt.Errorf("read the node's creation for pid arguments: %w", err)
		}
		n, err := etf.ToUint64(cr)
		if err != nil {
			return fmt.Errorf("read the node's creation: %w", err)
		}
		args = withCreation(args, etf.Atom(node), uint32(n)).(etf.List)
	}
	reply, err := conn.Call(ctx, c.module, c.function, []etf.Term(args)...)
	if err != nil {
		return err
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, map[string]any{
			"node":   node,
			"mfa":    fmt.Sprintf("%s:%s/%d", c.module, c.function, len(args)),
			"result": termJSON(reply, etf.Atom(node)),
			"text":   termtext.FormatWith(reply, local),
		})
	}
	fmt.Fprintln(e.stdout, termtext.FormatPrettyWith(reply, local))
	return nil
}

// needsCreation reports whether t holds a pid, port or ref of node without a
// creation.
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
