package termtext

import "strings"

// lineLength is the line length of FormatPretty, as io:format("~p").
const lineLength = 80

// This file ports io_lib_pretty (OTP 25) so that FormatPretty breaks lines
// exactly where io:format("~tp") does. The names follow the Erlang
// functions: col is the current column, ld ("last depth") the number of
// closing brackets that will follow, w the characters already on the line,
// m the limit on characters per line (here the width of the whole term),
// tind the indentation of tagged tuples, and ind the current indentation.

// pretty writes t starting in column 1.
func (f *formatter) pretty(t any) string {
	d := f.doc(t)
	var b strings.Builder
	const col = 1
	m := d.width
	if d.kind == docText || d.width < lineLength-col {
		d.write(&b)
		return b.String()
	}
	// Tagged tuples indent their elements by 4 (or less) when that keeps
	// the indentation within half the line; -1 aligns them after the tag.
	tind := 1
	for _, i := range []int{-1, 4} {
		if c := (cinder{m: m, ind: i}); c.cind(d, col, 0, 0) {
			tind = i
			break
		}
	}
	p := printer{b: &b, m: m, tind: tind}
	if f.bounded {
		// Indentation can make the text of a deep term far longer than
		// its one-line form: stop writing at four times the bound.
		p.max = 4 * f.limit()
	}
	p.pp(d, col, col-1, 0, 0)
	if p.cut {
		b.WriteString("...(cut)")
	}
	return b.String()
}

// atomic reports whether d never breaks (io_lib_pretty's ?ATM).
func atomic(d *doc) bool { return d.kind == docText }

func atomicPair(d *doc) bool { return atomic(d.elems[0]) && atomic(d.elems[1]) }

// fits reports whether something width wide fits at col with ld closing
// brackets after it.
func fits(width, col, ld, w, m int) bool { return width < lineLength-col-ld && width+w+ld <= m }

// fitsAfterComma is pp_tail's test for appending ",E" to the line.
func fitsAfterComma(width, col, ld, w, m int) bool {
	elen := 1 + width
	if ld == 0 {
		return elen+1 < lineLength-col && w+elen+1 <= m
	}
	return elen < lineLength-col-ld && w+elen+ld <= m
}

// lastDepth is ld for the element before rest: 0 unless it is the last.
func lastDepth(rest int, ld int) int {
	if rest > 0 {
		return 0
	}
	return ld + 1
}

type printer struct {
	b    *strings.Builder
	m    int
	tind int
	max  int  // Bytes to write at most, when above 0.
	cut  bool // Whether something was not written for max.
}

// full reports whether the printer has written max bytes.
func (p *printer) full() bool {
	if p.max > 0 && p.b.Len() >= p.max {
		p.cut = true
	}
	return p.cut
}

func (p *printer) str(s string) {
	if !p.full() {
		p.b.WriteString(s)
	}
}

func (p *printer) newline(ind int) {
	if !p.full() {
		p.str("\n" + strings.Repeat(" ", ind))
	}
}

// write writes d on one line.
func (p *printer) write(d *doc) {
	if !p.full() {
		d.write(p.b)
	}
}

func (p *printer) pp(d *doc, col, ind, ld, w int) {
	if fits(d.width, col, ld, w, p.m) {
		p.write(d)
		return
	}
	switch {
	case d.kind == docList && len(d.elems) > 0:
		p.str("[")
		p.ppList(d.elems, d.tail, col+1, ind+1, ld, "|", w+1)
		p.str("]")
	case d.kind == docTuple && d.tagged:
		p.str("{")
		p.ppTagTuple(d.elems, col, ind, ld, w+1)
		p.str("}")
	case d.kind == docTuple && len(d.elems) > 0:
		p.str("{")
		p.ppList(d.elems, nil, col+1, ind+1, ld, ",", w+1)
		p.str("}")
	case d.kind == docMap && len(d.elems) > 0:
		p.str("#{")
		p.ppMap(d.elems, col+2, ind+2, ld, w+1)
		p.str("}")
	case d.kind == docBin:
		p.ppBinary(d.segs, col+2, ind+2, ld, w)
	default:
		p.write(d)
	}
}

// ppTagTuple writes {tag,...}: the rest aligned after the tag, or
// indented by tind when the tag is long.
func (p *printer) ppTagTuple(elems []*doc, col, ind, ld, w int) {
	tag := elems[0]
	tagInd := tag.width + 2
	tcol := col + tagInd
	p.write(tag)
	if p.tind > 0 && tagInd > p.tind {
		p.ppTail(elems[1:], nil, col+p.tind, tcol, ind+p.tind, ld, ",", w+tag.width)
		return
	}
	p.str(",")
	p.ppList(elems[1:], nil, tcol, ind+tagInd, ld, ",", w+tag.width+1)
}

func (p *printer) ppList(elems []*doc, tail *doc, col0, ind, ld int, sep string, w int) {
	we := p.ppElement(elems[0], col0, ind, lastDepth(len(elems)-1, ld), w)
	p.ppTail(elems[1:], tail, col0, col0+we, ind, ld, sep, w+we)
}

// ppTail writes the elements after the first, several to a line while
// they are atomic and fit, then the tail of an improper list.
func (p *printer) ppTail(elems []*doc, tail *doc, col0, col, ind, ld int, sep string, w int) {
	for i, e := range elems {
		ld1 := lastDepth(len(elems)-1-i, ld)
		if atomic(e) && fitsAfterComma(e.width, col, ld1, w, p.m) {
			p.str(",")
			p.write(e)
			col, w = col+1+e.width, w+1+e.width
			continue
		}
		p.str(",")
		p.newline(ind)
		we := p.ppElement(e, col0, ind, ld1, 0)
		col, w = col0+we, we
	}
	if tail == nil {
		return
	}
	if atomic(tail) && tail.width+1 < lineLength-col-(ld+1) && tail.width+1+w+(ld+1) <= p.m {
		p.str(sep)
		p.write(tail)
		return
	}
	p.str(sep)
	p.newline(ind)
	p.pp(tail, col0, ind, ld+1, 0)
}

// ppElement writes one element and returns its width, or lineLength to
// force a line break after an element that broke.
func (p *printer) ppElement(e *doc, col, ind, ld, w int) int {
	if atomic(e) && fits(e.width, col, ld, w, p.m) {
		p.write(e)
		return e.width
	}
	p.pp(e, col, ind, ld, w)
	return lineLength
}

func (p *printer) ppMap(pairs []*doc, col, ind, ld, w int) {
	pw := p.ppPair(pairs[0], col, ind, lastDepth(len(pairs)-1, ld), w)
	colNow, w := col+pw, pw
	for i, pair := range pairs[1:] {
		ld1 := lastDepth(len(pairs)-2-i, ld)
		if atomicPair(pair) && fitsAfterComma(pair.width, colNow, ld1, w, p.m) {
			p.str(",")
			p.write(pair)
			colNow, w = colNow+1+pair.width, w+1+pair.width
			continue
		}
		p.str(",")
		p.newline(ind)
		pw := p.ppPair(pair, col, ind, ld1, 0)
		colNow, w = col+pw, pw
	}
}

// ppPair writes K => V, breaking after => when it does not fit.
func (p *printer) ppPair(pair *doc, col, ind, ld, w int) int {
	if fits(pair.width, col, ld, w, p.m) {
		p.write(pair)
		if atomicPair(pair) {
			return pair.width
		}
		return lineLength
	}
	i := mapValueIndent(p.tind)
	p.pp(pair.elems[0], col, ind, ld, w)
	p.str(" =>")
	p.newline(ind + i)
	p.pp(pair.elems[1], col+i, ind+i, ld, 0)
	return lineLength
}

func mapValueIndent(tind int) int {
	if tind > 0 {
		return tind
	}
	return 4
}

// ppBinary writes <<1,2,...>> over as many lines as it needs.
func (p *printer) ppBinary(segs []string, col, ind, ld, w int) {
	n0 := max(8, min(lineLength-col, p.m-4-w)-ld)
	n := n0
	p.str("<<")
	for i, s := range segs {
		last := i == len(segs)-1
		if !last {
			if l := len(s) + 1; n-l < 0 {
				p.newline(ind)
				p.str(s + ",")
				n = n0 - l
			} else {
				p.str(s + ",")
				n -= l
			}
			continue
		}
		if len(s) > n {
			p.newline(ind)
		}
		p.str(s)
	}
	p.str(">>")
}

// cinder is io_lib_pretty's cind: it checks whether indenting tagged
// tuples by ind keeps every line within bounds.
type cinder struct {
	m, ind int
}

func (c cinder) cind(d *doc, col, ld, w int) bool {
	if fits(d.width, col, ld, w, c.m) {
		return true
	}
	switch {
	case d.kind == docList || d.kind == docTuple && !d.tagged:
		return c.list(d.elems, d.tail, col+1, ld, w+1)
	case d.kind == docTuple:
		tag := d.elems[0]
		tagInd := tag.width + 2
		tcol := col + tagInd
		if c.ind > 0 && tagInd > c.ind {
			col1 := col + c.ind
			return (c.m+col1 <= lineLength || col1 <= lineLength/2) &&
				c.tail(d.elems[1:], nil, col1, tcol, ld, w+1+tag.width)
		}
		return (c.m+tcol < lineLength || tcol < lineLength/2) &&
			c.list(d.elems[1:], nil, tcol, ld, w+1+tag.width+1)
	case d.kind == docMap:
		return c.mapPairs(d.elems, col+2, ld, w+2)
	}
	return true
}

func (c cinder) list(elems []*doc, tail *doc, col0, ld, w int) bool {
	if len(elems) == 0 {
		return true
	}
	we, ok := c.element(elems[0], col0, lastDepth(len(elems)-1, ld), w)
	return ok && c.tail(elems[1:], tail, col0, col0+we, ld, w+we)
}

func (c cinder) tail(elems []*doc, tail *doc, col0, col, ld, w int) bool {
	for i, e := range elems {
		ld1 := lastDepth(len(elems)-1-i, ld)
		if atomic(e) && fitsAfterComma(e.width, col, ld1, w, c.m) {
			col, w = col+1+e.width, w+1+e.width
			continue
		}
		we, ok := c.element(e, col0, ld1, 0)
		if !ok {
			return false
		}
		col, w = col0+we, we
	}
	if tail == nil || atomic(tail) && tail.width+1 < lineLength-col-(ld+1) && tail.width+1+w+(ld+1) <= c.m {
		return true
	}
	return c.cind(tail, col, ld+1, 0)
}

func (c cinder) element(e *doc, col, ld, w int) (int, bool) {
	if atomic(e) && fits(e.width, col, ld, w, c.m) {
		return e.width, true
	}
	return lineLength, c.cind(e, col, ld, w)
}

func (c cinder) mapPairs(pairs []*doc, col0, ld, w int) bool {
	if len(pairs) == 0 {
		return true
	}
	pw, ok := c.pair(pairs[0], col0, lastDepth(len(pairs)-1, ld), w)
	col, w := col0+pw, w+pw
	for i, pair := range pairs[1:] {
		if !ok {
			return false
		}
		ld1 := lastDepth(len(pairs)-2-i, ld)
		if atomicPair(pair) && fitsAfterComma(pair.width, col, ld1, w, c.m) {
			col, w = col+1+pair.width, w+1+pair.width
			continue
		}
		pw, ok = c.pair(pair, col0, ld1, 0)
		col, w = col0+pw, pw
	}
	return ok
}

func (c cinder) pair(pair *doc, col, ld, w int) (int, bool) {
	if fits(pair.width, col, ld, w, c.m) {
		if atomicPair(pair) {
			return pair.width, true
		}
		return lineLength, true
	}
	ok := c.cind(pair.elems[0], col, ld, w) && c.cind(pair.elems[1], col+mapValueIndent(c.ind), ld, 0)
	return lineLength, ok
}
