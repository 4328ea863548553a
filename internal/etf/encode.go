package etf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
)

// maxEncodeDepth bounds nesting when encoding, so a Go value that contains
// itself fails instead of overflowing the stack.
const maxEncodeDepth = 10000

// Encode returns the external term format of t with the version byte 131
// in front, as term_to_binary/1 does (uncompressed).
//
// Besides this package's types, t may contain these Go conveniences:
//
//	int, int8..int64, uint..uint64   integer
//	*big.Int, big.Int                integer
//	float32, float64                 float (NaN and infinities are errors)
//	bool                             the atom true or false
//	[]byte                           binary
//	string                           binary, not a charlist: use String for "abc"
//	[]Term ([]any)                   proper list
//
// nil is an error: Erlang has no nil (use List(nil) for [] or the atom
// undefined). Integers use the smallest encoding, as OTP does: 0..255 as
// SMALL_INTEGER_EXT, the int32 range as INTEGER_EXT, larger values as
// SMALL_BIG_EXT or LARGE_BIG_EXT. Maps keep the order of their pairs.
//
// On error the returned slice is nil.
func Encode(t Term) ([]byte, error) { return Append(nil, t) }

// Append appends the encoding of t, with the version byte, to buf.
func Append(buf []byte, t Term) ([]byte, error) {
	return AppendTerm(append(buf, tagVersion), t)
}

// AppendTerm appends the encoding of t without the version byte, as terms
// follow a distribution header on the wire.
func AppendTerm(buf []byte, t Term) ([]byte, error) {
	return appendTerm(buf, t, 0)
}

// appendTerm dispatches on the Go type of t; depth bounds nesting.
func appendTerm(buf []byte, t Term, depth int) ([]byte, error) {
	if depth > maxEncodeDepth {
		return nil, fmt.Errorf("etf: encode: terms nested deeper than %d", maxEncodeDepth)
	}
	switch v := t.(type) {
	case Atom:
		return appendAtom(buf, v)
	case bool:
		if v {
			return appendAtom(buf, True)
		}
		return appendAtom(buf, False)
	case int64:
		return appendInt(buf, v), nil
	case int:
		return appendInt(buf, int64(v)), nil
	case int8:
		return appendInt(buf, int64(v)), nil
	case int16:
		return appendInt(buf, int64(v)), nil
	case int32:
		return appendInt(buf, int64(v)), nil
	case uint8:
		return appendInt(buf, int64(v)), nil
	case uint16:
		return appendInt(buf, int64(v)), nil
	case uint32:
		return appendInt(buf, int64(v)), nil
	case uint:
		return appendUint(buf, uint64(v)), nil
	case uint64:
		return appendUint(buf, v), nil
	case *big.Int:
		if v == nil {
			return nil, errors.New("etf: encode: nil *big.Int")
		}
		return appendBig(buf, v), nil
	case big.Int:
		return appendBig(buf, &v), nil
	case float64:
		return appendFloat(buf, v)
	case float32:
		return appendFloat(buf, float64(v))
	case []byte:
		return appendBinary(buf, v)
	case string:
		return appendBinary(buf, v)
	case BitBinary:
		return appendBitBinary(buf, v)
	case String:
		return appendString(buf, v), nil
	case List:
		return appendList(buf, v, nil, depth)
	case []Term:
		return appendList(buf, v, nil, depth)
	case ImproperList:
		if len(v.Elems) == 0 { // [ | Tail] is Tail itself
			return appendTerm(buf, v.Tail, depth+1)
		}
		return appendList(buf, v.Elems, v.Tail, depth)
	case Tuple:
		return appendTuple(buf, v, depth)
	case Map:
		return appendMap(buf, v, depth)
	case Pid:
		return appendPid(buf, v)
	case Port:
		return appendPort(buf, v)
	case Ref:
		return appendRef(buf, v)
	case Export:
		return appendExport(buf, v)
	case Fun:
		return appendFun(buf, v, depth)
	case nil:
		return nil, errors.New("etf: encode: cannot encode nil (use List(nil) for [] or the atom undefined)")
	}
	return nil, fmt.Errorf("etf: encode: unsupported Go type %T", t)
}

// appendList writes LIST_EXT: the elements, then the tail (NIL_EXT when
// tail is nil). No elements and no tail is [], NIL_EXT alone.
func appendList(buf []byte, elems []Term, tail Term, depth int) ([]byte, error) {
	if len(elems) == 0 && tail == nil {
		return append(buf, tagNil), nil
	}
	buf = append(buf, tagList)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(elems)))
	var err error
	for _, e := range elems {
		if buf, err = appendTerm(buf, e, depth+1); err != nil {
			return nil, err
		}
	}
	if tail == nil {
		return append(buf, tagNil), nil
	}
	return appendTerm(buf, tail, depth+1)
}

// appendTuple writes SMALL_TUPLE_EXT, or LARGE_TUPLE_EXT beyond 255 elements.
func appendTuple(buf []byte, t Tuple, depth int) ([]byte, error) {
	if len(t) <= math.MaxUint8 {
		buf = append(buf, tagSmallTuple, byte(len(t)))
	} else {
		buf = append(buf, tagLargeTuple)
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(t)))
	}
	var err error
	for _, e := range t {
		if buf, err = appendTerm(buf, e, depth+1); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// appendMap writes MAP_EXT with the pairs in their order. It does not check
// that keys are distinct.
func appendMap(buf []byte, m Map, depth int) ([]byte, error) {
	buf = append(buf, tagMap)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(m)))
	var err error
	for _, p := range m {
		if buf, err = appendTerm(buf, p.Key, depth+1); err != nil {
			return nil, err
		}
		if buf, err = appendTerm(buf, p.Value, depth+1); err != nil {
			return nil, err
		}
	}
	return buf, nil
}
