package termtext

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/beamctl/beamctl/internal/etf"
)

// maxDepth bounds nesting, so that deep input is an error instead of a
// stack overflow.
const maxDepth = 1000

// maxSegmentBits bounds the size of one binary segment (<<0:65536>>), and
// maxBinaryBits the size of a whole binary (1 MiB), so that a short text
// cannot ask for a huge allocation.
const (
	maxSegmentBits = 1 << 16
	maxBinaryBits  = 1 << 23
)

// reserved are the words that cannot be bare atoms: erl_scan's reserved
// words plus maybe and else, keywords since OTP 27. Parse still accepts
// bare maybe and else, as OTP 25 does; Format quotes them.
var reserved = map[string]bool{
	"after": true, "and": true, "andalso": true, "band": true, "begin": true, "bnot": true, "bor": true,
	"bsl": true, "bsr": true, "bxor": true, "case": true, "catch": true, "cond": true, "div": true,
	"end": true, "fun": true, "if": true, "let": true, "not": true, "of": true, "or": true,
	"orelse": true, "receive": true, "rem": true, "try": true, "when": true, "xor": true,
	"maybe": true, "else": true,
}

// parser is a recursive-descent parser over the tokens of scanner. tok is
// the current token; the scanner stands right after it.
type parser struct {
	s     scanner
	tok   token
	opts  Options
	depth int
}

func newParser(src string, o Options) *parser {
	return &parser{s: scanner{src: src, line: 1, col: 1}, opts: o}
}

// advance scans the next token into p.tok.
func (p *parser) advance() error {
	t, err := p.s.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

// errorf reports an error at the current token.
func (p *parser) errorf(format string, args ...any) error {
	return p.s.errorf(p.tok.line, p.tok.col, format, args...)
}

// unexpected reports the current token as out of place.
func (p *parser) unexpected(want ...string) error {
	return p.errorf("unexpected %s (expected %s)", p.tok, strings.Join(want, " or "))
}

func (p *parser) is(punct string) bool { return p.tok.kind == tokPunct && p.tok.text == punct }

// expect consumes the punctuation punct or fails naming what was wanted.
func (p *parser) expect(punct string, want ...string) error {
	if !p.is(punct) {
		if len(want) == 0 {
			want = []string{"'" + punct + "'"}
		}
		return p.unexpected(want...)
	}
	return p.advance()
}

// parseAll parses the whole input: one term and an optional '.'.
func (p *parser) parseAll() (etf.Term, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	t, err := p.term()
	if err != nil {
		return nil, err
	}
	if p.is(".") {
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	if p.tok.kind != tokEOF {
		return nil, p.unexpected("end of input")
	}
	return t, nil
}

// term parses one term starting at the current token.
func (p *parser) term() (etf.Term, error) {
	if p.depth++; p.depth > maxDepth {
		return nil, p.errorf("terms nested deeper than %d", maxDepth)
	}
	defer func() { p.depth-- }()
	switch tok := p.tok; tok.kind {
	case tokInt, tokFloat:
		return p.number(false)
	case tokString:
		runes, err := p.strings()
		return charlist(runes), err
	case tokAtom:
		if !tok.quoted && tok.text == "fun" {
			return p.export()
		}
		if !tok.quoted && reserved[tok.text] && tok.text != "maybe" && tok.text != "else" {
			return nil, p.errorf("%s is a reserved word, not an atom (quote it: '%s')", tok.text, tok.text)
		}
		if err := checkAtom(tok.text); err != nil {
			return nil, p.errorf("%v", err)
		}
		return etf.Atom(tok.text), p.advance()
	case tokVar:
		return nil, p.errorf("%s is a variable, not a term (quote it for an atom: '%s')", tok.text, tok.text)
	case tokEOF:
		return nil, p.unexpected("a term")
	}
	switch p.tok.text {
	case "{":
		if err := p.advance(); err != nil {
			return nil, err
		}
		elems, err := p.elements("}")
		return etf.Tuple(elems), err
	case "[":
		return p.list()
	case "#":
		return p.hash()
	case "<<":
		return p.binary()
	case "<":
		return p.pid()
	case "-", "+":
		neg := p.tok.text == "-"
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tokInt && p.tok.kind != tokFloat {
			return nil, p.unexpected("a number after the sign")
		}
		return p.number(neg)
	}
	return nil, p.unexpected("a term")
}

// number converts the current integer or float token.
func (p *parser) number(neg bool) (etf.Term, error) {
	var t etf.Term
	if p.tok.kind == tokFloat {
		f := p.tok.flt
		if neg {
			f = -f
		}
		t = f
	} else {
		z := p.tok.num
		if neg {
			z = new(big.Int).Neg(z)
		}
		t = intTerm(z)
	}
	return t, p.advance()
}

// intTerm is z as an int64 when it fits, else as a *big.Int.
func intTerm(z *big.Int) etf.Term {
	if z.IsInt64() {
		return z.Int64()
	}
	return z
}

// strings reads adjacent string literals, which Erlang concatenates.
func (p *parser) strings() ([]rune, error) {
	var runes []rune
	for p.tok.kind == tokString {
		runes = append(runes, p.tok.runes...)
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	return runes, nil
}

// charlist is the term of a string literal: a String when every character
// fits in a byte, else a List of code points; "" is [].
func charlist(runes []rune) etf.Term {
	if len(runes) == 0 {
		return etf.List(nil)
	}
	latin1 := make([]byte, len(runes))
	for i, r := range runes {
		if r > 255 {
			l := make(etf.List, len(runes))
			for j, r := range runes {
				l[j] = int64(r)
			}
			return l
		}
		latin1[i] = byte(r)
	}
	return etf.String(latin1)
}

// elements parses "T, T, ... closing" (or just "closing").
func (p *parser) elements(closing string) ([]etf.Term, error) {
	elems := []etf.Term{}
	if p.is(closing) {
		return elems, p.advance()
	}
	for {
		t, err := p.term()
		if err != nil {
			return nil, err
		}
		elems = append(elems, t)
		if !p.is(",") {
			return elems, p.expect(closing, "','", "'"+closing+"'")
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
}

// list parses [], [T, ...] and [T, ... | Tail].
func (p *parser) list() (etf.Term, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.is("]") {
		return etf.List(nil), p.advance()
	}
	var elems etf.List
	for {
		t, err := p.term()
		if err != nil {
			return nil, err
		}
		elems = append(elems, t)
		switch {
		case p.is(","):
			if err := p.advance(); err != nil {
				return nil, err
			}
			continue
		case p.is("]"):
			return elems, p.advance()
		case !p.is("|"):
			return nil, p.unexpected("','", "'|'", "']'")
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		tail, err := p.term()
		if err != nil {
			return nil, err
		}
		if err := p.expect("]", "']'"); err != nil {
			return nil, err
		}
		// [a | [b]] is the proper list [a, b]; [a | [b | c]] is [a, b | c].
		switch v := tail.(type) {
		case etf.List:
			return append(elems, v...), nil
		case etf.String:
			for _, c := range []byte(v) {
				elems = append(elems, int64(c))
			}
			return elems, nil
		case etf.ImproperList:
			return etf.ImproperList{Elems: append(elems, v.Elems...), Tail: v.Tail}, nil
		}
		return etf.ImproperList{Elems: elems, Tail: tail}, nil
	}
}

// hash parses what starts with '#': a map #{...}, #Ref<...> or #Port<...>.
func (p *parser) hash() (etf.Term, error) {
	line, col := p.tok.line, p.tok.col
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.is("{") {
		return p.mapTerm()
	}
	if p.tok.kind == tokVar && p.s.peekRune() == '<' {
		switch p.tok.text {
		case "Ref":
			return p.ids("#Ref<", line, col, 1, etf.MaxRefWords, func(node etf.Atom, ids []uint64) (etf.Term, error) {
				r := etf.Ref{Node: node, Len: uint8(len(ids))}
				for i, id := range ids {
					if id > 1<<32-1 {
						return nil, fmt.Errorf("reference number %d is larger than 32 bits", id)
					}
					r.ID[len(ids)-1-i] = uint32(id) // Erlang prints the highest word first.
				}
				return r, nil
			})
		case "Port":
			return p.ids("#Port<", line, col, 1, 1, func(node etf.Atom, ids []uint64) (etf.Term, error) {
				return etf.Port{Node: node, ID: ids[0]}, nil
			})
		case "Fun":
			return nil, p.s.errorf(line, col, "a local fun (#Fun<...>) cannot be written as a term; only fun M:F/A can")
		}
	}
	return nil, p.unexpected("'{'", "Ref<", "Port<")
}

// mapTerm parses #{K => V, ...} from the '{'. When a key repeats, the last
// value wins, as in Erlang.
func (p *parser) mapTerm() (etf.Term, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	m := etf.Map{}
	if p.is("}") {
		return m, p.advance()
	}
	for {
		k, err := p.term()
		if err != nil {
			return nil, err
		}
		if err := p.expect("=>", "'=>'"); err != nil {
			return nil, err
		}
		v, err := p.term()
		if err != nil {
			return nil, err
		}
		m = setPair(m, k, v)
		if !p.is(",") {
			return m, p.expect("}", "','", "'}'")
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
}

func setPair(m etf.Map, k, v etf.Term) etf.Map {
	for i := range m {
		if etf.Equal(m[i].Key, k) {
			m[i].Value = v
			return m
		}
	}
	return append(m, etf.MapPair{Key: k, Value: v})
}

// export parses fun M:F/A from "fun".
func (p *parser) export() (etf.Term, error) {
	var names [2]etf.Atom
	for i, sep := range []string{":", "/"} {
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tokAtom {
			return nil, p.unexpected("an atom in fun M:F/A (local funs cannot be written as terms)")
		}
		if err := checkAtom(p.tok.text); err != nil {
			return nil, p.errorf("%v", err)
		}
		names[i] = etf.Atom(p.tok.text)
		if err := p.advance(); err != nil {
			return nil, err
		}
		if !p.is(sep) {
			return nil, p.unexpected("'" + sep + "' in fun M:F/A")
		}
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind != tokInt || p.tok.num.Sign() < 0 || p.tok.num.Cmp(big.NewInt(255)) > 0 {
		return nil, p.unexpected("an arity from 0 to 255")
	}
	e := etf.Export{Module: names[0], Function: names[1], Arity: uint8(p.tok.num.Int64())}
	return e, p.advance()
}

// checkAtom refuses what no node accepts as an atom: more than 255
// characters (the printer's bound on one token counts on it too).
func checkAtom(text string) error {
	if utf8.RuneCountInString(text) > 255 {
		return fmt.Errorf("atom is longer than 255 characters")
	}
	return nil
}

// pid parses <0.54.0> or <'node@host'.54.0> from the '<'.
func (p *parser) pid() (etf.Term, error) {
	return p.ids("<", p.tok.line, p.tok.col, 2, 2, func(node etf.Atom, ids []uint64) (etf.Term, error) {
		if ids[0] > 1<<32-1 || ids[1] > 1<<32-1 {
			return nil, fmt.Errorf("pid numbers must fit in 32 bits")
		}
		return etf.Pid{Node: node, ID: uint32(ids[0]), Serial: uint32(ids[1])}, nil
	})
}

// ids reads the inside of <N.A.B>, #Ref<N.A.B.C> or #Port<N.A> directly
// from the text (a token scanner would read "0.54" as a float). N is 0 for
// the local node or a node name atom; between min and max numbers follow.
func (p *parser) ids(open string, line, col, minIDs, maxIDs int, build func(etf.Atom, []uint64) (etf.Term, error)) (etf.Term, error) {
	s := &p.s
	if open != "<" {
		s.nextRune() // The '<' after #Ref or #Port.
	}
	start := s.pos
	fail := func(format string, args ...any) (etf.Term, error) {
		return nil, s.errorf(line, col, "bad %s...>: %s", open, fmt.Sprintf(format, args...))
	}
	var node etf.Atom
	var index string
	switch r := s.peekRune(); {
	case r >= '0' && r <= '9':
		index = s.digits(10)
	case r == '\'':
		runes, err := s.quoted('\'')
		if err != nil {
			return nil, err
		}
		node = etf.Atom(runes)
	case isAtomStart(r):
		node = etf.Atom(s.word())
	default:
		return fail("want a node index or node name after %s", open)
	}
	if err := checkAtom(string(node)); err != nil {
		return fail("%v", err)
	}
	var ids []uint64
	for s.peekRune() == '.' {
		s.nextRune()
		d := s.digits(10)
		n, err := strconv.ParseUint(d, 10, 64)
		if err != nil {
			return fail("want a number after '.'")
		}
		ids = append(ids, n)
	}
	if s.nextRune() != '>' {
		return fail("want '.' or '>'")
	}
	text := open + s.src[start:s.pos]
	if len(ids) < minIDs || len(ids) > maxIDs {
		if minIDs == maxIDs {
			return fail("want %d numbers after the node, not %d", minIDs, len(ids))
		}
		return fail("want %d to %d numbers after the node, not %d", minIDs, maxIDs, len(ids))
	}
	switch {
	case index == "0" && p.opts.LocalNode == "":
		return nil, s.errorf(line, col, "%s needs a node: no local node is set here, so write its name, e.g. %s", text,
			strings.Replace(text, "<0.", "<'node@host'.", 1))
	case index == "0":
		node = p.opts.LocalNode
	case index != "":
		return nil, s.errorf(line, col, "%s has node index %s, which only the node that printed it understands; write the node name instead, e.g. %s",
			text, index, strings.Replace(text, "<"+index+".", "<'node@host'.", 1))
	}
	t, err := build(node, ids)
	if err != nil {
		return nil, s.errorf(line, col, "bad %s: %v", text, err)
	}
	return t, p.advance()
}

// binary parses <<Seg, ...>> from the '<<'. A segment is an integer or a
// string, optionally with :Size and /Type (integer, signed, unsigned, big,
// utf8).
func (p *parser) binary() (etf.Term, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	var bits bitWriter
	if p.is(">>") {
		return []byte{}, p.advance()
	}
	for {
		if err := p.segment(&bits); err != nil {
			return nil, err
		}
		if !p.is(",") {
			if err := p.expect(">>", "','", "'>>'"); err != nil {
				return nil, err
			}
			return bits.term(), nil
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
}

func (p *parser) segment(bits *bitWriter) error {
	line, col := p.tok.line, p.tok.col
	var values []*big.Int
	isString := p.tok.kind == tokString
	if isString {
		runes, err := p.strings()
		if err != nil {
			return err
		}
		for _, r := range runes {
			values = append(values, big.NewInt(int64(r)))
		}
	} else {
		t, err := p.term()
		if err != nil {
			return err
		}
		switch v := t.(type) {
		case int64:
			values = append(values, big.NewInt(v))
		case *big.Int:
			values = append(values, v)
		default:
			return p.s.errorf(line, col, "a binary segment must be an integer or a string, got %s", etf.Typename(t))
		}
	}
	size := int64(-1)
	if p.is(":") {
		if err := p.advance(); err != nil {
			return err
		}
		if p.tok.kind != tokInt || p.tok.num.Sign() < 0 || p.tok.num.Cmp(big.NewInt(maxSegmentBits)) > 0 {
			return p.unexpected(fmt.Sprintf("a segment size from 0 to %d", maxSegmentBits))
		}
		size = p.tok.num.Int64()
		if err := p.advance(); err != nil {
			return err
		}
	}
	utf := false
	for sep := "/"; p.is(sep); sep = "-" {
		if err := p.advance(); err != nil {
			return err
		}
		switch {
		case p.tok.kind == tokAtom && p.tok.text == "utf8" && size < 0:
			utf = true
		case p.tok.kind == tokAtom && (p.tok.text == "integer" || p.tok.text == "signed" || p.tok.text == "unsigned" || p.tok.text == "big"):
		default:
			return p.unexpected("a segment type (integer, signed, unsigned, big or utf8 without a size)")
		}
		if err := p.advance(); err != nil {
			return err
		}
	}
	if size < 0 {
		size = 8
	}
	if total := bits.len() + int64(len(values))*max(size, 8); total > maxBinaryBits {
		return p.s.errorf(line, col, "binary is larger than %d MiB", maxBinaryBits>>23)
	}
	for _, v := range values {
		if !utf {
			bits.writeInt(v, int(size))
			continue
		}
		r := rune(v.Int64())
		if !v.IsInt64() || !utf8.ValidRune(r) {
			return p.s.errorf(line, col, "%s is not a Unicode code point for /utf8", v)
		}
		for _, b := range []byte(string(r)) {
			bits.writeInt(big.NewInt(int64(b)), 8)
		}
	}
	return nil
}

// bitWriter appends big-endian bit fields, as binary construction does.
type bitWriter struct {
	bytes []byte
	used  int // Bits used in the last byte; 0 means it is full.
}

// len returns the number of bits written.
func (w *bitWriter) len() int64 {
	if w.used == 0 {
		return int64(len(w.bytes)) * 8
	}
	return int64(len(w.bytes)-1)*8 + int64(w.used)
}

// writeInt appends the low size bits of v (two's complement).
func (w *bitWriter) writeInt(v *big.Int, size int) {
	small, sign := uint64(v.Int64()), uint64(0)
	if v.Sign() < 0 {
		sign = 1
	}
	for i := size - 1; i >= 0; i-- {
		var bit uint64
		switch {
		case !v.IsInt64():
			bit = uint64(v.Bit(i))
		case i >= 64:
			bit = sign // Sign extension.
		default:
			bit = small >> i & 1
		}
		if w.used == 0 {
			w.bytes = append(w.bytes, 0)
		}
		w.bytes[len(w.bytes)-1] |= byte(bit) << (7 - w.used)
		w.used = (w.used + 1) % 8
	}
}

func (w *bitWriter) term() etf.Term {
	if w.used == 0 {
		if w.bytes == nil {
			return []byte{}
		}
		return w.bytes
	}
	return etf.BitBinary{Bytes: w.bytes, Bits: uint8(w.used)}
}
