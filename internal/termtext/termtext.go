// Package termtext reads and writes Erlang terms as text, in the syntax of
// erl_parse:parse_term/1 and io_lib:format("~p"): {ok, [1, 2, <<"x">>]}.
//
// Pids, references and ports have no Erlang syntax; Format prints them the
// way Erlang shows them (<0.54.0>, #Ref<0.1.2.3>, #Port<0.5>) and Parse
// accepts those forms back. Node index 0 stands for Options.LocalNode (the
// node the text is about); a pid of another node is written with its name:
// <'b@host'.54.0>.
package termtext

import (
	"fmt"

	"github.com/beamctl/beamctl/internal/etf"
)

// Options say which node local pids, references and ports belong to.
type Options struct {
	// LocalNode is the node that index 0 in <0.X.Y> means.
	LocalNode etf.Atom
}

// SyntaxError is a parse error with its position (1-based).
type SyntaxError struct {
	Line, Col int
	Msg       string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("termtext: line %d, column %d: %s", e.Line, e.Col, e.Msg)
}

// Parse parses one term (a trailing '.' is optional).
func Parse(s string) (etf.Term, error) { return ParseWith(s, Options{}) }

// ParseWith parses one term with pids resolved through o.
func ParseWith(s string, o Options) (etf.Term, error) {
	p := &parser{src: s, opts: o}
	return p.parseAll()
}

// ParseList parses a proper list, e.g. the argument list of an rpc.
func ParseList(s string) (etf.List, error) { return ParseListWith(s, Options{}) }

// ParseListWith is ParseList with pids resolved through o.
func ParseListWith(s string, o Options) (etf.List, error) {
	t, err := ParseWith(s, o)
	if err != nil {
		return nil, err
	}
	switch v := t.(type) {
	case etf.List:
		return v, nil
	case etf.String:
		l, _ := etf.ToList(v)
		return etf.List(l), nil
	}
	return nil, fmt.Errorf("termtext: expected a list, got %s", etf.Typename(t))
}
