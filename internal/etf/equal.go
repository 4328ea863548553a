package etf

import (
	"bytes"
	"math"
	"math/big"
)

// Equal reports whether a and b are the same Erlang term, as =:= does. It
// looks through the Go representations of one term:
//
//   - integers of any Go type, int64 and *big.Int are equal when their
//     values are;
//   - a String equals the List of its bytes, and an ImproperList whose tail
//     is a list equals the flattened list;
//   - a Go string equals the []byte binary with its bytes, and a BitBinary
//     with Bits == 8 equals the []byte of its bytes (the decoder never
//     returns one: whole-byte bitstrings decode as []byte); other
//     bitstrings never equal a binary;
//   - bool equals the atoms true and false;
//   - maps are equal when they hold equal pairs in any order.
//
// Floats compare bit for bit, so 0.0 =/= -0.0 (as in OTP 27; OTP 25 and 26
// still say 0.0 =:= -0.0), and an integer never equals a float (1 =/= 1.0).
// nil equals nothing.
//
// Maps are compared pair by pair in order first, which is how two
// encodings of one map come; pairs out of order cost a lookup each, so
// comparing large maps in different orders is quadratic.
func Equal(a, b Term) bool {
	// Fast paths for the representations the decoder produces.
	switch x := a.(type) {
	case Atom:
		if y, ok := b.(Atom); ok {
			return x == y
		}
	case int64:
		if y, ok := b.(int64); ok {
			return x == y
		}
	case []byte:
		if y, ok := b.([]byte); ok {
			return bytes.Equal(x, y)
		}
	case Tuple:
		y, ok := b.(Tuple)
		return ok && equalTerms(x, y)
	case List:
		if y, ok := b.(List); ok {
			return equalTerms(x, y)
		}
	case float64:
		if y, ok := b.(float64); ok {
			return math.Float64bits(x) == math.Float64bits(y)
		}
	}
	return equalSlow(a, b)
}

// equalSlow compares across Go representations.
func equalSlow(a, b Term) bool {
	// [ | Tail] is Tail itself.
	if l, ok := a.(ImproperList); ok && len(l.Elems) == 0 {
		return Equal(l.Tail, b)
	}
	if l, ok := b.(ImproperList); ok && len(l.Elems) == 0 {
		return Equal(a, l.Tail)
	}
	if ai, ok := toBig(a); ok {
		bi, ok := toBig(b)
		return ok && ai.Cmp(bi) == 0
	}
	if af, ok := toFloat(a); ok {
		bf, ok := toFloat(b)
		return ok && math.Float64bits(af) == math.Float64bits(bf)
	}
	if aa, ok := toAtom(a); ok {
		ba, ok := toAtom(b)
		return ok && aa == ba
	}
	if ab, ok := toBytes(a); ok {
		bb, ok := toBytes(b)
		return ok && bytes.Equal(ab, bb)
	}
	if ae, at, ok := listParts(a); ok {
		be, bt, ok := listParts(b)
		if !ok || !equalTerms(ae, be) {
			return false
		}
		if at == nil || bt == nil {
			return at == nil && bt == nil
		}
		return Equal(at, bt)
	}
	switch x := a.(type) {
	case BitBinary:
		y, ok := b.(BitBinary)
		return ok && x.Bits == y.Bits && bytes.Equal(x.Bytes, y.Bytes)
	case Tuple:
		y, ok := b.(Tuple)
		return ok && equalTerms(x, y)
	case Map:
		y, ok := b.(Map)
		return ok && equalMaps(x, y)
	case Pid, Port, Ref, Export:
		return a == b
	case Fun:
		y, ok := b.(Fun)
		return ok && x.Arity == y.Arity && x.Uniq == y.Uniq && x.Index == y.Index && x.Module == y.Module &&
			x.OldIndex == y.OldIndex && x.OldUniq == y.OldUniq && x.Pid == y.Pid && equalTerms(x.FreeVars, y.FreeVars)
	}
	return false
}

// equalTerms compares two slices of terms element by element.
func equalTerms(a, b []Term) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// equalMaps compares pairs in order first, which is how two encodings of
// one map usually come; a pair that does not match in place is looked up.
func equalMaps(x, y Map) bool {
	if len(x) != len(y) {
		return false
	}
	for i, p := range x {
		if Equal(p.Key, y[i].Key) {
			if !Equal(p.Value, y[i].Value) {
				return false
			}
			continue
		}
		v, found := y.Get(p.Key)
		if !found || !Equal(p.Value, v) {
			return false
		}
	}
	return true
}

// toBig, toFloat, toAtom and toBytes return t in one Go type for every
// representation of a number, atom or binary, and false for other terms.
func toBig(t Term) (*big.Int, bool) {
	switch v := t.(type) {
	case int64:
		return big.NewInt(v), true
	case int:
		return big.NewInt(int64(v)), true
	case int8:
		return big.NewInt(int64(v)), true
	case int16:
		return big.NewInt(int64(v)), true
	case int32:
		return big.NewInt(int64(v)), true
	case uint:
		return new(big.Int).SetUint64(uint64(v)), true
	case uint8:
		return big.NewInt(int64(v)), true
	case uint16:
		return big.NewInt(int64(v)), true
	case uint32:
		return big.NewInt(int64(v)), true
	case uint64:
		return new(big.Int).SetUint64(v), true
	case *big.Int:
		return v, v != nil
	case big.Int:
		return &v, true
	}
	return nil, false
}

func toFloat(t Term) (float64, bool) {
	switch v := t.(type) {
	case float64:
		return v, true
	case float32:
		return float64(v), true
	}
	return 0, false
}

func toAtom(t Term) (Atom, bool) {
	switch v := t.(type) {
	case Atom:
		return v, true
	case bool:
		if v {
			return True, true
		}
		return False, true
	}
	return "", false
}

func toBytes(t Term) ([]byte, bool) {
	switch v := t.(type) {
	case []byte:
		return v, true
	case string:
		return []byte(v), true
	case BitBinary:
		if v.Bits == 8 {
			return v.Bytes, true
		}
	}
	return nil, false
}

// toElems returns the elements of a proper list in any representation.
func toElems(t Term) ([]Term, bool) {
	elems, tail, ok := listParts(t)
	return elems, ok && tail == nil
}

// listParts returns the elements and the tail (nil when the list is
// proper) of a list in any representation, flattening an ImproperList
// whose tail is itself a list.
func listParts(t Term) (elems []Term, tail Term, ok bool) {
	switch v := t.(type) {
	case List:
		return v, nil, true
	case []Term:
		return v, nil, true
	case String:
		out := make([]Term, len(v))
		for i := range len(v) {
			out[i] = int64(v[i])
		}
		return out, nil, true
	case ImproperList:
		te, tt, isList := listParts(v.Tail)
		if !isList {
			return v.Elems, v.Tail, true
		}
		if len(te) == 0 {
			return v.Elems, tt, true
		}
		return append(v.Elems[:len(v.Elems):len(v.Elems)], te...), tt, true
	}
	return nil, nil, false
}
