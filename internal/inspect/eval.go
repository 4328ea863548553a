package inspect

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/beamctl/beamctl/internal/etf"
)

// Eval evaluates Erlang expressions (e.g. "X = 1 + 2, X * 2.") on the node
// with erl_eval, in an rpc process whose group leader is the node's user.
// Scanning and parsing also run on the node, so the node's own syntax and
// error messages apply. It is for beamctl's own expressions: they run as
// the body of a fun (funBody), and the abstract form is kept for the next
// evaluation of the same text on a node of the same distribution flags.
func Eval(ctx context.Context, c Conn, expr string) (etf.Term, error) {
	return EvalWith(ctx, c, expr, nil)
}

// EvalTyped evaluates expressions a user typed: as Eval, but the node's
// messages name the text as typed, and its form is not kept.
func EvalTyped(ctx context.Context, c Conn, expr string) (etf.Term, error) {
	exprs, err := scanParse(ctx, c, expr)
	if err != nil {
		return nil, err
	}
	return evalParsed(ctx, c, exprs, nil)
}

// EvalWith is Eval with variables bound to terms (e.g. a pid of beamctl's,
// which Erlang source cannot spell).
func EvalWith(ctx context.Context, c Conn, expr string, vars map[string]etf.Term) (etf.Term, error) {
	exprs, err := parse(ctx, c, funBody(expr))
	if err != nil {
		return nil, err
	}
	return evalParsed(ctx, c, exprs, vars)
}

// evalParsed evaluates an abstract form with erl_eval.
func evalParsed(ctx context.Context, c Conn, exprs etf.Term, vars map[string]etf.Term) (etf.Term, error) {
	// Bindings as an orddict, which erl_eval accepts on every supported
	// OTP release.
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Strings(names)
	bindings := etf.List{}
	for _, n := range names {
		bindings = append(bindings, etf.Tuple{etf.Atom(n), vars[n]})
	}
	r, err := c.Call(ctx, "erl_eval", "exprs", exprs, bindings)
	if err != nil {
		return nil, err
	}
	value, err := etf.ToTuple(r, 3) // {value, Value, NewBindings}
	if err != nil || value[0] != etf.Atom("value") {
		return nil, fmt.Errorf("erl_eval returned %s", text(r, c.Node()))
	}
	return value[1], nil
}

// funBody makes expressions ending in a full stop the body of a fun
// called at once. erl_eval returns the bindings with the value, and those
// of the expressions themselves can be large (a fun's value carries its
// abstract code: a capture's set-up replied some 35 KiB for a pid); a
// fun's variables stay in the fun. The fun's head is on the first line,
// so that the node's messages keep the text's line numbers.
func funBody(expr string) string {
	body, ok := strings.CutSuffix(strings.TrimRightFunc(expr, unicode.IsSpace), ".")
	if !ok {
		return expr
	}
	return "(fun() -> " + body + "\nend)()."
}

// parse scans and parses expr with the node's erl_scan and erl_parse, or
// takes the abstract form from the cache: capture sends the same few
// expressions to every node at set-up and every code interval, and each
// reading costs two round trips and replies of some 10 KiB.
func parse(ctx context.Context, c Conn, expr string) (etf.Term, error) {
	key, cacheable := parsedKey{}, false
	if f, ok := c.(interface{ Flags() uint64 }); ok {
		// The peer's distribution flags stand for its OTP release, whose
		// parser made the form.
		key, cacheable = parsedKey{expr, f.Flags()}, true
		parsed.Lock()
		form, ok := parsed.forms[key]
		parsed.Unlock()
		if ok {
			return form, nil
		}
	}
	form, err := scanParse(ctx, c, expr)
	if err != nil {
		return nil, err
	}
	if cacheable {
		parsed.Lock()
		if len(parsed.forms) >= maxParsed { // texts typed by users: start again
			parsed.forms = nil
		}
		if parsed.forms == nil {
			parsed.forms = map[parsedKey]etf.Term{}
		}
		parsed.forms[key] = form
		parsed.Unlock()
	}
	return form, nil
}

// scanParse scans and parses expr on the node: two round trips.
func scanParse(ctx context.Context, c Conn, expr string) (etf.Term, error) {
	r, err := c.Call(ctx, "erl_scan", "string", charlist(expr))
	if err != nil {
		return nil, err
	}
	scanned, err := etf.ToTuple(r, -1)
	if err != nil || len(scanned) != 3 || scanned[0] != etf.Atom("ok") {
		return nil, fmt.Errorf("scan: %s", describeError(ctx, c, r))
	}
	r, err = c.Call(ctx, "erl_parse", "parse_exprs", scanned[1])
	if err != nil {
		return nil, err
	}
	t, err := etf.ToTuple(r, 2)
	if err != nil || t[0] != etf.Atom("ok") {
		return nil, fmt.Errorf("parse: %s", describeError(ctx, c, r))
	}
	return t[1], nil
}

// parsed holds the abstract forms of the expressions parsed so far, at
// most maxParsed. The forms are shared: never changed once stored.
var parsed struct {
	sync.Mutex
	forms map[parsedKey]etf.Term
}

const maxParsed = 256

type parsedKey struct {
	expr  string
	flags uint64
}

// charlist encodes text as an Erlang string (a list of code points). ASCII
// text goes as STRING_EXT, its bytes as they are (the node reads the same
// list); other text as a list of its code points.
func charlist(s string) etf.Term {
	ascii := true
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return etf.String(s)
	}
	var l etf.List
	for _, r := range s {
		l = append(l, int64(r))
	}
	if l == nil {
		return etf.List(nil)
	}
	return l
}

// describeError formats {error, {Location, Module, Desc}, ...} with the
// module's own format_error/1 on the node.
func describeError(ctx context.Context, c Conn, r etf.Term) string {
	t, err := etf.ToTuple(r, -1)
	if err != nil || len(t) < 2 || t[0] != etf.Atom("error") {
		return text(r, c.Node())
	}
	info, err := etf.ToTuple(t[1], 3)
	if err != nil {
		return text(r, c.Node())
	}
	mod, ok := info[1].(etf.Atom)
	if !ok {
		return text(r, c.Node())
	}
	msg, err := c.Call(ctx, string(mod), "format_error", info[2])
	if err != nil {
		return text(r, c.Node())
	}
	s, err := etf.ToString(flatten(msg))
	if err != nil {
		return text(msg, c.Node())
	}
	return fmt.Sprintf("%s (at %s)", s, text(info[0], c.Node()))
}

// flatten flattens a deep charlist (an iolist of characters).
func flatten(t etf.Term) etf.Term {
	var out etf.List
	var walkList func(etf.Term)
	walkList = func(x etf.Term) {
		switch v := x.(type) {
		case etf.List:
			for _, e := range v {
				walkList(e)
			}
		case etf.String:
			for i := 0; i < len(v); i++ {
				out = append(out, int64(v[i]))
			}
		case []byte:
			for _, r := range string(v) {
				out = append(out, int64(r))
			}
		default:
			out = append(out, x)
		}
	}
	walkList(t)
	return out
}
