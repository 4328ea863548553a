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
// typ, which must be T's type word. hint sizes the first array.
func (sl *slab[T]) box(typ unsafe.Pointer, v T, hint int) Term {
	if len(sl.free) == 0 {
		sl.size = min(max(2*sl.size, hint, 1), maxSlab)
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

// hint sizes the first slab of tuples and of integers from the input (an
// {atom, integer} pair takes about 20 bytes of it); lists and pids are
// fewer in most replies, so their slabs start at one value and double.
func (s *state) hint() int { return len(s.b) / 32 }

func (s *state) boxTuple(t Tuple) Term { return s.box.tuples.box(tupleType, t, s.hint()) }

func (s *state) boxList(l List) Term { return s.box.lists.box(listType, l, 1) }

func (s *state) boxPid(p Pid) Term { return s.box.pids.box(pidType, p, 1) }

// boxInt boxes v; Go boxes 0..255 without allocating, so those stay as
// they are.
func (s *state) boxInt(v int64) Term {
	if v >= 0 && v < 256 {
		return v
	}
	return s.box.ints.box(int64Type, v, s.hint())
}
