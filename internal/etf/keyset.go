package etf

import (
	"bytes"
	"hash/maphash"
)

// keySet finds a map key that appears twice while a map is decoded, in time
// linear in the size of the keys (comparing decoded keys with Equal can be
// quadratic for maps whose keys are maps, and re-encoding keys would redo
// the work at every nesting level).
//
// Atoms, integers, pids, ports, references and exports are compared by
// value, so that two encodings of one of them (ATOM_EXT and ATOM_UTF8_EXT,
// an atom cache reference and the atom) still collide. Other keys are
// compared by their bytes in the input, which OTP always writes the same
// way for one term; a hand-made pair of encodings of one composite key is
// not caught.
type keySet struct {
	small  []keyEntry            // up to smallMap keys: compared pairwise
	simple map[any]struct{}      // by value, beyond smallMap keys
	hashed map[uint64][]keyEntry // composite keys by hash of their bytes
	seed   maphash.Seed
}

// smallMap is the key count up to which keys are compared pairwise, which
// is cheaper than hashing.
const smallMap = 8

type keyEntry struct {
	simple Term   // the key, when it is compared by value
	raw    []byte // the key's bytes in the input, otherwise
}

func newKeySet(n int) *keySet {
	if n <= smallMap {
		return &keySet{small: make([]keyEntry, 0, n)}
	}
	return &keySet{simple: make(map[any]struct{}, n), hashed: map[uint64][]keyEntry{}, seed: hashSeed}
}

// hashSeed is random per process, so that input cannot be made to collide.
var hashSeed = maphash.MakeSeed()

// add records key, whose encoding is raw, and reports false if an equal key
// was added before.
func (ks *keySet) add(key Term, raw []byte) bool {
	e := keyEntry{raw: raw}
	switch key.(type) {
	case Atom, int64, Pid, Port, Ref, Export:
		e = keyEntry{simple: key}
	}
	if ks.simple == nil {
		for _, o := range ks.small {
			if e.equal(o) {
				return false
			}
		}
		ks.small = append(ks.small, e)
		return true
	}
	if e.simple != nil {
		if _, dup := ks.simple[e.simple]; dup {
			return false
		}
		ks.simple[e.simple] = struct{}{}
		return true
	}
	h := maphash.Bytes(ks.seed, raw)
	for _, o := range ks.hashed[h] {
		if e.equal(o) {
			return false
		}
	}
	ks.hashed[h] = append(ks.hashed[h], e)
	return true
}

func (e keyEntry) equal(o keyEntry) bool {
	if e.simple != nil || o.simple != nil {
		return e.simple == o.simple
	}
	return bytes.Equal(e.raw, o.raw)
}
