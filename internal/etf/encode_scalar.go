package etf

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"unicode/utf8"
)

// appendAtom writes SMALL_ATOM_UTF8_EXT, or ATOM_UTF8_EXT for more than
// 255 bytes of text.
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

// appendInt writes v in the smallest encoding, as OTP does.
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

// appendUint writes v in the smallest encoding.
func appendUint(buf []byte, v uint64) []byte {
	if v <= math.MaxInt64 {
		return appendInt(buf, int64(v))
	}
	return appendSmallBig(buf, 0, v)
}

// appendSmallBig writes SMALL_BIG_EXT with the fewest digits for mag.
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

// appendBig writes z as an integer of the smallest encoding.
func appendBig(buf []byte, z *big.Int) []byte {
	if z.IsInt64() {
		return appendInt(buf, z.Int64())
	}
	be := z.Bytes() // the magnitude, big-endian
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

// appendFloat writes NEW_FLOAT_EXT.
func appendFloat(buf []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("etf: encode: Erlang has no float %v", f)
	}
	buf = append(buf, tagNewFloat)
	return binary.BigEndian.AppendUint64(buf, math.Float64bits(f)), nil
}

// appendBinary writes BINARY_EXT.
func appendBinary[T string | []byte](buf []byte, b T) ([]byte, error) {
	if uint64(len(b)) > math.MaxUint32 {
		return nil, fmt.Errorf("etf: encode: binary of %d bytes, more than 4 GiB", len(b))
	}
	buf = append(buf, tagBinary)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(b)))
	return append(buf, b...), nil
}

// appendBitBinary writes BIT_BINARY_EXT, or BINARY_EXT for a whole last
// byte. The unused low bits of the last byte are written as zeros.
func appendBitBinary(buf []byte, b BitBinary) ([]byte, error) {
	if b.Bits == 8 || b.Bits == 0 && len(b.Bytes) == 0 {
		return appendBinary(buf, b.Bytes)
	}
	if b.Bits < 1 || b.Bits > 8 || len(b.Bytes) == 0 {
		return nil, fmt.Errorf("etf: encode: bit binary of %d bytes with %d bits in the last byte", len(b.Bytes), b.Bits)
	}
	buf = append(buf, tagBitBinary)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(b.Bytes)))
	buf = append(buf, b.Bits)
	buf = append(buf, b.Bytes[:len(b.Bytes)-1]...)
	return append(buf, b.Bytes[len(b.Bytes)-1]&byte(0xff<<(8-b.Bits))), nil
}

// appendString writes a charlist as OTP does: STRING_EXT when it fits (up
// to 65,535 bytes), a LIST_EXT of small integers otherwise, and [] when
// empty.
func appendString(buf []byte, s String) []byte {
	if len(s) == 0 {
		return append(buf, tagNil)
	}
	if len(s) <= math.MaxUint16 {
		buf = append(buf, tagString)
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(s)))
		return append(buf, s...)
	}
	buf = append(buf, tagList)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(s)))
	for i := range len(s) {
		buf = append(buf, tagSmallInteger, s[i])
	}
	return append(buf, tagNil)
}
