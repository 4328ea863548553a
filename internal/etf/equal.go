package etf

import (
	"bytes"
	"math"
	"math/big"
)

// Equal reports whether a and b are the same Erlang term (=:=). It looks
// through Go representations: an int and an int64 of one value are equal, a
// String equals the List of its bytes, a Go string equals the binary with
// its bytes, and maps are equal whatever the order of their pairs. Floats
// compare bit for bit (0.0 =/= -0.0, as in OTP 27); an integer never equals
// a float.
func Equal(a, b Term) bool {
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
	if al, ok := toElems(a); ok {
		bl, ok := toElems(b)
		if !ok || len(al) != len(bl) {
			return false
		}
		for i := range al {
			if !Equal(al[i], bl[i]) {
				return false
			}
		}
		return true
	}
	switch x := a.(type) {
	case BitBinary:
		y, ok := b.(BitBinary)
		return ok && x.Bits == y.Bits && bytes.Equal(x.Bytes, y.Bytes)
	case ImproperList:
		y, ok := b.(ImproperList)
		if !ok || len(x.Elems) != len(y.Elems) || !Equal(x.Tail, y.Tail) {
			return false
		}
		for i := range x.Elems {
			if !Equal(x.Elems[i], y.Elems[i]) {
				return false
			}
		}
		return true
	case Tuple:
		y, ok := b.(Tuple)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case Map:
		y, ok := b.(Map)
		if !ok || len(x) != len(y) {
			return false
		}
		for _, p := range x {
			v, found := y.Get(p.Key)
			if !found || !Equal(p.Value, v) {
				return false
			}
		}
		return true
	case Pid, Port, Ref, Export:
		return a == b
	case Fun:
		y, ok := b.(Fun)
		if !ok || x.Arity != y.Arity || x.Uniq != y.Uniq || x.Index != y.Index || x.Module != y.Module ||
			x.OldIndex != y.OldIndex || x.OldUniq != y.OldUniq || x.Pid != y.Pid || len(x.FreeVars) != len(y.FreeVars) {
			return false
		}
		for i := range x.FreeVars {
			if !Equal(x.FreeVars[i], y.FreeVars[i]) {
				return false
			}
		}
		return true
	}
	return false
}

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
	switch v := t.(type) {
	case List:
		return v, true
	case []Term:
		return v, true
	case String:
		out := make([]Term, len(v))
		for i := 0; i < len(v); i++ {
			out[i] = int64(v[i])
		}
		return out, true
	}
	return nil, false
}
