package etf

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"unicode/utf8"
)

// Typename names the Erlang type of t for error messages.
func Typename(t Term) string {
	switch v := t.(type) {
	case Atom, bool:
		return "atom"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, *big.Int, big.Int:
		return "integer"
	case float64, float32:
		return "float"
	case []byte, string:
		return "binary"
	case BitBinary:
		return "bitstring"
	case String:
		return "string"
	case List, []Term:
		if l, _ := toElems(v); len(l) == 0 {
			return "[]"
		}
		return "list"
	case ImproperList:
		return "improper list"
	case Tuple:
		return fmt.Sprintf("tuple of %d", len(v))
	case Map:
		return "map"
	case Pid:
		return "pid"
	case Port:
		return "port"
	case Ref:
		return "reference"
	case Export, Fun:
		return "fun"
	case nil:
		return "nil"
	}
	return fmt.Sprintf("Go %T", t)
}

// typeError says what was expected and what came instead.
func typeError(want string, t Term) error {
	return fmt.Errorf("expected %s, got %s", want, Typename(t))
}

// ToInt64 returns an integer term as int64.
func ToInt64(t Term) (int64, error) {
	if v, ok := t.(int64); ok {
		return v, nil
	}
	z, ok := toBig(t)
	if !ok {
		return 0, typeError("an integer", t)
	}
	if !z.IsInt64() {
		return 0, fmt.Errorf("integer %s does not fit in int64", z)
	}
	return z.Int64(), nil
}

// ToUint64 returns a non-negative integer term as uint64.
func ToUint64(t Term) (uint64, error) {
	if v, ok := t.(int64); ok && v >= 0 {
		return uint64(v), nil
	}
	z, ok := toBig(t)
	if !ok {
		return 0, typeError("an integer", t)
	}
	if !z.IsUint64() {
		return 0, fmt.Errorf("integer %s does not fit in uint64", z)
	}
	return z.Uint64(), nil
}

// ToFloat64 returns a float or integer term as float64.
func ToFloat64(t Term) (float64, error) {
	if v, ok := t.(int64); ok { // most metric values: no big.Int
		return float64(v), nil
	}
	if f, ok := toFloat(t); ok {
		return f, nil
	}
	if z, ok := toBig(t); ok {
		f, _ := new(big.Float).SetInt(z).Float64()
		if math.IsInf(f, 0) {
			return 0, fmt.Errorf("integer %s is too large for a float", z)
		}
		return f, nil
	}
	return 0, typeError("a number", t)
}

// ToAtom returns an atom term.
func ToAtom(t Term) (Atom, error) {
	if a, ok := toAtom(t); ok {
		return a, nil
	}
	return "", typeError("an atom", t)
}

// ToBool returns the atoms true and false as bool.
func ToBool(t Term) (bool, error) {
	switch a, _ := toAtom(t); a {
	case True:
		return true, nil
	case False:
		return false, nil
	}
	return false, typeError("true or false", t)
}

// ToString returns text held in a binary (UTF-8), a charlist (String or a
// list of code points) or an atom.
func ToString(t Term) (string, error) {
	switch v := t.(type) {
	case []byte:
		if !utf8.Valid(v) {
			return "", errors.New("binary is not valid UTF-8")
		}
		return string(v), nil
	case string:
		return v, nil
	case Atom:
		return string(v), nil
	case String:
		r := make([]rune, len(v))
		for i := 0; i < len(v); i++ {
			r[i] = rune(v[i]) // Latin-1 byte = code point
		}
		return string(r), nil
	case List, []Term:
		l, _ := toElems(v)
		r := make([]rune, len(l))
		for i, e := range l {
			n, err := ToInt64(e)
			if err != nil || n < 0 || n > utf8.MaxRune || !utf8.ValidRune(rune(n)) {
				return "", fmt.Errorf("list element %d is not a character", i)
			}
			r[i] = rune(n)
		}
		return string(r), nil
	}
	return "", typeError("text (binary, string or atom)", t)
}

// ToList returns the elements of a proper list (a String gives its bytes as
// integers).
func ToList(t Term) ([]Term, error) {
	if l, ok := toElems(t); ok {
		return l, nil
	}
	return nil, typeError("a list", t)
}

// ToTuple returns a tuple of the given arity (-1: any arity).
func ToTuple(t Term, arity int) (Tuple, error) {
	tup, ok := t.(Tuple)
	switch {
	case !ok && arity < 0:
		return nil, typeError("a tuple", t)
	case !ok || arity >= 0 && len(tup) != arity:
		return nil, typeError(fmt.Sprintf("a tuple of %d", arity), t)
	}
	return tup, nil
}

// ToMap returns a map term.
func ToMap(t Term) (Map, error) {
	m, ok := t.(Map)
	if !ok {
		return nil, typeError("a map", t)
	}
	return m, nil
}

// ProplistToMap turns a proplist ([{Key, Value}], where a bare atom A means
// {A, true}) into a Map, keeping the first value of a key that appears
// twice, as proplists:get_value/2 would find it. Tuples of other sizes are
// an error, as is anything that is not a proper list.
func ProplistToMap(t Term) (Map, error) {
	l, ok := toElems(t)
	if !ok {
		return nil, typeError("a proplist", t)
	}
	m := make(Map, 0, len(l))
	for i, e := range l {
		var p MapPair
		switch v := e.(type) {
		case Tuple:
			if len(v) != 2 {
				return nil, fmt.Errorf("proplist element %d: %w", i, typeError("a tuple of 2", v))
			}
			p = MapPair{Key: v[0], Value: v[1]}
		case Atom:
			p = MapPair{Key: v, Value: True}
		default:
			return nil, fmt.Errorf("proplist element %d: %w", i, typeError("a tuple of 2 or an atom", v))
		}
		if _, dup := m.Get(p.Key); !dup {
			m = append(m, p)
		}
	}
	return m, nil
}

// PropGet looks key up in a proplist ([{Key, Value}] or bare atoms, which
// mean {Atom, true}) as proplists:get_value/2 does. It also accepts a map.
func PropGet(t Term, key Term) (Term, bool) {
	if m, ok := t.(Map); ok {
		return m.Get(key)
	}
	l, ok := toElems(t)
	if !ok {
		return nil, false
	}
	for _, e := range l {
		switch v := e.(type) {
		case Tuple:
			if len(v) >= 1 && Equal(v[0], key) {
				if len(v) == 2 {
					return v[1], true
				}
				return v, true
			}
		case Atom:
			if Equal(v, key) {
				return True, true
			}
		}
	}
	return nil, false
}

// ToBigInt returns any integer term (every Go integer type this package
// encodes, or *big.Int) as a *big.Int.
func ToBigInt(t Term) (*big.Int, bool) { return toBig(t) }
