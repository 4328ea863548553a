package etf

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"unicode/utf8"
)

// finite refuses NaN and infinities, which Erlang floats cannot hold.
func finite(f float64) (Term, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("%v is not an Erlang float", f)
	}
	return f, nil
}

// oldFloat decodes FLOAT_EXT: 31 bytes of printf "%.20e" text, padded with
// NUL bytes.
func (s *state) oldFloat() (Term, error) {
	b, err := s.bytes(31)
	if err != nil {
		return nil, err
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return nil, fmt.Errorf("old float text %q: %w", b, err)
	}
	return finite(f)
}

// atom reads an atom, tag included, where the format requires one (the
// node of a pid, the module of a fun).
func (s *state) atom() (Atom, error) {
	tag, err := s.u8()
	if err != nil {
		return "", err
	}
	switch tag {
	case tagAtomUTF8, tagSmallAtomUTF8, tagAtom, tagSmallAtom, tagAtomCacheRef:
	default:
		return "", fmt.Errorf("expected an atom, got tag %d", tag)
	}
	t, err := s.atomAfterTag(tag)
	if err != nil {
		return "", err
	}
	return t.(Atom), nil
}

// atomAfterTag reads the rest of an atom. The result is an interned,
// already boxed Atom: decoding a known atom allocates nothing.
func (s *state) atomAfterTag(tag byte) (Term, error) {
	var n int
	switch tag {
	case tagAtomCacheRef:
		i, err := s.u8()
		if err != nil {
			return nil, err
		}
		if int(i) >= len(s.cache) {
			return nil, fmt.Errorf("atom cache reference %d, but the header has %d atoms", i, len(s.cache))
		}
		a := s.cache[i]
		if t := lookupAtom(string(a)); t != nil {
			return t, nil
		}
		if !validAtom(string(a)) { // the header is the caller's: keep its text, intern only valid atoms
			return a, nil
		}
		return internAtom(string(a)), nil
	case tagSmallAtomUTF8, tagSmallAtom:
		v, err := s.u8()
		if err != nil {
			return nil, err
		}
		n = int(v)
	default: // tagAtomUTF8, tagAtom
		v, err := s.u16()
		if err != nil {
			return nil, err
		}
		n = v
	}
	b, err := s.bytes(n)
	if err != nil {
		return nil, err
	}
	if tag == tagAtom || tag == tagSmallAtom {
		if n > maxAtomChars {
			return nil, fmt.Errorf("atom of %d characters, more than %d", n, maxAtomChars)
		}
		return latin1Atom(b), nil
	}
	if t := lookupAtom(b); t != nil {
		return t, nil // interned atoms are valid
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("atom %q is not valid UTF-8", b)
	}
	if n > maxAtomChars {
		if c := utf8.RuneCount(b); c > maxAtomChars {
			return nil, fmt.Errorf("atom of %d characters, more than %d", c, maxAtomChars)
		}
	}
	return internAtom(b), nil
}

// validAtom reports whether text can be an atom: UTF-8 of at most 255
// characters.
func validAtom(text string) bool {
	return utf8.ValidString(text) && (len(text) <= maxAtomChars || utf8.RuneCountInString(text) <= maxAtomChars)
}

// latin1Atom converts the text of a Latin-1 atom (ATOM_EXT, SMALL_ATOM_EXT)
// to UTF-8.
func latin1Atom(b []byte) Term {
	for i, c := range b {
		if c >= utf8.RuneSelf {
			u := make([]byte, i, len(b)*2)
			copy(u, b)
			for _, c := range b[i:] {
				u = utf8.AppendRune(u, rune(c))
			}
			return internAtom(u)
		}
	}
	return internAtom(b)
}

// big decodes the sign byte and n little-endian digits of a bignum. Values
// that fit in int64 come back as int64, whatever the encoding.
func (s *state) big(n int) (Term, error) {
	sign, err := s.u8()
	if err != nil {
		return nil, err
	}
	if sign > 1 {
		return nil, fmt.Errorf("bad sign byte %d", sign)
	}
	digits, err := s.bytes(n)
	if err != nil {
		return nil, err
	}
	significant := len(bytes.TrimRight(digits, "\x00"))
	if significant <= 8 {
		var v uint64
		for i := significant - 1; i >= 0; i-- {
			v = v<<8 | uint64(digits[i])
		}
		switch {
		case sign == 0 && v <= math.MaxInt64:
			return s.boxInt(int64(v)), nil
		case sign == 1 && v <= 1<<63:
			return s.boxInt(-int64(v)), nil // -int64(1<<63) wraps to MinInt64, as wanted
		}
	}
	be := make([]byte, significant)
	for i := range significant {
		be[significant-1-i] = digits[i]
	}
	z := new(big.Int).SetBytes(be)
	if sign == 1 {
		z.Neg(z)
	}
	return z, nil
}

// bitBinary decodes BIT_BINARY_EXT. A bitstring whose last byte is whole is
// a binary and decodes to []byte; otherwise the unused low bits of the last
// byte are cleared, as they carry no meaning.
func (s *state) bitBinary() (Term, error) {
	n, err := s.count(1)
	if err != nil {
		return nil, err
	}
	bits, err := s.u8()
	if err != nil {
		return nil, err
	}
	b, err := s.bytes(n)
	if err != nil {
		return nil, err
	}
	switch {
	case n == 0 && bits == 0:
		return []byte{}, nil
	case n == 0 || bits == 0 || bits > 8:
		return nil, fmt.Errorf("%d bytes with %d bits used in the last one", n, bits)
	case bits == 8:
		return bytes.Clone(b), nil
	}
	out := bytes.Clone(b)
	out[n-1] &= byte(0xff << (8 - bits))
	return BitBinary{Bytes: out, Bits: bits}, nil
}
