package etf

import (
	"sync"
	"sync/atomic"
)

// atoms interns decoded atoms, already boxed as Terms, so that decoding an
// atom seen before allocates nothing: a hot rpc reply repeats the same few
// hundred atoms.
//
// A lookup first tries a direct-mapped cache of recent atoms (one atomic
// load and a string comparison), then an immutable map read without
// locking. New atoms go to a small locked map that is merged into a new
// immutable map at once while the table is small, and later once it has
// grown by an eighth, which keeps the total copying linear. The table stops
// growing at maxInterned atoms, so hostile input cannot make it large;
// later atoms are simply allocated.
var atoms atomTable

const (
	maxInterned = 8192
	recentSize  = 1024 // entries of the direct-mapped cache, a power of 2
)

type atomTable struct {
	recent  [recentSize]atomic.Pointer[internedAtom]
	frozen  atomic.Pointer[map[string]*internedAtom]
	mu      sync.Mutex
	pending map[string]*internedAtom
}

type internedAtom struct {
	text string
	term Term // Atom(text), boxed once
}

// recentSlot hashes an atom's text (FNV-1a) to its direct-mapped slot.
func recentSlot[T string | []byte](text T) int {
	h := uint32(2166136261)
	for i := range len(text) {
		h = (h ^ uint32(text[i])) * 16777619
	}
	return int(h & (recentSize - 1))
}

// lookupAtom returns the boxed Atom with the text b if it is interned, and
// nil otherwise. An interned text is known to be a valid atom.
func lookupAtom[T string | []byte](b T) Term {
	slot := recentSlot(b)
	if e := atoms.recent[slot].Load(); e != nil && e.text == string(b) {
		return e.term
	}
	if m := atoms.frozen.Load(); m != nil {
		if e := (*m)[string(b)]; e != nil { // no allocation: the compiler sees the lookup
			atoms.recent[slot].Store(e)
			return e.term
		}
	}
	return nil
}

// internAtom returns the boxed Atom with the text b, which must be a valid
// atom (UTF-8, at most 255 characters). It does not keep b.
func internAtom[T string | []byte](b T) Term {
	if t := lookupAtom(b); t != nil {
		return t
	}
	e := atoms.add(string(b))
	if e == nil {
		return Atom(b)
	}
	atoms.recent[recentSlot(b)].Store(e)
	return e.term
}

// add interns text and returns its entry, or nil when the table is full.
func (a *atomTable) add(text string) *internedAtom {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e, ok := a.pending[text]; ok {
		return e
	}
	frozen := a.frozen.Load()
	nFrozen := 0
	if frozen != nil {
		nFrozen = len(*frozen)
		if e, ok := (*frozen)[text]; ok { // published since the caller looked
			return e
		}
	}
	if nFrozen+len(a.pending) >= maxInterned {
		return nil
	}
	e := &internedAtom{text: text, term: Atom(text)}
	if a.pending == nil {
		a.pending = map[string]*internedAtom{}
	}
	a.pending[text] = e
	if nFrozen < 512 || len(a.pending) >= nFrozen/8 {
		next := make(map[string]*internedAtom, nFrozen+len(a.pending))
		if frozen != nil {
			for k, v := range *frozen {
				next[k] = v
			}
		}
		for k, v := range a.pending {
			next[k] = v
		}
		a.frozen.Store(&next)
		a.pending = nil
	}
	return e
}
