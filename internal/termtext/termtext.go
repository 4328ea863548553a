// Package termtext reads and writes Erlang terms as text: the syntax that
// erl_parse:parse_term/1 reads and io_lib:format("~tp") writes, such as
// {ok,[1,2,<<"x">>]}. The CLI parses rpc arguments with it and prints
// replies with it.
//
// Parse accepts what Erlang's own term parser accepts: atoms, integers in
// any base (16#FF, $a, 1_000, bignums), floats, strings with escapes,
// binaries with integer and string segments (<<1:4, "é"/utf8>>), tuples,
// proper and improper lists, maps and fun M:F/A. A string becomes an
// etf.String when every character fits in a byte, else an etf.List of code
// points.
//
// Pids, references and ports have no syntax in Erlang; this package reads
// and writes them the way Erlang prints them, with one extension. In
// <0.54.0>, #Ref<0.1.2.3> and #Port<0.5> the leading 0 means
// Options.LocalNode, the node the text is about. Erlang prints a pid of
// another node with a node index only that node understands (<5.54.0>);
// here a pid of another node is written with its name instead, quoted or
// bare: <'b@host'.54.0> or <b@host.54.0>. Format writes them that way too,
// so everything it prints parses back, except local funs (#Fun<m.1.2>).
package termtext

import (
	"fmt"

	"github.com/beamctl/beamctl/internal/etf"
)

// Options say how pids, references and ports are read and written, and
// which lists print as strings.
type Options struct {
	// LocalNode is the node that the 0 in <0.54.0> stands for. When it is
	// empty, a pid with a 0 is a parse error, and Format writes every pid
	// with its node name.
	LocalNode etf.Atom

	// Unicode makes Format print lists and binaries of printable Unicode
	// text as strings, as Erlang does when started with +pc unicode. By
	// default only Latin-1 text is, as in Erlang's default ~p and ~tp.
	Unicode bool

	// MaxBytes bounds the text Format writes for one term, and with it the
	// work: a term whose text would be longer is cut where the bound is
	// reached, and a marker says what was left out: "...(1000 more)" for
	// elements of a list, tuple or map, "...(4000 more bytes)" in a binary,
	// "...(integer of 33554432 bits)" for an integer too long to write in
	// full (converting a bignum to decimal costs more than linear time).
	// FormatPretty writes at most about four times as much (indentation).
	// The token being written when the bound is reached is written whole:
	// at most about 2 KiB more (an export fun of two long atoms).
	// 0 means DefaultMaxBytes; a negative value means no bound, only for
	// terms that did not come from a node.
	MaxBytes int
}

// DefaultMaxBytes is the bound on the text of one term when
// Options.MaxBytes is 0: any term that came from a node (a logger
// metadata value, a process dictionary, an rpc error) is formatted with a
// bound.
const DefaultMaxBytes = 64 << 10

// SyntaxError is an error in the text being parsed, at a 1-based line and
// column (counted in characters).
type SyntaxError struct {
	Line, Col int
	Msg       string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("termtext: line %d, column %d: %s", e.Line, e.Col, e.Msg)
}

// Parse parses one term. White space, % comments and a final '.' are
// allowed. A pid written with a 0 (<0.54.0>) is an error; use ParseWith.
func Parse(s string) (etf.Term, error) { return ParseWith(s, Options{}) }

// ParseWith parses one term, reading <0.54.0> as a pid on o.LocalNode.
func ParseWith(s string, o Options) (etf.Term, error) {
	return newParser(s, o).parseAll()
}

// ParseList parses a proper list, such as the arguments of an rpc:
// [process_count] or "abc".
func ParseList(s string) (etf.List, error) { return ParseListWith(s, Options{}) }

// ParseListWith is ParseList with pids read as ParseWith does.
func ParseListWith(s string, o Options) (etf.List, error) {
	t, err := ParseWith(s, o)
	if err != nil {
		return nil, err
	}
	switch v := t.(type) {
	case etf.List:
		return v, nil
	case etf.String:
		l := make(etf.List, len(v))
		for i := range len(v) {
			l[i] = int64(v[i])
		}
		return l, nil
	}
	return nil, fmt.Errorf("termtext: expected a list, got %s", etf.Typename(t))
}

// Format writes t on one line, exactly as io_lib:format("~tp") would with
// an unlimited line length: {ok,"abc",<<"abc">>,[1000]}. Pids, references
// and ports are written with their node name. The text is bounded by
// DefaultMaxBytes (see Options.MaxBytes).
func Format(t etf.Term) string { return FormatWith(t, Options{}) }

// FormatWith is Format with o's local node written as 0 (<0.54.0>).
func FormatWith(t etf.Term, o Options) string {
	return newFormatter(o).flat(t)
}

// FormatPretty writes t as io:format("~tp") does: on one line when it fits
// in 80 columns, else broken over lines and indented exactly like Erlang's
// io_lib_pretty.
func FormatPretty(t etf.Term) string { return FormatPrettyWith(t, Options{}) }

// FormatPrettyWith is FormatPretty with o's local node written as 0.
func FormatPrettyWith(t etf.Term, o Options) string {
	return newFormatter(o).pretty(t)
}
