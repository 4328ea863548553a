package etf

import "unsafe"

// Boxing without one allocation per value.
//
// A Term is an interface, so every tuple, list, pid and integer of 256 or
// more that the decoder returns is boxed: Go copies the value to the heap,
// one small allocation each. A process listing of 10,000 entries made
// 110,000 of them, and at a thousand managed nodes allocation and garbage
// collection were the server's largest CPU cost (docs/scale.md). The
// decoder therefore boxes values into slabs: the interface points into an
// array of values of its dynamic type, which is what Go's own boxing
// produces, except that many values share one allocation. The layout of an
// interface (a type word, then a data pointer) has been the same since Go
// 1.0 and is what reflect relies on; the garbage collector follows an
// interior pointer into an array as it does any other.
//
// As with s.terms, a small boxed value kept alive keeps its slab (at most
// maxSlab values) alive too.

// eface is the layout of an interface{} value.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

// typeWord returns the type word of v's dynamic type.
func typeWord(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

var (
	tupleType = typeWord(Tuple(nil))
	listType  = typeWord(List(nil))
	int64Type = typeWord(int64(0))
	pidType   = typeWord(Pid{})
)

// maxSlab bounds a slab's length, so that one kept value cannot keep much
// of a large reply alive.
const maxSlab = 4096

// slab hands out the elements of arrays of T, one at a time.
type slab[T any] struct {
	free []T
	size int
}

// box stores v in the slab and returns it as a Term whose dynamic type is
// typ, which must be T's type word. s sizes the next array (grow), from
// the bytes a value of T takes at least in the input.
func (sl *slab[T]) box(s *state, typ unsafe.Pointer, v T, minBytes int) Term {
	if len(sl.free) == 0 {
		sl.size = s.grow(sl.size, minBytes)
		sl.free = make([]T, sl.size)
	}
	p := &sl.free[0]
	*p = v
	sl.free = sl.free[1:]
	var t Term
	e := (*eface)(unsafe.Pointer(&t))
	e.typ, e.data = typ, unsafe.Pointer(p)
	return t
}

// boxes holds one decoding pass's slabs.
type boxes struct {
	tuples slab[Tuple]
	lists  slab[List]
	ints   slab[int64]
	pids   slab[Pid]
}

// grow returns the length of a slab that follows one of length last, for
// values that take at least minBytes of the input: the first holds 8
// values, each next one twice as many, up to maxSlab, and no more than the
// bytes left to decode could still hold (plus the one being boxed).
// Sizing the first slab from the input's length instead wasted most of it:
// a frame's control message was decoded with the whole frame as its input
// (a 4-tuple got a 4,096-term slab), and replies of binaries hold far fewer
// values than bytes. Doubling wastes at most half of what is allocated.
func (s *state) grow(last, minBytes int) int {
	return max(min(2*last, maxSlab, 1+s.left()/minBytes), 8)
}

// The least each boxed value takes on the wire: SMALL_TUPLE_EXT's header
// (its elements come before it is boxed, so they are not left), LIST_EXT's
// header, INTEGER_EXT, NEW_PID_EXT with a one-byte atom cache reference.
const (
	minTupleBytes = 2
	minListBytes  = 5
	minIntBytes   = 5
	minPidBytes   = 15
)

func (s *state) boxTuple(t Tuple) Term { return s.box.tuples.box(s, tupleType, t, minTupleBytes) }

func (s *state) boxList(l List) Term { return s.box.lists.box(s, listType, l, minListBytes) }

func (s *state) boxPid(p Pid) Term { return s.box.pids.box(s, pidType, p, minPidBytes) }

// boxInt boxes v; Go boxes 0..255 without allocating, so those stay as
// they are.
func (s *state) boxInt(v int64) Term {
	if v >= 0 && v < 256 {
		return v
	}
	return s.box.ints.box(s, int64Type, v, minIntBytes)
}
