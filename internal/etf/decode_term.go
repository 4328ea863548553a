package etf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// state is one decoding pass over a byte slice. Its readers return plain
// errors; term wraps them in a DecodeError that names the term that failed.
type state struct {
	b        []byte
	pos      int
	cache    []Atom
	maxDepth int
	slab     []Term // backing store carved into small tuples and lists
	slabSize int
	box      boxes // slabs that box tuples, lists, pids and integers (box.go)
}

// terms returns a slice of n terms. Small slices are carved from a shared
// slab, so that a reply of many small tuples costs a few allocations rather
// than one per tuple. The price is that a small tuple kept alive keeps its
// slab (at most 4096 terms) alive too.
func (s *state) terms(n int) []Term {
	if n > 64 {
		return make([]Term, n)
	}
	if len(s.slab) < n {
		s.slabSize = s.grow(s.slabSize, 1)
		s.slab = make([]Term, max(s.slabSize, n))
	}
	out := s.slab[:n:n]
	s.slab = s.slab[n:]
	return out
}

// left returns the number of unread bytes.
func (s *state) left() int { return len(s.b) - s.pos }

// need returns an error wrapping ErrTruncated unless n more bytes remain.
func (s *state) need(n int) error {
	if n < 0 || s.left() < n {
		return fmt.Errorf("%w: need %d bytes, %d left", ErrTruncated, n, s.left())
	}
	return nil
}

// u8, u16 and u32 read big-endian unsigned integers.
func (s *state) u8() (byte, error) {
	if s.pos >= len(s.b) {
		return 0, s.need(1)
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

// bytes returns the next n bytes. They alias the input: copy what is kept.
func (s *state) bytes(n int) ([]byte, error) {
	if err := s.need(n); err != nil {
		return nil, err
	}
	v := s.b[s.pos : s.pos+n : s.pos+n]
	s.pos += n
	return v, nil
}

// count reads a 32-bit element count and checks that the remaining input
// can hold that many elements of at least minSize bytes each, so that a
// hostile count is an error rather than a huge allocation.
func (s *state) count(minSize int) (int, error) {
	n, err := s.u32()
	if err != nil {
		return 0, err
	}
	if uint64(n)*uint64(minSize) > uint64(s.left()) {
		return 0, fmt.Errorf("length %d exceeds remaining %d bytes", n, s.left())
	}
	return int(n), nil
}

// term decodes the term at s.pos. Errors come back as a *DecodeError for
// the innermost term that failed.
func (s *state) term(depth int) (Term, error) {
	start := s.pos
	t, err := s.value(depth)
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			return nil, err
		}
		what := "term"
		if start < len(s.b) {
			what = tagName(s.b[start])
		}
		return nil, &DecodeError{Offset: start, What: what, Err: err}
	}
	return t, nil
}

// value decodes a term after checking the depth; term wraps its errors.
func (s *state) value(depth int) (Term, error) {
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
		if err != nil {
			return nil, err
		}
		return s.boxInt(int64(int32(v))), nil
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
	case tagNewFloat:
		b, err := s.bytes(8)
		if err != nil {
			return nil, err
		}
		return finite(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case tagFloat:
		return s.oldFloat()
	case tagAtomUTF8, tagSmallAtomUTF8, tagAtom, tagSmallAtom, tagAtomCacheRef:
		return s.atomAfterTag(tag)
	case tagBinary:
		n, err := s.count(1)
		if err != nil {
			return nil, err
		}
		b, _ := s.bytes(n) // count checked the length
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
		return s.mapPairs(depth)
	case tagNewPid, tagPid:
		p, err := s.pidAfterTag(tag)
		if err != nil {
			return nil, err
		}
		return s.boxPid(p), nil
	case tagNewPort, tagV4Port, tagPort:
		return s.port(tag)
	case tagNewerReference, tagNewReference, tagReference:
		return s.ref(tag)
	case tagExport:
		return s.export()
	case tagNewFun:
		return s.fun(depth)
	case tagCompressed:
		return nil, errors.New("a compressed term may only appear at the top level")
	}
	return nil, fmt.Errorf("unknown tag %d", tag)
}

// list decodes LIST_EXT. OTP writes a proper list as one LIST_EXT ending in
// NIL_EXT, but a tail may also be another list or a string, which continue
// the same list; they are appended in a loop, so that a chain of tails
// costs neither stack nor quadratic copying.
func (s *state) list(depth int) (Term, error) {
	var elems []Term
	for {
		n, err := s.count(1)
		if err != nil {
			return nil, err
		}
		have := len(elems)
		if elems == nil {
			elems = s.terms(n)
		} else {
			elems = slices.Grow(elems, n)[:have+n]
		}
		for i := have; i < len(elems); i++ {
			if elems[i], err = s.term(depth + 1); err != nil {
				return nil, err
			}
		}
		if s.pos >= len(s.b) {
			return nil, s.need(1)
		}
		switch s.b[s.pos] {
		case tagNil:
			s.pos++
			if len(elems) == 0 {
				return List(nil), nil
			}
			return s.boxList(List(elems)), nil
		case tagList:
			s.pos++
			continue
		case tagString:
			s.pos++
			n, err := s.u16()
			if err != nil {
				return nil, err
			}
			b, err := s.bytes(n)
			if err != nil {
				return nil, err
			}
			for _, c := range b {
				elems = append(elems, int64(c))
			}
			if len(elems) == 0 {
				return List(nil), nil
			}
			return s.boxList(List(elems)), nil
		}
		tail, err := s.term(depth + 1)
		if err != nil {
			return nil, err
		}
		if len(elems) == 0 {
			return tail, nil // [ | Tail] is Tail itself
		}
		return ImproperList{Elems: elems, Tail: tail}, nil
	}
}

// tuple decodes the n elements of SMALL_TUPLE_EXT or LARGE_TUPLE_EXT.
func (s *state) tuple(n, depth int) (Term, error) {
	if n > s.left() {
		return nil, fmt.Errorf("arity %d exceeds remaining %d bytes", n, s.left())
	}
	t := Tuple(s.terms(n))
	var err error
	for i := range t {
		if t[i], err = s.term(depth + 1); err != nil {
			return nil, err
		}
	}
	return s.boxTuple(t), nil
}

// mapPairs decodes MAP_EXT. Like binary_to_term, it refuses a key that
// appears twice (see keySet): lookups and equality would otherwise depend
// on pair order.
func (s *state) mapPairs(depth int) (Term, error) {
	n, err := s.count(2)
	if err != nil {
		return nil, err
	}
	m := make(Map, n)
	keys := newKeySet(n)
	for i := range m {
		start := s.pos
		if m[i].Key, err = s.term(depth + 1); err != nil {
			return nil, err
		}
		if !keys.add(m[i].Key, s.b[start:s.pos]) {
			return nil, fmt.Errorf("key %s at offset %d appears twice", Typename(m[i].Key), start)
		}
		if m[i].Value, err = s.term(depth + 1); err != nil {
			return nil, err
		}
	}
	return m, nil
}
