package termtext

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/beamctl/beamctl/internal/etf"
)

// maxDepth bounds nesting so that hostile input errors instead of
// exhausting the stack.
const maxDepth = 1000

// reserved words cannot be bare atoms.
var reserved = map[string]bool{
	"after": true, "and": true, "andalso": true, "band": true, "begin": true, "bnot": true, "bor": true,
	"bsl": true, "bsr": true, "bxor": true, "case": true, "catch": true, "cond": true, "div": true,
	"else": true, "end": true, "fun": true, "if": true, "let": true, "maybe": true, "not": true, "of": true,
	"or": true, "orelse": true, "receive": true, "rem": true, "try": true, "when": true, "xor": true,
}

type parser struct {
	src   string
	pos   int
	opts  Options
	depth int
}

func (p *parser) errorf(format string, args ...any) error {
	line, col := 1, 1
	for _, r := range p.src[:min(p.pos, len(p.src))] {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &SyntaxError{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

func (p *parser) peek() rune {
	if p.eof() {
		return -1
	}
	r, _ := utf8.DecodeRuneInString(p.src[p.pos:])
	return r
}

func (p *parser) next() rune {
	r, n := utf8.DecodeRuneInString(p.src[p.pos:])
	if n == 0 {
		return -1
	}
	p.pos += n
	return r
}

func (p *parser) skipSpace() {
	for !p.eof() {
		switch r := p.peek(); {
		case r == '%':
			for !p.eof() && p.peek() != '\n' {
				p.next()
			}
		case unicode.IsSpace(r):
			p.next()
		default:
			return
		}
	}
}

// accept consumes s if the input continues with it.
func (p *parser) accept(s string) bool {
	p.skipSpace()
	if strings.HasPrefix(p.src[p.pos:], s) {
		p.pos += len(s)
		return true
	}
	return false
}

func (p *parser) expect(s, context string) error {
	if p.accept(s) {
		return nil
	}
	if p.eof() {
		return p.errorf("unexpected end of input (expected %q %s)", s, context)
	}
	return p.errorf("unexpected %q (expected %q %s)", p.peek(), s, context)
}

func (p *parser) parseAll() (etf.Term, error) {
	t, err := p.term()
	if err != nil {
		return nil, err
	}
	p.accept(".")
	p.skipSpace()
	if !p.eof() {
		return nil, p.errorf("unexpected %q after the term", p.peek())
	}
	return t, nil
}

func (p *parser) term() (etf.Term, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.errorf("terms nested deeper than %d", maxDepth)
	}
	p.skipSpace()
	if p.eof() {
		return nil, p.errorf("unexpected end of input (expected a term)")
	}
	switch r := p.peek(); {
	case r == '{':
		p.next()
		elems, err := p.seq("}", "to close the tuple")
		return etf.Tuple(elems), err
	case r == '[':
		return p.list()
	case strings.HasPrefix(p.src[p.pos:], "#{"):
		return p.mapTerm()
	case strings.HasPrefix(p.src[p.pos:], "#Ref<"):
		p.pos += len("#Ref<")
		return p.ref()
	case strings.HasPrefix(p.src[p.pos:], "#Port<"):
		p.pos += len("#Port<")
		return p.port()
	case strings.HasPrefix(p.src[p.pos:], "#Fun<"):
		return nil, p.errorf("a local fun (#Fun<...>) cannot be written as text")
	case strings.HasPrefix(p.src[p.pos:], "<<"):
		p.pos += 2
		return p.binary()
	case r == '<':
		p.next()
		return p.pid()
	case r == '"':
		return p.strings()
	case r == '\'':
		a, err := p.quotedAtom()
		return a, err
	case r == '$':
		p.next()
		c, err := p.char()
		return int64(c), err
	case r == '-' || r == '+' || r >= '0' && r <= '9':
		return p.number()
	case isAtomStart(r):
		return p.bareAtomOrFun()
	case r == '_' || unicode.IsUpper(r):
		start := p.pos
		for !p.eof() && isAtomChar(p.peek()) {
			p.next()
		}
		word := p.src[start:p.pos]
		p.pos = start
		return nil, p.errorf("%s is a variable, not a term (quote it for an atom: '%s')", word, word)
	default:
		return nil, p.errorf("unexpected %q", r)
	}
}

// seq parses "elem, elem, ... close" after an opening bracket.
func (p *parser) seq(closing, context string) ([]etf.Term, error) {
	elems := []etf.Term{}
	if p.accept(closing) {
		return elems, nil
	}
	for {
		t, err := p.term()
		if err != nil {
			return nil, err
		}
		elems = append(elems, t)
		if p.accept(",") {
			continue
		}
		if err := p.expect(closing, "or ',' "+context); err != nil {
			return nil, err
		}
		return elems, nil
	}
}

func (p *parser) list() (etf.Term, error) {
	p.next() // [
	if p.accept("]") {
		return etf.List(nil), nil
	}
	var elems []etf.Term
	for {
		t, err := p.term()
		if err != nil {
			return nil, err
		}
		elems = append(elems, t)
		switch {
		case p.accept(","):
			continue
		case p.accept("|"):
			tail, err := p.term()
			if err != nil {
				return nil, err
			}
			if err := p.expect("]", "to close the list"); err != nil {
				return nil, err
			}
			switch v := tail.(type) {
			case etf.List:
				return append(etf.List(elems), v...), nil
			case etf.String:
				l, _ := etf.ToList(v)
				return append(etf.List(elems), l...), nil
			case etf.ImproperList:
				return etf.ImproperList{Elems: append(elems, v.Elems...), Tail: v.Tail}, nil
			}
			return etf.ImproperList{Elems: elems, Tail: tail}, nil
		}
		if err := p.expect("]", "or ',' or '|' to close the list"); err != nil {
			return nil, err
		}
		return etf.List(elems), nil
	}
}

func (p *parser) mapTerm() (etf.Term, error) {
	p.pos += 2 // #{
	m := etf.Map{}
	if p.accept("}") {
		return m, nil
	}
	for {
		k, err := p.term()
		if err != nil {
			return nil, err
		}
		if err := p.expect("=>", "between a map key and its value"); err != nil {
			return nil, err
		}
		v, err := p.term()
		if err != nil {
			return nil, err
		}
		m = append(m, etf.MapPair{Key: k, Value: v})
		if p.accept(",") {
			continue
		}
		if err := p.expect("}", "or ',' to close the map"); err != nil {
			return nil, err
		}
		return m, nil
	}
}

func isAtomStart(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'ß' && r <= 'ÿ' && r != '÷'
}

func isAtomChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '@' ||
		r >= 'ß' && r <= 'ÿ' && r != '÷' || r >= 'À' && r <= 'Þ' && r != '×'
}

func (p *parser) bareWord() string {
	start := p.pos
	for !p.eof() && isAtomChar(p.peek()) {
		p.next()
	}
	return p.src[start:p.pos]
}

func (p *parser) bareAtomOrFun() (etf.Term, error) {
	start := p.pos
	word := p.bareWord()
	if word == "fun" {
		return p.export()
	}
	if reserved[word] {
		p.pos = start
		return nil, p.errorf("%s is a reserved word; quote it for an atom: '%s'", word, word)
	}
	return etf.Atom(word), nil
}

// export parses "M:F/A" after "fun".
func (p *parser) export() (etf.Term, error) {
	mod, err := p.atom("module name after fun")
	if err != nil {
		return nil, err
	}
	if err := p.expect(":", "in fun M:F/A (local funs cannot be written as text)"); err != nil {
		return nil, err
	}
	fn, err := p.atom("function name in fun M:F/A")
	if err != nil {
		return nil, err
	}
	if err := p.expect("/", "in fun M:F/A"); err != nil {
		return nil, err
	}
	p.skipSpace()
	n, err := p.unsigned("arity")
	if err != nil {
		return nil, err
	}
	if n > 255 {
		return nil, p.errorf("arity %d is larger than 255", n)
	}
	return etf.Export{Module: mod, Function: fn, Arity: uint8(n)}, nil
}

// atom parses a bare or quoted atom.
func (p *parser) atom(what string) (etf.Atom, error) {
	p.skipSpace()
	switch r := p.peek(); {
	case r == '\'':
		return p.quotedAtom()
	case isAtomStart(r):
		return etf.Atom(p.bareWord()), nil
	}
	return "", p.errorf("expected %s", what)
}

func (p *parser) quotedAtom() (etf.Atom, error) {
	s, err := p.quoted('\'')
	if err != nil {
		return "", err
	}
	if utf8.RuneCountInString(s) > 255 {
		return "", p.errorf("atom longer than 255 characters")
	}
	return etf.Atom(s), nil
}

// quoted parses text between quote characters, with escapes.
func (p *parser) quoted(q rune) (string, error) {
	p.next() // opening quote
	var b strings.Builder
	for {
		if p.eof() {
			if q == '"' {
				return "", p.errorf("unterminated string")
			}
			return "", p.errorf("unterminated quoted atom")
		}
		r := p.next()
		switch r {
		case q:
			return b.String(), nil
		case '\\':
			c, err := p.escape()
			if err != nil {
				return "", err
			}
			b.WriteRune(c)
		default:
			b.WriteRune(r)
		}
	}
}

// escape parses what follows a backslash.
func (p *parser) escape() (rune, error) {
	if p.eof() {
		return 0, p.errorf("unterminated escape sequence")
	}
	r := p.next()
	switch r {
	case 'b':
		return '\b', nil
	case 'd':
		return 0x7f, nil
	case 'e':
		return 0x1b, nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 's':
		return ' ', nil
	case 't':
		return '\t', nil
	case 'v':
		return '\v', nil
	case '^':
		if p.eof() {
			return 0, p.errorf("unterminated escape sequence")
		}
		return p.next() & 0x1f, nil
	case 'x':
		if p.peek() == '{' {
			p.next()
			start := p.pos
			for !p.eof() && p.peek() != '}' {
				p.next()
			}
			if p.eof() {
				return 0, p.errorf("unterminated \\x{...} escape")
			}
			hex := p.src[start:p.pos]
			p.next()
			v, err := strconv.ParseUint(hex, 16, 32)
			if err != nil || v > unicode.MaxRune {
				return 0, p.errorf("bad \\x{%s} escape", hex)
			}
			return rune(v), nil
		}
		if p.pos+2 > len(p.src) {
			return 0, p.errorf("unterminated \\x escape")
		}
		v, err := strconv.ParseUint(p.src[p.pos:p.pos+2], 16, 8)
		if err != nil {
			return 0, p.errorf("bad \\x escape")
		}
		p.pos += 2
		return rune(v), nil
	}
	if r >= '0' && r <= '7' {
		v := r - '0'
		for i := 0; i < 2 && p.peek() >= '0' && p.peek() <= '7'; i++ {
			v = v*8 + p.next() - '0'
		}
		return v, nil
	}
	return r, nil // \' \" \\ and any other character stand for themselves
}

func (p *parser) char() (rune, error) {
	if p.eof() {
		return 0, p.errorf("unexpected end of input after $")
	}
	if r := p.next(); r != '\\' {
		return r, nil
	}
	return p.escape()
}

// strings parses one or more adjacent string literals ("a" "b" is "ab").
func (p *parser) strings() (etf.Term, error) {
	var runes []rune
	for {
		s, err := p.quoted('"')
		if err != nil {
			return nil, err
		}
		runes = append(runes, []rune(s)...)
		p.skipSpace()
		if p.peek() != '"' {
			break
		}
	}
	return stringTerm(runes), nil
}

// stringTerm is a charlist: a String when every character fits a byte,
// else a list of code points.
func stringTerm(runes []rune) etf.Term {
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

func (p *parser) digits(base int) (string, error) {
	start := p.pos
	for !p.eof() {
		r := p.peek()
		if r == '_' && p.pos > start {
			p.next()
			continue
		}
		if d := digitValue(r); d < 0 || d >= base {
			break
		}
		p.next()
	}
	s := strings.ReplaceAll(p.src[start:p.pos], "_", "")
	if s == "" {
		return "", p.errorf("expected digits")
	}
	return s, nil
}

func digitValue(r rune) int {
	switch {
	case r >= '0' && r <= '9':
		return int(r - '0')
	case r >= 'a' && r <= 'z':
		return int(r-'a') + 10
	case r >= 'A' && r <= 'Z':
		return int(r-'A') + 10
	}
	return -1
}

func (p *parser) unsigned(what string) (int64, error) {
	s, err := p.digits(10)
	if err != nil {
		return 0, p.errorf("expected %s", what)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, p.errorf("%s %s is too large", what, s)
	}
	return v, nil
}

func (p *parser) number() (etf.Term, error) {
	neg := false
	if r := p.peek(); r == '-' || r == '+' {
		neg = p.next() == '-'
		p.skipSpace()
		if r := p.peek(); r < '0' || r > '9' {
			if r == '$' {
				p.next()
				c, err := p.char()
				if neg {
					return -int64(c), err
				}
				return int64(c), err
			}
			return nil, p.errorf("expected a number after the sign")
		}
	}
	ds, err := p.digits(10)
	if err != nil {
		return nil, err
	}
	switch {
	case p.peek() == '#':
		p.next()
		base, err := strconv.Atoi(ds)
		if err != nil || base < 2 || base > 36 {
			return nil, p.errorf("base %s is not between 2 and 36", ds)
		}
		ds, err = p.digits(base)
		if err != nil {
			return nil, err
		}
		return intTerm(ds, base, neg), nil
	case p.peek() == '.' && p.pos+1 < len(p.src) && p.src[p.pos+1] >= '0' && p.src[p.pos+1] <= '9':
		p.next()
		frac, err := p.digits(10)
		if err != nil {
			return nil, err
		}
		text := ds + "." + frac
		if r := p.peek(); r == 'e' || r == 'E' {
			p.next()
			text += "e"
			if r := p.peek(); r == '-' || r == '+' {
				text += string(p.next())
			}
			exp, err := p.digits(10)
			if err != nil {
				return nil, err
			}
			text += exp
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, p.errorf("float %s is out of range", text)
		}
		if neg {
			f = -f
		}
		return f, nil
	}
	return intTerm(ds, 10, neg), nil
}

func intTerm(digits string, base int, neg bool) etf.Term {
	z, _ := new(big.Int).SetString(digits, base) // digits were validated
	if neg {
		z.Neg(z)
	}
	if z.IsInt64() {
		return z.Int64()
	}
	return z
}

// node parses the node part of <Node.X.Y>: 0 for the local node, or a node
// name atom.
func (p *parser) node(what string) (etf.Atom, error) {
	p.skipSpace()
	r := p.peek()
	if r >= '0' && r <= '9' {
		n, err := p.unsigned("node index")
		if err != nil {
			return "", err
		}
		if n != 0 {
			return "", p.errorf("%s with node index %d: only 0 (the local node) is known here; write the node name instead, e.g. <'b@host'.54.0>", what, n)
		}
		if p.opts.LocalNode == "" {
			return "", p.errorf("%s <0...> needs a node to belong to; none is set here", what)
		}
		return p.opts.LocalNode, nil
	}
	return p.atom("a node index or node name in a " + what)
}

func (p *parser) pid() (etf.Term, error) {
	node, err := p.node("pid")
	if err != nil {
		return nil, err
	}
	var ids [2]int64
	for i := range ids {
		if err := p.expect(".", "in a pid"); err != nil {
			return nil, err
		}
		if ids[i], err = p.unsigned("pid number"); err != nil {
			return nil, err
		}
		if ids[i] > 1<<32-1 {
			return nil, p.errorf("pid number %d is too large", ids[i])
		}
	}
	if err := p.expect(">", "to close the pid"); err != nil {
		return nil, err
	}
	return etf.Pid{Node: node, ID: uint32(ids[0]), Serial: uint32(ids[1])}, nil
}

func (p *parser) port() (etf.Term, error) {
	node, err := p.node("port")
	if err != nil {
		return nil, err
	}
	if err := p.expect(".", "in a port"); err != nil {
		return nil, err
	}
	id, err := p.unsigned("port number")
	if err != nil {
		return nil, err
	}
	if err := p.expect(">", "to close the port"); err != nil {
		return nil, err
	}
	return etf.Port{Node: node, ID: uint64(id)}, nil
}

// ref parses #Ref<Node.Wn...W0>; Erlang prints the words highest first.
func (p *parser) ref() (etf.Term, error) {
	node, err := p.node("reference")
	if err != nil {
		return nil, err
	}
	var words []uint32
	for p.accept(".") {
		w, err := p.unsigned("reference number")
		if err != nil {
			return nil, err
		}
		if w > 1<<32-1 {
			return nil, p.errorf("reference number %d is too large", w)
		}
		words = append(words, uint32(w))
	}
	if len(words) < 1 || len(words) > etf.MaxRefWords {
		return nil, p.errorf("a reference has 1 to %d numbers, not %d", etf.MaxRefWords, len(words))
	}
	if err := p.expect(">", "to close the reference"); err != nil {
		return nil, err
	}
	r := etf.Ref{Node: node, Len: uint8(len(words))}
	for i, w := range words {
		r.ID[len(words)-1-i] = w
	}
	return r, nil
}

// binary parses the segments of <<...>> after "<<".
func (p *parser) binary() (etf.Term, error) {
	var bb bitBuilder
	if p.accept(">>") {
		return []byte{}, nil
	}
	for {
		p.skipSpace()
		if p.peek() == '"' {
			s, err := p.quoted('"')
			if err != nil {
				return nil, err
			}
			utf := false
			if p.accept("/") {
				p.skipSpace()
				switch t := p.bareWord(); t {
				case "utf8":
					utf = true
				case "latin1", "binary":
				default:
					return nil, p.errorf("unsupported string type /%s in a binary (use utf8)", t)
				}
			}
			for _, r := range s {
				if utf {
					var buf [4]byte
					n := utf8.EncodeRune(buf[:], r)
					for _, c := range buf[:n] {
						bb.add(uint64(c), 8)
					}
				} else {
					bb.add(uint64(r), 8)
				}
			}
		} else {
			t, err := p.term()
			if err != nil {
				return nil, err
			}
			v, ok := t.(int64)
			if !ok {
				return nil, p.errorf("binary segments must be integers or strings, not %s", etf.Typename(t))
			}
			size := int64(8)
			if p.accept(":") {
				p.skipSpace()
				if size, err = p.unsigned("segment size"); err != nil {
					return nil, err
				}
				if size < 1 || size > 64 {
					return nil, p.errorf("segment size %d is not between 1 and 64", size)
				}
			}
			bb.add(uint64(v), int(size))
		}
		if p.accept(",") {
			continue
		}
		if err := p.expect(">>", "or ',' to close the binary"); err != nil {
			return nil, err
		}
		return bb.term(), nil
	}
}

// bitBuilder appends big-endian bit fields.
type bitBuilder struct {
	bytes []byte
	bits  int // bits used in the last byte (0 = full)
}

func (b *bitBuilder) add(v uint64, size int) {
	for i := size - 1; i >= 0; i-- {
		bit := byte(v>>uint(i)) & 1
		if b.bits == 0 {
			b.bytes = append(b.bytes, 0)
		}
		b.bytes[len(b.bytes)-1] |= bit << (7 - b.bits)
		b.bits = (b.bits + 1) % 8
	}
}

func (b *bitBuilder) term() etf.Term {
	if b.bits == 0 {
		if b.bytes == nil {
			return []byte{}
		}
		return b.bytes
	}
	return etf.BitBinary{Bytes: b.bytes, Bits: uint8(b.bits)}
}
