package termtext

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokenKind says what a token is.
type tokenKind int

// The token kinds. Punctuation (brackets, ',', '|', '=>', '<<', '.', ...)
// is tokPunct with the text in token.text.
const (
	tokEOF    tokenKind = iota // End of input.
	tokPunct                   // Punctuation; text holds it.
	tokAtom                    // A bare or quoted atom; text holds its name.
	tokVar                     // A variable (never valid in a term).
	tokInt                     // An integer or $c character; num holds it.
	tokFloat                   // A float; flt holds it.
	tokString                  // A string literal; runes holds its characters.
)

// token is one lexical token with the position where it starts.
type token struct {
	kind   tokenKind
	text   string   // punctuation, atom name, variable name, or source text of a number
	quoted bool     // an atom written in quotes (so it may be a reserved word)
	num    *big.Int // tokInt
	flt    float64  // tokFloat
	runes  []rune   // tokString
	line   int
	col    int
}

// String describes the token for error messages.
func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "end of input"
	case tokPunct:
		return "'" + t.text + "'"
	case tokAtom:
		return "atom " + quoteAtom(t.text)
	case tokVar:
		return "variable " + t.text
	case tokString:
		return "string " + quoteString(t.runes)
	case tokFloat:
		return "float " + t.text
	}
	return "integer " + t.text
}

// punctuation lists the multi-character tokens first, so that the longest
// one wins ("<<" before "<", "=>" before "=").
var punctuation = []string{"<<", ">>", "=>", ":=", "||", "{", "}", "[", "]", "(", ")", ",", "|", "#", "<", ">", ".", ":", "/", "-", "+", "="}

// scanner splits the input into tokens. It scans lazily, one token at a
// time, so that the parser can read the inside of <0.54.0> itself.
type scanner struct {
	src       string
	pos       int
	line, col int
}

func (s *scanner) errorf(line, col int, format string, args ...any) error {
	return &SyntaxError{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// peekRune returns the rune at the current position, or -1 at the end.
func (s *scanner) peekRune() rune {
	if s.pos >= len(s.src) {
		return -1
	}
	r, _ := utf8.DecodeRuneInString(s.src[s.pos:])
	return r
}

// nextRune consumes one rune and keeps the line and column up to date.
func (s *scanner) nextRune() rune {
	if s.pos >= len(s.src) {
		return -1
	}
	r, n := utf8.DecodeRuneInString(s.src[s.pos:])
	s.pos += n
	if r == '\n' {
		s.line, s.col = s.line+1, 1
	} else {
		s.col++
	}
	return r
}

// skipSpace skips white space and % comments.
func (s *scanner) skipSpace() {
	for {
		switch r := s.peekRune(); {
		case r == '%':
			for r := s.peekRune(); r != -1 && r != '\n'; r = s.peekRune() {
				s.nextRune()
			}
		case r != -1 && unicode.IsSpace(r):
			s.nextRune()
		default:
			return
		}
	}
}

// next scans the next token.
func (s *scanner) next() (token, error) {
	s.skipSpace()
	tok := token{line: s.line, col: s.col}
	r := s.peekRune()
	switch {
	case r == -1:
		tok.kind = tokEOF
		return tok, nil
	case r >= '0' && r <= '9':
		return s.number(tok)
	case r == '$':
		s.nextRune()
		c, err := s.char()
		tok.kind, tok.num, tok.text = tokInt, big.NewInt(int64(c)), "$"+string(c)
		return tok, err
	case r == '"':
		runes, err := s.quoted('"')
		tok.kind, tok.runes = tokString, runes
		return tok, err
	case r == '\'':
		runes, err := s.quoted('\'')
		tok.kind, tok.text, tok.quoted = tokAtom, string(runes), true
		return tok, err
	case isAtomStart(r):
		tok.kind, tok.text = tokAtom, s.word()
		return tok, nil
	case r == '_' || isUpper(r):
		tok.kind, tok.text = tokVar, s.word()
		return tok, nil
	}
	for _, p := range punctuation {
		if strings.HasPrefix(s.src[s.pos:], p) {
			for range p {
				s.nextRune()
			}
			tok.kind, tok.text = tokPunct, p
			return tok, nil
		}
	}
	return tok, s.errorf(tok.line, tok.col, "unexpected character %s", quoteChar(r))
}

// isAtomStart reports whether r can start a bare atom: a lowercase Latin-1
// letter, as in erl_scan.
func isAtomStart(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'ß' && r <= 'ÿ' && r != '÷'
}

func isUpper(r rune) bool {
	return r >= 'A' && r <= 'Z' || r >= 'À' && r <= 'Þ' && r != '×'
}

// isNameChar reports whether r can continue an atom or variable name.
func isNameChar(r rune) bool {
	return isAtomStart(r) || isUpper(r) || r >= '0' && r <= '9' || r == '_' || r == '@'
}

// word scans a name: an atom or a variable.
func (s *scanner) word() string {
	start := s.pos
	for isNameChar(s.peekRune()) {
		s.nextRune()
	}
	return s.src[start:s.pos]
}

// quoteChar shows one character in an error message.
func quoteChar(r rune) string {
	if unicode.IsPrint(r) {
		return "'" + string(r) + "'"
	}
	return fmt.Sprintf("U+%04X", r)
}

// quoted scans a string or quoted atom, with escapes, up to the closing q.
func (s *scanner) quoted(q rune) ([]rune, error) {
	line, col := s.line, s.col
	s.nextRune()
	var runes []rune
	for {
		switch r := s.nextRune(); r {
		case -1:
			if q == '"' {
				return nil, s.errorf(line, col, "unterminated string")
			}
			return nil, s.errorf(line, col, "unterminated quoted atom")
		case q:
			return runes, nil
		case '\\':
			c, err := s.escape()
			if err != nil {
				return nil, err
			}
			runes = append(runes, c)
		default:
			runes = append(runes, r)
		}
	}
}

// escape scans what follows a backslash, as erl_scan does: \n \t \s ...,
// octal \NNN, \xHH, \x{H...}, control characters \^A, and any other
// character standing for itself (\' \" \\).
func (s *scanner) escape() (rune, error) {
	line, col := s.line, s.col-1
	bad := func(what string) (rune, error) { return 0, s.errorf(line, col, "bad escape %s", what) }
	r := s.nextRune()
	switch r {
	case -1:
		return bad("at end of input")
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
		c := s.nextRune()
		if c == -1 {
			return bad("at end of input")
		}
		return c & 0x1f, nil
	case 'x':
		if s.peekRune() == '{' {
			s.nextRune()
			start := s.pos
			for isHex(s.peekRune()) {
				s.nextRune()
			}
			hex := s.src[start:s.pos]
			v, err := strconv.ParseUint(hex, 16, 32)
			if s.nextRune() != '}' || err != nil || v > unicode.MaxRune {
				return bad(`\x{` + hex + "...")
			}
			return rune(v), nil
		}
		if s.pos+2 > len(s.src) || !isHex(rune(s.src[s.pos])) || !isHex(rune(s.src[s.pos+1])) {
			return bad(`\x (want two hex digits or \x{...})`)
		}
		v, _ := strconv.ParseUint(s.src[s.pos:s.pos+2], 16, 8)
		s.nextRune()
		s.nextRune()
		return rune(v), nil
	}
	if r >= '0' && r <= '7' {
		v := r - '0'
		for i := 0; i < 2 && s.peekRune() >= '0' && s.peekRune() <= '7'; i++ {
			v = v*8 + s.nextRune() - '0'
		}
		return v, nil
	}
	return r, nil
}

func isHex(r rune) bool { return digitValue(r) >= 0 && digitValue(r) < 16 }

// char scans the character after '$'.
func (s *scanner) char() (rune, error) {
	switch r := s.nextRune(); r {
	case -1:
		return 0, s.errorf(s.line, s.col, "unexpected end of input after $")
	case '\\':
		return s.escape()
	default:
		return r, nil
	}
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

// digits scans digits of base with single '_' separators between them
// (1_000), and returns them without the separators.
func (s *scanner) digits(base int) string {
	var b strings.Builder
	for {
		if d := digitValue(s.peekRune()); d < 0 || d >= base {
			return b.String()
		}
		b.WriteRune(s.nextRune())
		if s.peekRune() == '_' && s.pos+1 < len(s.src) {
			if d := digitValue(rune(s.src[s.pos+1])); d >= 0 && d < base {
				s.nextRune()
			}
		}
	}
}

// number scans an integer (42, 16#FF, 1_000) or a float (1.5, 2.0e-3).
func (s *scanner) number(tok token) (token, error) {
	start := s.pos
	ds := s.digits(10)
	if s.peekRune() == '#' {
		base, err := strconv.Atoi(ds)
		if err != nil || base < 2 || base > 36 {
			return tok, s.errorf(tok.line, tok.col, "base %s is not between 2 and 36", ds)
		}
		s.nextRune()
		line, col := s.line, s.col
		if ds = s.digits(base); ds == "" {
			return tok, s.errorf(line, col, "missing digits after %d#", base)
		}
		tok.num, _ = new(big.Int).SetString(ds, base)
		tok.kind, tok.text = tokInt, s.src[start:s.pos]
		return tok, nil
	}
	// A '.' is a decimal point only when a digit follows: 1.5, not [1].
	if s.peekRune() != '.' || s.pos+1 >= len(s.src) || s.src[s.pos+1] < '0' || s.src[s.pos+1] > '9' {
		tok.num, _ = new(big.Int).SetString(ds, 10)
		tok.kind, tok.text = tokInt, s.src[start:s.pos]
		return tok, nil
	}
	s.nextRune()
	text := ds + "." + s.digits(10)
	if r := s.peekRune(); r == 'e' || r == 'E' {
		s.nextRune()
		text += "e"
		if r := s.peekRune(); r == '-' || r == '+' {
			text += string(s.nextRune())
		}
		exp := s.digits(10)
		if exp == "" {
			return tok, s.errorf(tok.line, tok.col, "bad float %s (missing exponent digits)", s.src[start:s.pos])
		}
		text += exp
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && f != 0 { // Underflow to 0.0 is fine, as in Erlang.
		return tok, s.errorf(tok.line, tok.col, "float %s is out of range", s.src[start:s.pos])
	}
	tok.kind, tok.flt, tok.text = tokFloat, f, s.src[start:s.pos]
	return tok, nil
}
