package etf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"unicode/utf8"
)

// maxEncodeDepth bounds nesting when encoding, so a Go value that contains
// itself fails instead of overflowing the stack.
const maxEncodeDepth = 10000

// Encode returns the external term format of t, with the version byte 131,
// as term_to_binary/1 does.
//
// Besides this package's types it accepts Go conveniences: every integer
// type, *big.Int, float32/float64, bool (the atoms true and false), []byte
// and Go string (both binaries: use String for a charlist) and []any (a
// list). nil is an error.
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

func appendTerm(buf []byte, t Term, depth int) ([]byte, error) {
	if depth > maxEncodeDepth {
		return nil, fmt.Errorf("etf: encode: terms nested deeper than %d", maxEncodeDepth)
	}
	var err error
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
		return appendBinary(buf, v), nil
	case string:
		buf = append(buf, tagBinary)
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(v)))
		return append(buf, v...), nil
	case BitBinary:
		if v.Bits == 8 || v.Bits == 0 && len(v.Bytes) == 0 {
			return appendBinary(buf, v.Bytes), nil
		}
		if v.Bits < 1 || v.Bits > 8 || len(v.Bytes) == 0 {
			return nil, fmt.Errorf("etf: encode: bit binary of %d bytes with %d bits in the last byte", len(v.Bytes), v.Bits)
		}
		buf = append(buf, tagBitBinary)
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(v.Bytes)))
		buf = append(buf, v.Bits)
		buf = append(buf, v.Bytes[:len(v.Bytes)-1]...)
		return append(buf, v.Bytes[len(v.Bytes)-1]&byte(0xff<<(8-v.Bits))), nil
	case String:
		if len(v) == 0 {
			return append(buf, tagNil), nil
		}
		if len(v) <= math.MaxUint16 {
			buf = append(buf, tagString)
			buf = binary.BigEndian.AppendUint16(buf, uint16(len(v)))
			return append(buf, v...), nil
		}
		buf = append(buf, tagList)
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(v)))
		for i := 0; i < len(v); i++ {
			buf = append(buf, tagSmallInteger, v[i])
		}
		return append(buf, tagNil), nil
	case List:
		return appendList(buf, v, nil, depth)
	case []Term:
		return appendList(buf, v, nil, depth)
	case ImproperList:
		if len(v.Elems) == 0 {
			return appendTerm(buf, v.Tail, depth+1)
		}
		return appendList(buf, v.Elems, v.Tail, depth)
	case Tuple:
		if len(v) <= math.MaxUint8 {
			buf = append(buf, tagSmallTuple, byte(len(v)))
		} else {
			buf = append(buf, tagLargeTuple)
			buf = binary.BigEndian.AppendUint32(buf, uint32(len(v)))
		}
		for _, e := range v {
			if buf, err = appendTerm(buf, e, depth+1); err != nil {
				return nil, err
			}
		}
		return buf, nil
	case Map:
		buf = append(buf, tagMap)
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(v)))
		for _, p := range v {
			if buf, err = appendTerm(buf, p.Key, depth+1); err != nil {
				return nil, err
			}
			if buf, err = appendTerm(buf, p.Value, depth+1); err != nil {
				return nil, err
			}
		}
		return buf, nil
	case Pid:
		return appendPid(buf, v)
	case Port:
		if v.ID > math.MaxUint32 {
			buf = append(buf, tagV4Port)
			if buf, err = appendAtom(buf, v.Node); err != nil {
				return nil, err
			}
			buf = binary.BigEndian.AppendUint64(buf, v.ID)
		} else {
			buf = append(buf, tagNewPort)
			if buf, err = appendAtom(buf, v.Node); err != nil {
				return nil, err
			}
			buf = binary.BigEndian.AppendUint32(buf, uint32(v.ID))
		}
		return binary.BigEndian.AppendUint32(buf, v.Creation), nil
	case Ref:
		if v.Len < 1 || v.Len > MaxRefWords {
			return nil, fmt.Errorf("etf: encode: reference with %d words", v.Len)
		}
		buf = append(buf, tagNewerReference)
		buf = binary.BigEndian.AppendUint16(buf, uint16(v.Len))
		if buf, err = appendAtom(buf, v.Node); err != nil {
			return nil, err
		}
		buf = binary.BigEndian.AppendUint32(buf, v.Creation)
		for _, w := range v.Words() {
			buf = binary.BigEndian.AppendUint32(buf, w)
		}
		return buf, nil
	case Export:
		buf = append(buf, tagExport)
		if buf, err = appendAtom(buf, v.Module); err != nil {
			return nil, err
		}
		if buf, err = appendAtom(buf, v.Function); err != nil {
			return nil, err
		}
		return append(buf, tagSmallInteger, v.Arity), nil
	case Fun:
		return appendFun(buf, v, depth)
	case nil:
		return nil, errors.New("etf: encode: cannot encode nil (use List(nil) for [] or an atom such as undefined)")
	}
	return nil, fmt.Errorf("etf: encode: unsupported Go type %T", t)
}

func appendAtom(buf []byte, a Atom) ([]byte, error) {
	n := len(a)
	if n > maxAtomChars && utf8.RuneCountInString(string(a)) > maxAtomChars {
		return nil, fmt.Errorf("etf: encode: atom of more than %d characters", maxAtomChars)
	}
	if !utf8.ValidString(string(a)) {
		return nil, fmt.Errorf("etf: encode: atom %q is not valid UTF-8", string(a))
	}
	if n <= math.MaxUint8 {
		buf = append(buf, tagSmallAtomUTF8, byte(n))
	} else {
		buf = append(buf, tagAtomUTF8)
		buf = binary.BigEndian.AppendUint16(buf, uint16(n))
	}
	return append(buf, a...), nil
}

func appendInt(buf []byte, v int64) []byte {
	switch {
	case v >= 0 && v <= math.MaxUint8:
		return append(buf, tagSmallInteger, byte(v))
	case v >= math.MinInt32 && v <= math.MaxInt32:
		buf = append(buf, tagInteger)
		return binary.BigEndian.AppendUint32(buf, uint32(int32(v)))
	}
	sign := byte(0)
	mag := uint64(v)
	if v < 0 {
		sign, mag = 1, uint64(-v) // -MinInt64 wraps to 1<<63, the right magnitude
	}
	return appendSmallBig(buf, sign, mag)
}

func appendUint(buf []byte, v uint64) []byte {
	if v <= math.MaxInt64 {
		return appendInt(buf, int64(v))
	}
	return appendSmallBig(buf, 0, v)
}

func appendSmallBig(buf []byte, sign byte, mag uint64) []byte {
	var digits [8]byte
	n := 0
	for ; mag > 0; n++ {
		digits[n] = byte(mag)
		mag >>= 8
	}
	buf = append(buf, tagSmallBig, byte(n), sign)
	return append(buf, digits[:n]...)
}

func appendBig(buf []byte, z *big.Int) []byte {
	if z.IsInt64() {
		return appendInt(buf, z.Int64())
	}
	be := new(big.Int).Abs(z).Bytes()
	n := len(be)
	if n <= math.MaxUint8 {
		buf = append(buf, tagSmallBig, byte(n))
	} else {
		buf = append(buf, tagLargeBig)
		buf = binary.BigEndian.AppendUint32(buf, uint32(n))
	}
	if z.Sign() < 0 {
		buf = append(buf, 1)
	} else {
		buf = append(buf, 0)
	}
	for i := n - 1; i >= 0; i-- {
		buf = append(buf, be[i])
	}
	return buf
}

func appendFloat(buf []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("etf: encode: Erlang has no float %v", f)
	}
	buf = append(buf, tagNewFloat)
	return binary.BigEndian.AppendUint64(buf, math.Float64bits(f)), nil
}

func appendBinary(buf, b []byte) []byte {
	buf = append(buf, tagBinary)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(b)))
	return append(buf, b...)
}

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

func appendPid(buf []byte, p Pid) ([]byte, error) {
	buf = append(buf, tagNewPid)
	buf, err := appendAtom(buf, p.Node)
	if err != nil {
		return nil, err
	}
	buf = binary.BigEndian.AppendUint32(buf, p.ID)
	buf = binary.BigEndian.AppendUint32(buf, p.Serial)
	return binary.BigEndian.AppendUint32(buf, p.Creation), nil
}

func appendFun(buf []byte, f Fun, depth int) ([]byte, error) {
	buf = append(buf, tagNewFun)
	start := len(buf)
	buf = append(buf, 0, 0, 0, 0) // Size, patched below
	buf = append(buf, f.Arity)
	buf = append(buf, f.Uniq[:]...)
	buf = binary.BigEndian.AppendUint32(buf, f.Index)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(f.FreeVars)))
	var err error
	if buf, err = appendAtom(buf, f.Module); err != nil {
		return nil, err
	}
	buf = appendInt(buf, f.OldIndex)
	buf = appendInt(buf, f.OldUniq)
	if buf, err = appendPid(buf, f.Pid); err != nil {
		return nil, err
	}
	for _, v := range f.FreeVars {
		if buf, err = appendTerm(buf, v, depth+1); err != nil {
			return nil, err
		}
	}
	binary.BigEndian.PutUint32(buf[start:], uint32(len(buf)-start))
	return buf, nil
}
