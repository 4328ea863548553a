// Package product reads the products that run on the BEAM (RabbitMQ,
// Mnesia, ejabberd) from a node, in their own terms, through their own
// modules' exported functions and tables: nothing is installed on the node.
// Each product is detected by a registered process of its own (a BIF,
// erlang:whereis/1) before any of its modules is called, so that a node
// without it costs one cheap call and no code-path search. The collectors
// turn what is read here into series, and the CLI and the API show it.
package product

import (
	"context"
	"fmt"

	"github.com/beamctl/beamctl/internal/etf"
)

// Conn is what reading a product needs of a node connection.
type Conn interface {
	Call(ctx context.Context, module, function string, args ...etf.Term) (etf.Term, error)
}

// Running reports whether the process registered as name runs on the node.
func Running(ctx context.Context, c Conn, name etf.Atom) (bool, error) {
	r, err := c.Call(ctx, "erlang", "whereis", name)
	if err != nil {
		return false, err
	}
	_, ok := r.(etf.Pid)
	return ok, nil
}

// call is one function call of applyAll.
type call struct {
	module, function string
	args             []etf.Term
}

// applyAll makes independent calls in one round trip (lists:zipwith with
// fun erlang:apply/2: nothing is loaded) and returns their results in
// order. If one call raises, the whole fails.
func applyAll(ctx context.Context, c Conn, calls []call) ([]etf.Term, error) {
	funs := make(etf.List, len(calls))
	argLists := make(etf.List, len(calls))
	for i, cl := range calls {
		args := cl.args
		if args == nil {
			args = []etf.Term{}
		}
		funs[i] = etf.Export{Module: etf.Atom(cl.module), Function: etf.Atom(cl.function), Arity: uint8(len(args))}
		argLists[i] = etf.List(args)
	}
	r, err := c.Call(ctx, "lists", "zipwith", etf.Export{Module: "erlang", Function: "apply", Arity: 2}, funs, argLists)
	if err != nil {
		return nil, err
	}
	l, err := etf.ToList(r)
	if err != nil || len(l) != len(calls) {
		return nil, fmt.Errorf("lists:zipwith of %d calls: unexpected reply", len(calls))
	}
	return l, nil
}

// count reads a non-negative integer term; anything else (undefined for
// a table that does not exist) is 0.
func count(t etf.Term) int64 {
	n, err := etf.ToInt64(t)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// text reads a binary, charlist or atom as a string ("" otherwise).
func text(t etf.Term) string {
	s, _ := etf.ToString(t)
	return s
}
