package dist

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/beamctl/beamctl/internal/etf"
)

// formatTerm writes the term of an error (a badrpc reason) on one line as
// Erlang's ~tp does, with local's pids written as <0.X.Y>. It is a small
// copy of termtext.FormatWith (a test checks that they agree), so that
// dist does not depend on the text package; floats are written in Go's
// shortest form.
func formatTerm(t etf.Term, local etf.Atom) string {
	var b strings.Builder
	writeTerm(&b, t, local)
	return b.String()
}

func writeTerm(b *strings.Builder, t etf.Term, local etf.Atom) {
	seq := func(open, close string, elems []etf.Term, tail etf.Term) {
		b.WriteString(open)
		for i, e := range elems {
			if i > 0 {
				b.WriteByte(',')
			}
			writeTerm(b, e, local)
		}
		if tail != nil {
			b.WriteByte('|')
			writeTerm(b, tail, local)
		}
		b.WriteString(close)
	}
	node := func(n etf.Atom) string {
		if n == local && n != "" {
			return "0"
		}
		return "'" + escapeText(string(n), '\'') + "'"
	}
	switch v := t.(type) {
	case etf.Atom:
		b.WriteString(quoteAtom(string(v)))
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case float64:
		s := strconv.FormatFloat(v, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eIN") {
			s += ".0"
		}
		b.WriteString(s)
	case []byte:
		writeBinary(b, v)
	case string:
		writeBinary(b, []byte(v))
	case etf.String:
		if v == "" {
			b.WriteString("[]")
		} else if s, ok := latin1Text([]byte(v)); ok {
			b.WriteString(`"` + escapeText(s, '"') + `"`)
		} else {
			seq("[", "]", stringElems(v), nil)
		}
	case etf.List:
		writeList(b, v, local, seq)
	case []etf.Term:
		writeList(b, v, local, seq)
	case etf.ImproperList:
		if len(v.Elems) == 0 {
			writeTerm(b, v.Tail, local)
			return
		}
		seq("[", "]", v.Elems, v.Tail)
	case etf.Tuple:
		seq("{", "}", v, nil)
	case etf.Map:
		b.WriteString("#{")
		for i, p := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeTerm(b, p.Key, local)
			b.WriteString(" => ")
			writeTerm(b, p.Value, local)
		}
		b.WriteByte('}')
	case etf.Pid:
		fmt.Fprintf(b, "<%s.%d.%d>", node(v.Node), v.ID, v.Serial)
	case etf.Port:
		fmt.Fprintf(b, "#Port<%s.%d>", node(v.Node), v.ID)
	case etf.Ref:
		b.WriteString("#Ref<" + node(v.Node))
		for i := min(int(v.Len), etf.MaxRefWords) - 1; i >= 0; i-- {
			b.WriteString("." + strconv.FormatUint(uint64(v.ID[i]), 10))
		}
		b.WriteByte('>')
	case etf.Export:
		fmt.Fprintf(b, "fun %s:%s/%d", quoteAtom(string(v.Module)), quoteAtom(string(v.Function)), v.Arity)
	case etf.Fun:
		fmt.Fprintf(b, "#Fun<%s.%d.%d>", quoteAtom(string(v.Module)), v.OldIndex, v.OldUniq)
	default:
		if z, ok := etf.ToBigInt(t); ok {
			b.WriteString(z.String())
			return
		}
		fmt.Fprintf(b, "'#Go<%T>'", t)
	}
}

func stringElems(s etf.String) []etf.Term {
	out := make([]etf.Term, len(s))
	for i := range len(s) {
		out[i] = int64(s[i])
	}
	return out
}

// writeList writes a proper list, as a string when it is printable
// Latin-1 text.
func writeList(b *strings.Builder, l []etf.Term, local etf.Atom, seq func(string, string, []etf.Term, etf.Term)) {
	if len(l) == 0 {
		b.WriteString("[]")
		return
	}
	text := make([]byte, 0, len(l))
	for _, e := range l {
		c, ok := e.(int64)
		if !ok || c < 0 || c > 0xFF {
			seq("[", "]", l, nil)
			return
		}
		text = append(text, byte(c))
	}
	if s, ok := latin1Text(text); ok {
		b.WriteString(`"` + escapeText(s, '"') + `"`)
		return
	}
	seq("[", "]", l, nil)
}

// writeBinary writes <<"text">> for printable text (with /utf8 when it is
// not ASCII), else the bytes.
func writeBinary(b *strings.Builder, v []byte) {
	if len(v) == 0 {
		b.WriteString("<<>>")
		return
	}
	if utf8.Valid(v) {
		if printableAll(string(v)) {
			b.WriteString(`<<"` + escapeText(string(v), '"') + `"`)
			if utf8.RuneCount(v) != len(v) {
				b.WriteString("/utf8")
			}
			b.WriteString(">>")
			return
		}
	} else if s, ok := latin1Text(v); ok {
		b.WriteString(`<<"` + escapeText(s, '"') + `">>`)
		return
	}
	b.WriteString("<<")
	for i, c := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(c)))
	}
	b.WriteString(">>")
}

// latin1Text returns bytes as the characters they are in Latin-1, when
// every one is printable.
func latin1Text(v []byte) (string, bool) {
	runes := make([]rune, len(v))
	for i, c := range v {
		runes[i] = rune(c)
	}
	s := string(runes)
	return s, printableAll(s)
}

// printableAll reports whether io_lib counts every character of s as
// printable in its default (Latin-1) range.
func printableAll(s string) bool {
	for _, r := range s {
		if !(r >= ' ' && r <= '~' || r >= '\b' && r <= '\r' || r == 0x1b || r >= 0xA0 && r <= 0xFF) {
			return false
		}
	}
	return true
}

// quoteAtom writes an atom bare when it is a lowercase name that is not a
// reserved word, else quoted.
func quoteAtom(s string) string {
	bare := s != "" && !reservedWords[s]
	for i, r := range s {
		start := r >= 'a' && r <= 'z' || r >= 'ß' && r <= 'ÿ' && r != '÷'
		name := start || r >= 'A' && r <= 'Z' || r >= 'À' && r <= 'Þ' && r != '×' || r >= '0' && r <= '9' || r == '_' || r == '@'
		if i == 0 && !start || !name {
			bare = false
			break
		}
	}
	if bare {
		return s
	}
	return "'" + escapeText(s, '\'') + "'"
}

var reservedWords = map[string]bool{
	"after": true, "and": true, "andalso": true, "band": true, "begin": true, "bnot": true, "bor": true,
	"bsl": true, "bsr": true, "bxor": true, "case": true, "catch": true, "cond": true, "div": true,
	"end": true, "fun": true, "if": true, "let": true, "not": true, "of": true, "or": true,
	"orelse": true, "receive": true, "rem": true, "try": true, "when": true, "xor": true,
	"maybe": true, "else": true,
}

// escapeText escapes text for a literal quoted with q, as
// io_lib:write_string does.
func escapeText(s string, q rune) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == q || r == '\\':
			b.WriteRune('\\')
			b.WriteRune(r)
		case r >= ' ' && r <= '~' || r >= 0xA0:
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\v':
			b.WriteString(`\v`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == 0x1b:
			b.WriteString(`\e`)
		case r == 0x7f:
			b.WriteString(`\d`)
		default:
			fmt.Fprintf(&b, `\%03o`, r)
		}
	}
	return b.String()
}
