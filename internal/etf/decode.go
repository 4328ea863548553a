package etf

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// External term format tags.
const (
	tagVersion         = 131
	tagCompressed      = 80
	tagNewFloat        = 70
	tagBitBinary       = 77
	tagAtomCacheRef    = 82
	tagNewPid          = 88
	tagNewPort         = 89
	tagNewerReference  = 90
	tagSmallInteger    = 97
	tagInteger         = 98
	tagFloat           = 99
	tagAtom            = 100
	tagReference       = 101
	tagPort            = 102
	tagPid             = 103
	tagSmallTuple      = 104
	tagLargeTuple      = 105
	tagNil             = 106
	tagString          = 107
	tagList            = 108
	tagBinary          = 109
	tagSmallBig        = 110
	tagLargeBig        = 111
	tagNewFun          = 112
	tagExport          = 113
	tagNewReference    = 114
	tagSmallAtom       = 115
	tagMap             = 116
	tagAtomUTF8        = 118
	tagSmallAtomUTF8   = 119
	tagV4Port          = 120
	maxAtomChars       = 255
	defaultMaxDepth    = 10000
	defaultMaxInflated = 64 << 20
)

// ErrTruncated means the input ended inside a term.
var ErrTruncated = errors.New("input ends inside a term")

// DecodeError tells where and why decoding failed. It wraps ErrTruncated
// when the input was cut short.
type DecodeError struct {
	Offset int
	Err    error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("etf: decode at offset %d: %v", e.Offset, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Decoder decodes terms. The zero value is ready to use.
type Decoder struct {
	// AtomCache holds the atoms ATOM_CACHE_REF index i refers to, taken
	// from the distribution header of the message being decoded.
	AtomCache []Atom
	// MaxDepth bounds nesting (default 10,000).
	MaxDepth int
	// MaxDecompressed bounds the inflated size of a compressed term
	// (default 64 MiB).
	MaxDecompressed int
}

// Decode decodes one whole term_to_binary result (version byte 131 first).
// Trailing bytes are an error.
func Decode(b []byte) (Term, error) {
	var d Decoder
	t, n, err := d.Decode(b)
	if err != nil {
		return nil, err
	}
	if n != len(b) {
		return nil, &DecodeError{Offset: n, Err: fmt.Errorf("%d trailing bytes after the term", len(b)-n)}
	}
	return t, nil
}

// Decode decodes one term that starts with the version byte 131 and may be
// compressed. It returns the term and the number of bytes it used.
// Binaries in the result are copies: b may be reused afterwards.
func (d *Decoder) Decode(b []byte) (Term, int, error) {
	if len(b) == 0 {
		return nil, 0, &DecodeError{Err: ErrTruncated}
	}
	if b[0] != tagVersion {
		return nil, 0, &DecodeError{Err: fmt.Errorf("expected version byte 131, got %d", b[0])}
	}
	if len(b) > 1 && b[1] == tagCompressed {
		return d.decodeCompressed(b)
	}
	t, n, err := d.DecodeTerm(b[1:])
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			de.Offset++
		}
		return nil, 0, err
	}
	return t, n + 1, nil
}

// DecodeTerm decodes one term without the version byte, as terms follow a
// distribution header on the wire. It returns the bytes it used.
func (d *Decoder) DecodeTerm(b []byte) (Term, int, error) {
	s := state{b: b, d: d, maxDepth: d.MaxDepth}
	if s.maxDepth <= 0 {
		s.maxDepth = defaultMaxDepth
	}
	t, err := s.term(0)
	if err != nil {
		return nil, 0, &DecodeError{Offset: s.pos, Err: err}
	}
	return t, s.pos, nil
}

func (d *Decoder) decodeCompressed(b []byte) (Term, int, error) {
	if len(b) < 6 {
		return nil, 0, &DecodeError{Offset: len(b), Err: ErrTruncated}
	}
	size := int64(binary.BigEndian.Uint32(b[2:6]))
	limit := int64(d.MaxDecompressed)
	if limit <= 0 {
		limit = defaultMaxInflated
	}
	if size > limit {
		return nil, 0, &DecodeError{Offset: 2, Err: fmt.Errorf("compressed term declares %d bytes, more than the limit of %d", size, limit)}
	}
	src := bytes.NewReader(b[6:])
	zr, err := zlib.NewReader(src)
	if err != nil {
		return nil, 0, &DecodeError{Offset: 6, Err: fmt.Errorf("compressed term: %w", err)}
	}
	// Read one byte more than declared to detect a lying size field.
	inflated, err := io.ReadAll(io.LimitReader(zr, size+1))
	if err != nil {
		return nil, 0, &DecodeError{Offset: 6, Err: fmt.Errorf("compressed term: %w", err)}
	}
	if int64(len(inflated)) != size {
		return nil, 0, &DecodeError{Offset: 2, Err: fmt.Errorf("compressed term inflates to %d bytes, header says %d", len(inflated), size)}
	}
	// Drain to the zlib checksum so that the consumed length is exact.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return nil, 0, &DecodeError{Offset: 6, Err: fmt.Errorf("compressed term: %w", err)}
	}
	used := len(b) - src.Len()
	t, n, err := d.DecodeTerm(inflated)
	if err != nil {
		return nil, 0, fmt.Errorf("compressed term: %w", err)
	}
	if n != len(inflated) {
		return nil, 0, &DecodeError{Offset: used, Err: errors.New("trailing bytes inside compressed term")}
	}
	return t, used, nil
}

// state is one decoding pass over a byte slice.
type state struct {
	b        []byte
	pos      int
	d        *Decoder
	maxDepth int
	slab     []Term // backing store carved into small tuples and lists
	slabSize int
}

// terms returns a slice of n terms. Small slices are carved from a shared
// slab, so a reply of many small tuples costs a few allocations, not one per
// tuple.
func (s *state) terms(n int) []Term {
	if n > 64 {
		return make([]Term, n)
	}
	if len(s.slab) < n {
		s.slabSize = min(max(2*s.slabSize, 16), 4096)
		s.slab = make([]Term, max(s.slabSize, n))
	}
	out := s.slab[:n:n]
	s.slab = s.slab[n:]
	return out
}

func (s *state) need(n int) error {
	if n < 0 || len(s.b)-s.pos < n {
		return ErrTruncated
	}
	return nil
}

func (s *state) u8() (byte, error) {
	if err := s.need(1); err != nil {
		return 0, err
	}
	v := s.b[s.pos]
	s.pos++
	return v, nil
}

func (s *state) u16() (int, error) {
	if err := s.need(2); err != nil {
		return 0, err
	}
	v := binary.BigEndian.Uint16(s.b[s.pos:])
	s.pos += 2
	return int(v), nil
}

func (s *state) u32() (uint32, error) {
	if err := s.need(4); err != nil {
		return 0, err
	}
	v := binary.BigEndian.Uint32(s.b[s.pos:])
	s.pos += 4
	return v, nil
}

func (s *state) bytes(n int) ([]byte, error) {
	if err := s.need(n); err != nil {
		return nil, err
	}
	v := s.b[s.pos : s.pos+n]
	s.pos += n
	return v, nil
}

// count reads a 32-bit element count and checks that the remaining input
// can hold that many elements of at least minSize bytes each, so that a
// hostile count cannot make us allocate.
func (s *state) count(minSize int) (int, error) {
	n, err := s.u32()
	if err != nil {
		return 0, err
	}
	if uint64(n)*uint64(minSize) > uint64(len(s.b)-s.pos) {
		return 0, fmt.Errorf("length %d exceeds the %d bytes left", n, len(s.b)-s.pos)
	}
	return int(n), nil
}

func (s *state) term(depth int) (Term, error) {
	if depth > s.maxDepth {
		return nil, fmt.Errorf("terms nested deeper than %d", s.maxDepth)
	}
	tag, err := s.u8()
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagSmallInteger:
		v, err := s.u8()
		return int64(v), err
	case tagInteger:
		v, err := s.u32()
		return int64(int32(v)), err
	case tagNewFloat:
		b, err := s.bytes(8)
		if err != nil {
			return nil, err
		}
		return finite(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case tagFloat:
		b, err := s.bytes(31)
		if err != nil {
			return nil, err
		}
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return nil, fmt.Errorf("old float: %w", err)
		}
		return finite(f)
	case tagAtomUTF8, tagSmallAtomUTF8, tagAtom, tagSmallAtom, tagAtomCacheRef:
		s.pos--
		return s.atom()
	case tagSmallBig:
		n, err := s.u8()
		if err != nil {
			return nil, err
		}
		return s.big(int(n))
	case tagLargeBig:
		n, err := s.count(1)
		if err != nil {
			return nil, err
		}
		return s.big(n)
	case tagBinary:
		n, err := s.count(1)
		if err != nil {
			return nil, err
		}
		b, _ := s.bytes(n)
		return bytes.Clone(b), nil
	case tagBitBinary:
		return s.bitBinary()
	case tagString:
		n, err := s.u16()
		if err != nil {
			return nil, err
		}
		b, err := s.bytes(n)
		return String(b), err
	case tagNil:
		return List(nil), nil
	case tagList:
		return s.list(depth)
	case tagSmallTuple:
		n, err := s.u8()
		if err != nil {
			return nil, err
		}
		return s.tuple(int(n), depth)
	case tagLargeTuple:
		n, err := s.count(1)
		if err != nil {
			return nil, err
		}
		return s.tuple(n, depth)
	case tagMap:
		return s.mapTerm(depth)
	case tagNewPid, tagPid:
		s.pos--
		return s.pid()
	case tagNewPort, tagV4Port, tagPort:
		return s.port(tag)
	case tagNewerReference, tagNewReference, tagReference:
		return s.ref(tag)
	case tagExport:
		return s.export()
	case tagNewFun:
		return s.fun(depth)
	case tagCompressed:
		return nil, errors.New("compressed term inside a term")
	}
	return nil, fmt.Errorf("unknown tag %d", tag)
}

// finite refuses NaN and infinities, which Erlang floats cannot hold.
func finite(f float64) (Term, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("float %v is not an Erlang float", f)
	}
	return f, nil
}

// atomTable interns atoms so that decoding the same atoms again neither
// allocates nor locks: readers load an immutable map, writers publish a
// copy. It stops growing at maxInterned entries, so hostile input cannot
// make it large (later atoms are simply allocated).
var atomTable struct {
	mu sync.Mutex
	m  atomic.Pointer[map[string]Atom]
}

const maxInterned = 4096

func intern(b []byte) Atom {
	if m := atomTable.m.Load(); m != nil {
		if a, ok := (*m)[string(b)]; ok {
			return a
		}
	}
	a := Atom(b)
	atomTable.mu.Lock()
	defer atomTable.mu.Unlock()
	old := atomTable.m.Load()
	if old != nil && len(*old) >= maxInterned {
		return a
	}
	next := make(map[string]Atom, 1+lenOf(old))
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	next[string(a)] = a
	atomTable.m.Store(&next)
	return a
}

func lenOf(m *map[string]Atom) int {
	if m == nil {
		return 0
	}
	return len(*m)
}

func (s *state) atom() (Atom, error) {
	tag, err := s.u8()
	if err != nil {
		return "", err
	}
	var n int
	switch tag {
	case tagAtomCacheRef:
		i, err := s.u8()
		if err != nil {
			return "", err
		}
		if int(i) >= len(s.d.AtomCache) {
			return "", fmt.Errorf("atom cache reference %d, but the header has %d", i, len(s.d.AtomCache))
		}
		return s.d.AtomCache[i], nil
	case tagSmallAtomUTF8, tagSmallAtom:
		v, err := s.u8()
		n = int(v)
		if err != nil {
			return "", err
		}
	case tagAtomUTF8, tagAtom:
		if n, err = s.u16(); err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("expected an atom, got tag %d", tag)
	}
	b, err := s.bytes(n)
	if err != nil {
		return "", err
	}
	if tag == tagAtom || tag == tagSmallAtom {
		if n > maxAtomChars {
			return "", fmt.Errorf("atom of %d characters (limit %d)", n, maxAtomChars)
		}
		return latin1Atom(b), nil
	}
	if !utf8.Valid(b) {
		return "", errors.New("atom is not valid UTF-8")
	}
	if n > maxAtomChars && utf8.RuneCount(b) > maxAtomChars {
		return "", fmt.Errorf("atom of %d characters (limit %d)", utf8.RuneCount(b), maxAtomChars)
	}
	return intern(b), nil
}

func latin1Atom(b []byte) Atom {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			r := make([]rune, len(b))
			for i, c := range b {
				r[i] = rune(c)
			}
			return Atom(string(r))
		}
	}
	return intern(b)
}

func (s *state) big(n int) (Term, error) {
	sign, err := s.u8()
	if err != nil {
		return nil, err
	}
	if sign > 1 {
		return nil, fmt.Errorf("bad bignum sign byte %d", sign)
	}
	digits, err := s.bytes(n)
	if err != nil {
		return nil, err
	}
	if n <= 8 {
		var v uint64
		for i := n - 1; i >= 0; i-- {
			v = v<<8 | uint64(digits[i])
		}
		switch {
		case sign == 0 && v <= math.MaxInt64:
			return int64(v), nil
		case sign == 1 && v <= 1<<63:
			return -int64(v), nil // -int64(1<<63) wraps to MinInt64, as wanted
		}
	}
	be := make([]byte, n)
	for i, d := range digits {
		be[n-1-i] = d
	}
	z := new(big.Int).SetBytes(be)
	if sign == 1 {
		z.Neg(z)
	}
	if z.IsInt64() {
		return z.Int64(), nil
	}
	return z, nil
}

func (s *state) bitBinary() (Term, error) {
	n, err := s.count(1)
	if err != nil {
		return nil, err
	}
	bits, err := s.u8()
	if err != nil {
		return nil, err
	}
	b, err := s.bytes(n)
	if err != nil {
		return nil, err
	}
	if n == 0 || bits == 0 || bits > 8 {
		if n == 0 && bits == 0 {
			return []byte{}, nil
		}
		return nil, fmt.Errorf("bit binary of %d bytes with %d bits in the last byte", n, bits)
	}
	out := bytes.Clone(b)
	if bits == 8 {
		return out, nil
	}
	out[n-1] &= byte(0xff << (8 - bits)) // unused bits carry no meaning
	return BitBinary{Bytes: out, Bits: bits}, nil
}

func (s *state) list(depth int) (Term, error) {
	n, err := s.count(1)
	if err != nil {
		return nil, err
	}
	elems := s.terms(n)
	for i := range elems {
		if elems[i], err = s.term(depth + 1); err != nil {
			return nil, err
		}
	}
	tail, err := s.term(depth + 1)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return tail, nil // [ | Tail] is Tail itself
	}
	switch t := tail.(type) {
	case List:
		return append(List(elems), t...), nil
	case String:
		for i := 0; i < len(t); i++ {
			elems = append(elems, int64(t[i]))
		}
		return List(elems), nil
	case ImproperList:
		return ImproperList{Elems: append(elems, t.Elems...), Tail: t.Tail}, nil
	}
	return ImproperList{Elems: elems, Tail: tail}, nil
}

func (s *state) tuple(n, depth int) (Term, error) {
	if n > len(s.b)-s.pos {
		return nil, fmt.Errorf("tuple arity %d exceeds the %d bytes left", n, len(s.b)-s.pos)
	}
	t := Tuple(s.terms(n))
	var err error
	for i := range t {
		if t[i], err = s.term(depth + 1); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (s *state) mapTerm(depth int) (Term, error) {
	n, err := s.count(2)
	if err != nil {
		return nil, err
	}
	m := make(Map, n)
	seen := make(map[string]struct{}, n)
	for i := range m {
		if m[i].Key, err = s.term(depth + 1); err != nil {
			return nil, err
		}
		// Erlang's binary_to_term refuses a map with a key twice; so do we,
		// or lookups and equality would depend on pair order.
		id, err := keyID(m[i].Key)
		if err != nil {
			return nil, err
		}
		if _, dup := seen[id]; dup {
			return nil, errors.New("map has a duplicate key")
		}
		seen[id] = struct{}{}
		if m[i].Value, err = s.term(depth + 1); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// keyID returns a string that is the same for =:= map keys: their encoding,
// with a charlist in one form whether it came as STRING_EXT or LIST_EXT.
func keyID(k Term) (string, error) {
	switch v := k.(type) {
	case Atom:
		return "a" + string(v), nil
	case int64:
		return "i" + strconv.FormatInt(v, 10), nil
	case []byte:
		return "b" + string(v), nil
	case List:
		if str, ok := asString(v); ok {
			k = str
		}
	}
	b, err := AppendTerm([]byte{'t'}, k)
	return string(b), err
}

// asString returns l as a String when every element is a byte.
func asString(l List) (String, bool) {
	if len(l) == 0 || len(l) > math.MaxUint16 {
		return "", false
	}
	b := make([]byte, len(l))
	for i, e := range l {
		n, ok := e.(int64)
		if !ok || n < 0 || n > 255 {
			return "", false
		}
		b[i] = byte(n)
	}
	return String(b), true
}

func (s *state) pid() (Pid, error) {
	tag, err := s.u8()
	if err != nil {
		return Pid{}, err
	}
	if tag != tagNewPid && tag != tagPid {
		return Pid{}, fmt.Errorf("expected a pid, got tag %d", tag)
	}
	node, err := s.atom()
	if err != nil {
		return Pid{}, err
	}
	var p Pid
	p.Node = node
	if p.ID, err = s.u32(); err != nil {
		return p, err
	}
	if p.Serial, err = s.u32(); err != nil {
		return p, err
	}
	if tag == tagPid {
		c, err := s.u8()
		p.Creation = uint32(c)
		return p, err
	}
	p.Creation, err = s.u32()
	return p, err
}

func (s *state) port(tag byte) (Term, error) {
	node, err := s.atom()
	if err != nil {
		return nil, err
	}
	p := Port{Node: node}
	switch tag {
	case tagV4Port:
		b, err := s.bytes(8)
		if err != nil {
			return nil, err
		}
		p.ID = binary.BigEndian.Uint64(b)
	default:
		id, err := s.u32()
		if err != nil {
			return nil, err
		}
		p.ID = uint64(id)
	}
	if tag == tagPort {
		c, err := s.u8()
		p.Creation = uint32(c)
		return p, err
	}
	p.Creation, err = s.u32()
	return p, err
}

func (s *state) ref(tag byte) (Term, error) {
	n := 1
	if tag != tagReference {
		var err error
		if n, err = s.u16(); err != nil {
			return nil, err
		}
		if n < 1 || n > MaxRefWords {
			return nil, fmt.Errorf("reference with %d words (1..%d allowed)", n, MaxRefWords)
		}
	}
	node, err := s.atom()
	if err != nil {
		return nil, err
	}
	r := Ref{Node: node, Len: uint8(n)}
	if tag == tagNewerReference {
		if r.Creation, err = s.u32(); err != nil {
			return nil, err
		}
	}
	if tag == tagReference {
		id, err := s.u32()
		if err != nil {
			return nil, err
		}
		r.ID[0] = id
	}
	if tag == tagNewReference || tag == tagReference {
		c, err := s.u8()
		if err != nil {
			return nil, err
		}
		r.Creation = uint32(c)
	}
	if tag != tagReference {
		for i := range n {
			if r.ID[i], err = s.u32(); err != nil {
				return nil, err
			}
		}
	}
	return r, nil
}

func (s *state) export() (Term, error) {
	mod, err := s.atom()
	if err != nil {
		return nil, err
	}
	fun, err := s.atom()
	if err != nil {
		return nil, err
	}
	tag, err := s.u8()
	if err != nil {
		return nil, err
	}
	if tag != tagSmallInteger {
		return nil, fmt.Errorf("export arity: expected a small integer, got tag %d", tag)
	}
	arity, err := s.u8()
	return Export{Module: mod, Function: fun, Arity: arity}, err
}

func (s *state) fun(depth int) (Term, error) {
	start := s.pos
	size, err := s.u32()
	if err != nil {
		return nil, err
	}
	if int(size) > len(s.b)-start {
		return nil, fmt.Errorf("fun of %d bytes exceeds the %d bytes left", size, len(s.b)-start)
	}
	var f Fun
	if f.Arity, err = s.u8(); err != nil {
		return nil, err
	}
	uniq, err := s.bytes(16)
	if err != nil {
		return nil, err
	}
	copy(f.Uniq[:], uniq)
	if f.Index, err = s.u32(); err != nil {
		return nil, err
	}
	numFree, err := s.count(1)
	if err != nil {
		return nil, err
	}
	if f.Module, err = s.atom(); err != nil {
		return nil, err
	}
	if f.OldIndex, err = s.smallInt(depth); err != nil {
		return nil, err
	}
	if f.OldUniq, err = s.smallInt(depth); err != nil {
		return nil, err
	}
	if f.Pid, err = s.pid(); err != nil {
		return nil, err
	}
	f.FreeVars = make([]Term, numFree)
	for i := range f.FreeVars {
		if f.FreeVars[i], err = s.term(depth + 1); err != nil {
			return nil, err
		}
	}
	if s.pos-start != int(size) {
		return nil, fmt.Errorf("fun size field says %d bytes, the fun has %d", size, s.pos-start)
	}
	return f, nil
}

func (s *state) smallInt(depth int) (int64, error) {
	t, err := s.term(depth + 1)
	if err != nil {
		return 0, err
	}
	v, ok := t.(int64)
	if !ok {
		return 0, fmt.Errorf("expected an integer, got %s", Typename(t))
	}
	return v, nil
}
