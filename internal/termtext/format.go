package termtext

import (
	"fmt"
	"math"
	"math/big"
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

// formatter builds docs for one Format call, within a budget of bytes of
// text (left) when the options bound it.
type formatter struct {
	opts    Options
	bounded bool
	left    int
	depth   int // Of the term being laid out, when bounded.
}

// maxFormatDepth is how deep a bounded term is written: a deeper term is "...".
// Without it, a deep term cut by the budget would get a marker on each of
// its levels, and the markers would make the text several times longer
// than the bound.
const maxFormatDepth = 256

func newFormatter(o Options) *formatter {
	f := &formatter{opts: o, bounded: o.MaxBytes >= 0}
	f.left = f.limit()
	return f
}

// limit is the bound on the text of the term, when bounded.
func (f *formatter) limit() int {
	if f.opts.MaxBytes == 0 {
		return DefaultMaxBytes
	}
	return f.opts.MaxBytes
}

// spent reports whether the budget is used up.
func (f *formatter) spent() bool { return f.bounded && f.left <= 0 }

// take spends n bytes of the budget.
func (f *formatter) take(n int) { f.left -= n }

// room is how many more bytes, elements or characters to look at: the
// rest of the budget, or n when unbounded.
func (f *formatter) room(n int) int {
	if !f.bounded {
		return n
	}
	return max(0, min(n, f.left))
}

func (f *formatter) flat(t etf.Term) string {
	var b strings.Builder
	f.doc(t).write(&b)
	return b.String()
}

func textDoc(s string) *doc { return &doc{kind: docText, text: s, width: utf8.RuneCountInString(s)} }

// text is textDoc charged to the budget.
func (f *formatter) text(s string) *doc {
	f.take(len(s))
	return textDoc(s)
}

// moreDoc is the marker of n elements left out.
func moreDoc(n int) *doc { return textDoc(fmt.Sprintf("...(%d more)", n)) }

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
func (f *formatter) doc(t etf.Term) *doc {
	if f.spent() || f.bounded && f.depth >= maxFormatDepth {
		return f.text("...")
	}
	f.depth++
	defer func() { f.depth-- }()
	switch v := t.(type) {
	case etf.Atom:
		return f.text(quoteAtom(string(v)))
	case bool:
		return f.text(strconv.FormatBool(v))
	case float64:
		return f.text(formatFloat(v))
	case float32:
		return f.text(formatFloat(float64(v)))
	case []byte:
		return f.binary(v)
	case string:
		return f.binary([]byte(v))
	case etf.BitBinary:
		if v.Bits == 0 || v.Bits >= 8 || len(v.Bytes) == 0 {
			return f.binary(v.Bytes)
		}
		last := len(v.Bytes) - 1
		return f.byteSegs(v.Bytes[:last], fmt.Sprintf("%d:%d", v.Bytes[last]>>(8-v.Bits), v.Bits))
	case etf.String:
		n := f.room(len(v))
		elems := make([]etf.Term, n)
		for i := range n {
			elems[i] = int64(v[i])
		}
		return f.list(elems, len(v)-n)
	case etf.List:
		return f.list(v, 0)
	case []etf.Term:
		return f.list(v, 0)
	case etf.ImproperList:
		if len(v.Elems) == 0 { // [ | T] is just T.
			return f.doc(v.Tail)
		}
		f.take(3) // [, | and ]
		elems := f.docs(v.Elems)
		var tail *doc
		if len(elems) == len(v.Elems) { // Else the marker says what is missing.
			tail = f.doc(v.Tail)
		}
		return seqDoc(docList, elems, tail)
	case etf.Tuple:
		f.take(2)
		d := seqDoc(docTuple, f.docs(v), nil)
		if len(v) > 1 {
			switch v[0].(type) {
			case etf.Atom, bool:
				d.tagged = true
			}
		}
		return d
	case etf.Map:
		f.take(3)
		pairs := make([]*doc, 0, f.room(len(v)))
		for i, p := range v {
			f.take(5) // " => " and ","
			if f.spent() {
				pairs = append(pairs, moreDoc(len(v)-i))
				break
			}
			k, val := f.doc(p.Key), f.doc(p.Value)
			pairs = append(pairs, &doc{kind: docPair, elems: []*doc{k, val}, width: k.width + 4 + val.width})
		}
		return seqDoc(docMap, pairs, nil)
	case etf.Pid:
		return f.text(fmt.Sprintf("<%s.%d.%d>", f.node(v.Node), v.ID, v.Serial))
	case etf.Port:
		return f.text(fmt.Sprintf("#Port<%s.%d>", f.node(v.Node), v.ID))
	case etf.Ref:
		var b strings.Builder
		b.WriteString("#Ref<" + f.node(v.Node))
		for i := min(int(v.Len), etf.MaxRefWords) - 1; i >= 0; i-- {
			b.WriteString("." + strconv.FormatUint(uint64(v.ID[i]), 10))
		}
		return f.text(b.String() + ">")
	case etf.Export:
		return f.text(fmt.Sprintf("fun %s:%s/%d", quoteAtom(string(v.Module)), quoteAtom(string(v.Function)), v.Arity))
	case etf.Fun:
		return f.text(fmt.Sprintf("#Fun<%s.%d.%d>", quoteAtom(string(v.Module)), v.OldIndex, v.OldUniq))
	}
	if z, ok := etf.ToBigInt(t); ok {
		return f.integer(z)
	}
	return f.text(fmt.Sprintf("'#Go<%T>'", t)) // Not a term; print something harmless.
}

// integer writes z in decimal unless its digits would not fit in the
// budget: then only its size, without converting it (big.Int.String takes
// seconds for a bignum of a few MiB).
func (f *formatter) integer(z *big.Int) *doc {
	if bits := z.BitLen(); f.bounded && bits > 64 {
		digits := int(float64(bits)*math.Log10(2)) + 1 // At least the number of digits, at most one more.
		if digits+1 > f.left {
			sign := ""
			if z.Sign() < 0 {
				sign = "negative "
			}
			return f.text(fmt.Sprintf("...(%sinteger of %d bits)", sign, bits))
		}
	}
	return f.text(z.String())
}

// docs lays out the elements of a sequence and their commas, cut with a
// marker when the budget runs out.
func (f *formatter) docs(ts []etf.Term) []*doc { return f.docsMore(ts, 0) }

// docsMore is docs of a sequence of which omitted more elements were
// already left out.
func (f *formatter) docsMore(ts []etf.Term, omitted int) []*doc {
	ds := make([]*doc, 0, f.room(len(ts))+1)
	for i, t := range ts {
		f.take(1)
		if f.spent() {
			return append(ds, moreDoc(len(ts)-i+omitted))
		}
		ds = append(ds, f.doc(t))
	}
	if omitted > 0 {
		ds = append(ds, moreDoc(omitted))
	}
	return ds
}

// list lays out a proper list: as a string when it is printable text.
// omitted elements were already left out (of a long etf.String).
func (f *formatter) list(l []etf.Term, omitted int) *doc {
	if len(l) == 0 && omitted == 0 {
		return f.text("[]")
	}
	// Only the elements that can fit are looked at: a long list cut short
	// is a string when its beginning is.
	n := f.room(len(l))
	runes := make([]rune, n)
	for i, e := range l[:n] {
		z, ok := etf.ToBigInt(e)
		if !ok || !z.IsInt64() || z.Int64() > utf8.MaxRune || !f.printable(rune(z.Int64())) {
			f.take(2)
			return seqDoc(docList, f.docsMore(l, omitted), nil)
		}
		runes[i] = rune(z.Int64())
	}
	s, used := f.quote(runes)
	if rest := len(l) - used + omitted; rest > 0 {
		s += fmt.Sprintf("...(%d more)", rest)
	}
	return textDoc(s)
}

// quote writes a string literal of runes, or of as many of them as the
// budget allows, and says how many it wrote.
func (f *formatter) quote(runes []rune) (string, int) {
	limit := -1
	if f.bounded {
		limit = max(f.left-2, 1)
	}
	s, used := escape(runes, '"', limit)
	f.take(len(s) + 2)
	return `"` + s + `"`, used
}

// printable reports whether io_lib counts r as printable in the printable
// range (io:printable_range/0) that f.opts selects.
func (f *formatter) printable(r rune) bool {
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
// bytes. Only the bytes that can fit are looked at.
func (f *formatter) binary(b []byte) *doc {
	if len(b) == 0 {
		return f.text("<<>>")
	}
	head := b[:f.room(len(b))]
	if len(head) < len(b) {
		head = trimPartialRune(head)
	}
	if len(head) == 0 {
		head = b[:1]
	}
	bin := func(s string, used int) *doc {
		if hasMultibyte(b[:used]) && utf8.Valid(head) {
			s += "/utf8"
		}
		if rest := len(b) - used; rest > 0 {
			s += fmt.Sprintf("...(%d more bytes)", rest)
		}
		return textDoc("<<" + s + ">>")
	}
	var runes []rune
	if utf8.Valid(head) {
		runes = []rune(string(head))
	} else {
		runes = make([]rune, len(head))
		for i, c := range head {
			runes[i] = rune(c)
		}
	}
	if !f.printableAll(runes) {
		return f.byteSegs(b, "")
	}
	f.take(4)
	s, used := f.quote(runes)
	if utf8.Valid(head) {
		return bin(s, len(string(runes[:used])))
	}
	return bin(s, used)
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of b,
// where a cut may have split a character.
func trimPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}

func hasMultibyte(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// byteSegs lays out <<1,2,3>> (with a last segment such as 5:3), cut with
// a marker when the budget runs out.
func (f *formatter) byteSegs(b []byte, last string) *doc {
	d := &doc{kind: docBin, width: 4}
	f.take(4)
	for i, c := range b {
		if f.spent() {
			d.segs = append(d.segs, fmt.Sprintf("...(%d more bytes)", len(b)-i))
			last = ""
			break
		}
		s := strconv.Itoa(int(c))
		f.take(len(s) + 1)
		d.segs = append(d.segs, s)
	}
	if last != "" {
		d.segs = append(d.segs, last)
	}
	for i, s := range d.segs {
		d.width += len(s) + min(i, 1)
	}
	return d
}

func (f *formatter) printableAll(runes []rune) bool {
	for _, r := range runes {
		if !f.printable(r) {
			return false
		}
	}
	return true
}

func (f *formatter) node(n etf.Atom) string {
	if n == f.opts.LocalNode && n != "" {
		return "0"
	}
	e, _ := escape([]rune(string(n)), '\'', -1)
	return "'" + e + "'"
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

// maxTokenBytes is the longest text one token can print: an export fun
// (fun M:F/A) whose module and function are 255-character atoms with every
// character escaped or of 4 bytes in UTF-8. The bounded formatter writes a
// token whole, so its output can pass the bound by up to this much.
const maxTokenBytes = len("fun ") + 2*(2+255*4) + len(":/255")

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
	e, _ := escape([]rune(s), '\'', -1)
	return "'" + e + "'"
}

// quoteString writes a string literal.
func quoteString(runes []rune) string {
	s, _ := escape(runes, '"', -1)
	return `"` + s + `"`
}

// escape escapes text for a literal quoted with q, as io_lib:write_string
// does: named escapes for common control characters, octal for the other
// characters below 160, everything else as itself. With a limit of 0 or
// more it stops once it has written limit bytes; it returns how many runes
// it wrote.
func escape(runes []rune, q rune, limit int) (string, int) {
	var b strings.Builder
	for i, r := range runes {
		if limit >= 0 && b.Len() >= limit {
			return b.String(), i
		}
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
	return b.String(), len(runes)
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
