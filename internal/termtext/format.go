package termtext

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/beamctl/beamctl/internal/etf"
)

// prettyWidth is the line length of FormatPretty, as io:format("~p").
const prettyWidth = 80

// Format prints t on one line, as io_lib:format("~tp") would with an
// unlimited line length. Pids of unknown nodes print with their node name.
func Format(t etf.Term) string { return FormatWith(t, Options{}) }

// FormatWith prints t on one line, with pids of o.LocalNode as <0.X.Y>.
func FormatWith(t etf.Term, o Options) string {
	var b strings.Builder
	f := formatter{opts: o}
	f.write(&b, t)
	return b.String()
}

// FormatPretty prints t over several lines when it does not fit in 80
// columns, indenting like io:format("~p").
func FormatPretty(t etf.Term) string { return FormatPrettyWith(t, Options{}) }

// FormatPrettyWith is FormatPretty with pids of o.LocalNode as <0.X.Y>.
func FormatPrettyWith(t etf.Term, o Options) string {
	var b strings.Builder
	f := formatter{opts: o}
	f.pretty(&b, t, 0)
	return b.String()
}

type formatter struct {
	opts Options
}

func (f formatter) flat(t etf.Term) string {
	var b strings.Builder
	f.write(&b, t)
	return b.String()
}

// pretty writes t starting at column col: flat when it fits, else one
// element per line aligned after the opening bracket.
func (f formatter) pretty(b *strings.Builder, t etf.Term, col int) {
	flat := f.flat(t)
	if col+utf8.RuneCountInString(flat) <= prettyWidth {
		b.WriteString(flat)
		return
	}
	var open, closing string
	var elems []etf.Term
	var tail etf.Term
	switch v := t.(type) {
	case etf.Tuple:
		open, closing, elems = "{", "}", v
	case etf.List:
		if _, ok := printable(v); ok {
			b.WriteString(flat)
			return
		}
		open, closing, elems = "[", "]", v
	case []etf.Term:
		open, closing, elems = "[", "]", v
	case etf.ImproperList:
		open, closing, elems, tail = "[", "]", v.Elems, v.Tail
	case etf.Map:
		b.WriteString("#{")
		for i, p := range v {
			if i > 0 {
				b.WriteString(",\n")
				b.WriteString(strings.Repeat(" ", col+2))
			}
			k := f.flat(p.Key)
			b.WriteString(k)
			b.WriteString(" => ")
			f.pretty(b, p.Value, col+2+utf8.RuneCountInString(k)+4)
		}
		b.WriteString("}")
		return
	default:
		b.WriteString(flat)
		return
	}
	b.WriteString(open)
	for i, e := range elems {
		switch {
		case i == 1 && open == "{" && isAtom(elems[0]):
			// {tag, ...}: the tag stays on the line, as ~p prints records.
			b.WriteString(",")
			f.pretty(b, e, col+1+utf8.RuneCountInString(f.flat(elems[0]))+1)
			continue
		case i > 0:
			b.WriteString(",\n")
			b.WriteString(strings.Repeat(" ", col+1))
		}
		f.pretty(b, e, col+1)
	}
	if tail != nil {
		b.WriteString("|")
		f.pretty(b, tail, col+1)
	}
	b.WriteString(closing)
}

func isAtom(t etf.Term) bool {
	_, ok := t.(etf.Atom)
	return ok
}

func (f formatter) write(b *strings.Builder, t etf.Term) {
	switch v := t.(type) {
	case etf.Atom:
		b.WriteString(quoteAtom(string(v)))
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case int:
		b.WriteString(strconv.Itoa(v))
	case *big.Int:
		b.WriteString(v.String())
	case float64:
		b.WriteString(formatFloat(v))
	case []byte:
		writeBinary(b, v)
	case string:
		writeBinary(b, []byte(v))
	case etf.BitBinary:
		b.WriteString("<<")
		for _, c := range v.Bytes[:len(v.Bytes)-1] {
			b.WriteString(strconv.Itoa(int(c)))
			b.WriteString(",")
		}
		last := v.Bytes[len(v.Bytes)-1] >> (8 - v.Bits)
		fmt.Fprintf(b, "%d:%d>>", last, v.Bits)
	case etf.String:
		l, _ := etf.ToList(v)
		f.write(b, etf.List(l))
	case etf.List:
		if s, ok := printable(v); ok {
			b.WriteString(quoteString(s, '"'))
			return
		}
		f.writeSeq(b, "[", "]", v, nil)
	case []etf.Term:
		f.write(b, etf.List(v))
	case etf.ImproperList:
		f.writeSeq(b, "[", "]", v.Elems, v.Tail)
	case etf.Tuple:
		f.writeSeq(b, "{", "}", v, nil)
	case etf.Map:
		b.WriteString("#{")
		for i, p := range v {
			if i > 0 {
				b.WriteString(",")
			}
			f.write(b, p.Key)
			b.WriteString(" => ")
			f.write(b, p.Value)
		}
		b.WriteString("}")
	case etf.Pid:
		fmt.Fprintf(b, "<%s.%d.%d>", f.node(v.Node), v.ID, v.Serial)
	case etf.Port:
		fmt.Fprintf(b, "#Port<%s.%d>", f.node(v.Node), v.ID)
	case etf.Ref:
		b.WriteString("#Ref<")
		b.WriteString(f.node(v.Node))
		for i := int(v.Len) - 1; i >= 0; i-- {
			b.WriteString(".")
			b.WriteString(strconv.FormatUint(uint64(v.ID[i]), 10))
		}
		b.WriteString(">")
	case etf.Export:
		fmt.Fprintf(b, "fun %s:%s/%d", quoteAtom(string(v.Module)), quoteAtom(string(v.Function)), v.Arity)
	case etf.Fun:
		fmt.Fprintf(b, "#Fun<%s.%d.%d>", quoteAtom(string(v.Module)), v.OldIndex, v.OldUniq)
	default:
		if z, err := etf.ToInt64(t); err == nil {
			b.WriteString(strconv.FormatInt(z, 10))
			return
		}
		fmt.Fprintf(b, "%v", t)
	}
}

func (f formatter) writeSeq(b *strings.Builder, open, closing string, elems []etf.Term, tail etf.Term) {
	b.WriteString(open)
	for i, e := range elems {
		if i > 0 {
			b.WriteString(",")
		}
		f.write(b, e)
	}
	if tail != nil {
		b.WriteString("|")
		f.write(b, tail)
	}
	b.WriteString(closing)
}

// node prints the node part of a pid, port or ref: 0 for the local node,
// else its quoted name.
func (f formatter) node(n etf.Atom) string {
	if n == f.opts.LocalNode && n != "" {
		return "0"
	}
	return "'" + escape(string(n), '\'') + "'"
}

// quoteAtom quotes an atom when it is not a valid bare atom, as io_lib does.
func quoteAtom(s string) string {
	if s == "" || reserved[s] {
		return "'" + escape(s, '\'') + "'"
	}
	for i, r := range s {
		if i == 0 && !isAtomStart(r) || !isAtomChar(r) {
			return "'" + escape(s, '\'') + "'"
		}
	}
	return s
}

func quoteString(s string, q rune) string { return string(q) + escape(s, q) + string(q) }

func escape(s string, q rune) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == q || r == '\\':
			b.WriteRune('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
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
		case r < 0x20:
			fmt.Fprintf(&b, `\^%c`, r+'@')
		case !unicode.IsPrint(r):
			fmt.Fprintf(&b, `\x{%X}`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// printable reports whether a list of integers reads as text in Erlang's
// default printable range (io:printable_range() is latin1 unless the VM runs
// with +pc unicode), as ~p decides, and returns the text.
func printable(l etf.List) (string, bool) {
	if len(l) == 0 {
		return "", false
	}
	rs := make([]rune, len(l))
	for i, e := range l {
		n, ok := e.(int64)
		if !ok || !(n >= 32 && n <= 126 || n >= 160 && n <= 255 || n >= 8 && n <= 13 || n == 27) {
			return "", false
		}
		rs[i] = rune(n)
	}
	return string(rs), true
}

func writeBinary(b *strings.Builder, v []byte) {
	if len(v) == 0 {
		b.WriteString("<<>>")
		return
	}
	if utf8.Valid(v) {
		if s := string(v); isPrintableText(s) {
			b.WriteString("<<")
			b.WriteString(quoteString(s, '"'))
			for _, r := range s {
				if r >= utf8.RuneSelf {
					b.WriteString("/utf8")
					break
				}
			}
			b.WriteString(">>")
			return
		}
	}
	b.WriteString("<<")
	for i, c := range v {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(strconv.Itoa(int(c)))
	}
	b.WriteString(">>")
}

func isPrintableText(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) && !strings.ContainsRune("\n\r\t\v\b\f\x1b", r) {
			return false
		}
	}
	return true
}

// formatFloat prints the shortest text that reads back as f, laid out as
// OTP's float_to_list(F, [short]) (used by ~p): plain or scientific
// notation, whichever is shorter, plain on a tie.
func formatFloat(f float64) string {
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	// Shortest digits and exponent: d.ddddde±X.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, expText, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expText)
	digits := strings.Replace(mant, ".", "", 1)
	place := exp - (len(digits) - 1) // f = digits * 10^place

	var plain string
	switch {
	case place >= 0:
		plain = digits + strings.Repeat("0", place) + ".0"
	case len(digits)+place > 0:
		plain = digits[:len(digits)+place] + "." + digits[len(digits)+place:]
	default:
		plain = "0." + strings.Repeat("0", -(len(digits)+place)) + digits
	}
	frac := digits[1:]
	if frac == "" {
		frac = "0"
	}
	sci := digits[:1] + "." + frac + "e" + strconv.Itoa(exp)
	if len(sci) < len(plain) {
		return sign + sci
	}
	return sign + plain
}
