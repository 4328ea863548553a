package termtext

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/beamctl/beamctl/internal/etf"
)

// docKind says how a doc prints when it does not fit on a line.
type docKind int

// The doc kinds, after io_lib_pretty's intermediate format.
const (
	docText  docKind = iota // Atomic text that never breaks (atoms, numbers, strings).
	docList                 // [...], possibly improper.
	docTuple                // {...}.
	docMap                  // #{...} of docPair elements.
	docPair                 // K => V inside a map.
	docBin                  // <<1,2,3>> of bytes, which may break between bytes.
)

// doc is a term laid out for printing: io_lib_pretty's intermediate
// format. width is the length of its one-line text in characters.
type doc struct {
	kind   docKind
	text   string   // docText
	segs   []string // docBin: "1", "2", ..., and maybe a final "5:3"
	elems  []*doc   // docList, docTuple, docMap; docPair: key and value
	tail   *doc     // docList: the tail of an improper list, or nil
	tagged bool     // docTuple: at least two elements and the first is an atom
	width  int
}

// formatter builds docs for one Format call.
type formatter struct {
	opts Options
}

func (f formatter) flat(t etf.Term) string {
	var b strings.Builder
	f.doc(t).write(&b)
	return b.String()
}

func textDoc(s string) *doc { return &doc{kind: docText, text: s, width: utf8.RuneCountInString(s)} }

// seqDoc is a list, tuple or map of elems (and tail), with its width.
func seqDoc(kind docKind, elems []*doc, tail *doc) *doc {
	d := &doc{kind: kind, elems: elems, tail: tail, width: 2}
	if kind == docMap {
		d.width = 3
	}
	if tail != nil {
		d.width += tail.width + 1
	}
	for i, e := range elems {
		if i > 0 {
			d.width++
		}
		d.width += e.width
	}
	return d
}

// doc lays out t.
func (f formatter) doc(t etf.Term) *doc {
	switch v := t.(type) {
	case etf.Atom:
		return textDoc(quoteAtom(string(v)))
	case bool:
		return textDoc(strconv.FormatBool(v))
	case float64:
		return textDoc(formatFloat(v))
	case float32:
		return textDoc(formatFloat(float64(v)))
	case []byte:
		return f.binary(v)
	case string:
		return f.binary([]byte(v))
	case etf.BitBinary:
		if v.Bits == 0 || v.Bits >= 8 || len(v.Bytes) == 0 {
			return f.binary(v.Bytes)
		}
		d := &doc{kind: docBin, width: 4}
		last := len(v.Bytes) - 1
		for _, c := range v.Bytes[:last] {
			d.segs = append(d.segs, strconv.Itoa(int(c)))
		}
		d.segs = append(d.segs, fmt.Sprintf("%d:%d", v.Bytes[last]>>(8-v.Bits), v.Bits))
		for i, s := range d.segs {
			d.width += len(s) + min(i, 1)
		}
		return d
	case etf.String:
		elems := make([]etf.Term, len(v))
		for i := range len(v) {
			elems[i] = int64(v[i])
		}
		return f.list(elems)
	case etf.List:
		return f.list(v)
	case []etf.Term:
		return f.list(v)
	case etf.ImproperList:
		if len(v.Elems) == 0 { // [ | T] is just T.
			return f.doc(v.Tail)
		}
		return seqDoc(docList, f.docs(v.Elems), f.doc(v.Tail))
	case etf.Tuple:
		d := seqDoc(docTuple, f.docs(v), nil)
		if len(v) > 1 {
			switch v[0].(type) {
			case etf.Atom, bool:
				d.tagged = true
			}
		}
		return d
	case etf.Map:
		pairs := make([]*doc, len(v))
		for i, p := range v {
			k, val := f.doc(p.Key), f.doc(p.Value)
			pairs[i] = &doc{kind: docPair, elems: []*doc{k, val}, width: k.width + 4 + val.width}
		}
		return seqDoc(docMap, pairs, nil)
	case etf.Pid:
		return textDoc(fmt.Sprintf("<%s.%d.%d>", f.node(v.Node), v.ID, v.Serial))
	case etf.Port:
		return textDoc(fmt.Sprintf("#Port<%s.%d>", f.node(v.Node), v.ID))
	case etf.Ref:
		var b strings.Builder
		b.WriteString("#Ref<" + f.node(v.Node))
		for i := min(int(v.Len), etf.MaxRefWords) - 1; i >= 0; i-- {
			b.WriteString("." + strconv.FormatUint(uint64(v.ID[i]), 10))
		}
		return textDoc(b.String() + ">")
	case etf.Export:
		return textDoc(fmt.Sprintf("fun %s:%s/%d", quoteAtom(string(v.Module)), quoteAtom(string(v.Function)), v.Arity))
	case etf.Fun:
		return textDoc(fmt.Sprintf("#Fun<%s.%d.%d>", quoteAtom(string(v.Module)), v.OldIndex, v.OldUniq))
	}
	if z, ok := etf.ToBigInt(t); ok {
		return textDoc(z.String())
	}
	return textDoc(fmt.Sprintf("'#Go<%T>'", t)) // Not a term; print something harmless.
}

func (f formatter) docs(ts []etf.Term) []*doc {
	ds := make([]*doc, len(ts))
	for i, t := range ts {
		ds[i] = f.doc(t)
	}
	return ds
}

// list lays out a proper list: as a string when it is printable text.
func (f formatter) list(l []etf.Term) *doc {
	if len(l) == 0 {
		return textDoc("[]")
	}
	runes := make([]rune, len(l))
	for i, e := range l {
		z, ok := etf.ToBigInt(e)
		if !ok || !z.IsInt64() || z.Int64() > utf8.MaxRune || !f.printable(rune(z.Int64())) {
			return seqDoc(docList, f.docs(l), nil)
		}
		runes[i] = rune(z.Int64())
	}
	return textDoc(quoteString(runes))
}

// printable reports whether io_lib counts r as printable in the printable
// range (io:printable_range/0) that f.opts selects.
func (f formatter) printable(r rune) bool {
	switch {
	case r >= ' ' && r <= '~', r >= '\b' && r <= '\r', r == 0x1b:
		return true
	case !f.opts.Unicode:
		return r >= 0xA0 && r <= 0xFF
	}
	return r >= 0xA0 && r < 0xD800 || r > 0xDFFF && r < 0xFFFE || r > 0xFFFF && r <= utf8.MaxRune
}

// binary lays out a binary as ~tp does: <<"text">> when it is printable
// Latin-1 or printable UTF-8 (then with /utf8 unless it is ASCII), else as
// bytes.
func (f formatter) binary(b []byte) *doc {
	if len(b) == 0 {
		return textDoc("<<>>")
	}
	if utf8.Valid(b) {
		runes := []rune(string(b))
		if f.printableAll(runes) {
			if len(runes) == len(b) {
				return textDoc("<<" + quoteString(runes) + ">>")
			}
			return textDoc("<<" + quoteString(runes) + "/utf8>>")
		}
	} else {
		runes := make([]rune, len(b))
		for i, c := range b {
			runes[i] = rune(c)
		}
		if f.printableAll(runes) {
			return textDoc("<<" + quoteString(runes) + ">>")
		}
	}
	d := &doc{kind: docBin, width: 4 + len(b) - 1, segs: make([]string, len(b))}
	for i, c := range b {
		d.segs[i] = strconv.Itoa(int(c))
		d.width += len(d.segs[i])
	}
	return d
}

func (f formatter) printableAll(runes []rune) bool {
	for _, r := range runes {
		if !f.printable(r) {
			return false
		}
	}
	return true
}

func (f formatter) node(n etf.Atom) string {
	if n == f.opts.LocalNode && n != "" {
		return "0"
	}
	return "'" + escape([]rune(string(n)), '\'') + "'"
}

// write writes d on one line.
func (d *doc) write(b *strings.Builder) {
	switch d.kind {
	case docText:
		b.WriteString(d.text)
		return
	case docBin:
		b.WriteString("<<" + strings.Join(d.segs, ",") + ">>")
		return
	case docPair:
		d.elems[0].write(b)
		b.WriteString(" => ")
		d.elems[1].write(b)
		return
	}
	b.WriteString(map[docKind]string{docList: "[", docTuple: "{", docMap: "#{"}[d.kind])
	for i, e := range d.elems {
		if i > 0 {
			b.WriteByte(',')
		}
		e.write(b)
	}
	if d.tail != nil {
		b.WriteByte('|')
		d.tail.write(b)
	}
	b.WriteString(map[docKind]string{docList: "]", docTuple: "}", docMap: "}"}[d.kind])
}

// quoteAtom writes an atom as io_lib:write_atom/1 does: bare when it is a
// lowercase name that is not a reserved word, else quoted.
func quoteAtom(s string) string {
	bare := s != "" && !reserved[s]
	for i, r := range s {
		if i == 0 && !isAtomStart(r) || !isNameChar(r) {
			bare = false
			break
		}
	}
	if bare {
		return s
	}
	return "'" + escape([]rune(s), '\'') + "'"
}

// quoteString writes a string literal.
func quoteString(runes []rune) string { return `"` + escape(runes, '"') + `"` }

// escape escapes text for a literal quoted with q, as io_lib:write_string
// does: named escapes for common control characters, octal for the other
// characters below 160, everything else as itself.
func escape(runes []rune, q rune) string {
	var b strings.Builder
	for _, r := range runes {
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

// formatFloat writes the shortest text that reads back as f, laid out as
// OTP's float_to_list(F, [short]) (which ~p uses): plain or scientific
// notation, whichever is shorter, plain on a tie, and always scientific
// from 2^53 up, where not every integer is a float.
func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return "'" + strconv.FormatFloat(f, 'g', -1, 64) + "'" // Not an Erlang float.
	case f == 0 && math.Signbit(f):
		return "-0.0"
	case f == 0:
		return "0.0"
	}
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	mant, expText, _ := strings.Cut(strconv.FormatFloat(f, 'e', -1, 64), "e")
	exp, _ := strconv.Atoi(expText)
	digits := strings.Replace(mant, ".", "", 1)
	point := exp + 1 // Digits before the decimal point.
	var plain string
	switch {
	case point >= len(digits):
		plain = digits + strings.Repeat("0", point-len(digits)) + ".0"
	case point > 0:
		plain = digits[:point] + "." + digits[point:]
	default:
		plain = "0." + strings.Repeat("0", -point) + digits
	}
	frac := digits[1:]
	if frac == "" {
		frac = "0"
	}
	if sci := digits[:1] + "." + frac + "e" + strconv.Itoa(exp); len(sci) < len(plain) || f >= 1<<53 {
		return sign + sci
	}
	return sign + plain
}
