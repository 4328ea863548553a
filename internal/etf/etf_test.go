package etf

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	huge, _ := new(big.Int).SetString("-123456789012345678901234567890123456789", 10)
	tests := []struct {
		name string
		in   Term
		want Term // what decoding gives back; nil means in itself
	}{
		{"small int", 7, int64(7)},
		{"negative int", int64(-300), nil},
		{"int32 edge", int64(math.MinInt32), nil},
		{"small big", int64(math.MaxInt64), nil},
		{"min int64", int64(math.MinInt64), nil},
		{"uint64 max", uint64(math.MaxUint64), new(big.Int).SetUint64(math.MaxUint64)},
		{"big", huge, nil},
		{"float", 2.5, nil},
		{"negative zero", math.Copysign(0, -1), nil},
		{"atom", Atom("hello"), nil},
		{"unicode atom", Atom("日本"), nil},
		{"bool", true, True},
		{"go string is a binary", "text", []byte("text")},
		{"binary", []byte{1, 2, 3}, nil},
		{"empty binary", []byte{}, nil},
		{"bitstring", BitBinary{Bytes: []byte{0xff, 0xe0}, Bits: 3}, nil},
		{"charlist", String("abc"), nil},
		{"empty list", List(nil), nil},
		{"go slice", []Term{Atom("a"), 1}, List{Atom("a"), int64(1)}},
		{"improper", ImproperList{Elems: []Term{int64(1)}, Tail: Atom("t")}, nil},
		{"tuple", Tuple{Atom("ok"), List{int64(1)}}, nil},
		{"map with odd keys", Map{{Key: List{Atom("a")}, Value: int64(1)}, {Key: Map{}, Value: Tuple{}}}, nil},
		{"pid", Pid{Node: "a@b", ID: 5, Serial: 1, Creation: 0xdeadbeef}, nil},
		{"v4 port", Port{Node: "a@b", ID: 1 << 40, Creation: 9}, nil},
		{"ref", Ref{Node: "a@b", Creation: 3, Len: 3, ID: [MaxRefWords]uint32{1, 2, 3}}, nil},
		{"export", Export{Module: "m", Function: "f", Arity: 2}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Encode(tc.in)
			require.NoError(t, err)
			got, err := Decode(b)
			require.NoError(t, err)
			want := tc.want
			if want == nil {
				want = tc.in
			}
			require.True(t, Equal(want, got), "got %#v, want %#v", got, want)
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	self := make([]Term, 1)
	self[0] = self
	tests := []struct {
		name string
		in   Term
		want string
	}{
		{"nil", nil, "cannot encode nil"},
		{"go type", struct{}{}, "unsupported Go type struct {}"},
		{"NaN", math.NaN(), "Erlang has no float NaN"},
		{"long atom", Atom(bytes.Repeat([]byte("a"), 256)), "atom of more than 255 characters"},
		{"bad utf-8 atom", Atom("\xff"), "not valid UTF-8"},
		{"self-containing slice", self, "nested deeper than"},
		{"bad ref", Ref{Len: 9}, "reference with 9 words"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Encode(tc.in)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	u32 := func(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }
	var bomb []byte
	for range 20000 {
		bomb = append(bomb, tagList, 0, 0, 0, 1)
	}
	var zbuf bytes.Buffer
	zw := zlib.NewWriter(&zbuf)
	_, _ = zw.Write(append([]byte{tagBinary}, append(u32(1000), make([]byte, 1000)...)...))
	_ = zw.Close()
	tests := []struct {
		name  string
		in    []byte
		want  string
		isErr error
	}{
		{"empty", nil, "input ends inside a term", ErrTruncated},
		{"no version", []byte{tagNil}, "expected version byte 131", nil},
		{"unknown tag", []byte{131, 1}, "unknown tag 1", nil},
		{"huge list", append([]byte{131, tagList}, u32(math.MaxUint32)...), "length 4294967295 exceeds the 0 bytes left", nil},
		{"huge binary", append([]byte{131, tagBinary}, u32(1<<31)...), "exceeds", nil},
		{"huge map", append(append([]byte{131, tagMap}, u32(1<<30)...), 1, 2, 3), "length 1073741824 exceeds the 3 bytes left", nil},
		{"huge tuple", append([]byte{131, tagLargeTuple}, u32(1<<30)...), "exceeds", nil},
		{"huge bignum", append([]byte{131, tagLargeBig}, u32(1<<30)...), "exceeds", nil},
		{"depth bomb", append([]byte{131}, bomb...), "nested deeper than 10000", nil},
		{"bad utf-8 atom", []byte{131, tagSmallAtomUTF8, 1, 0xff}, "not valid UTF-8", nil},
		{"cache ref without header", []byte{131, tagAtomCacheRef, 0}, "atom cache reference 0, but the header has 0", nil},
		{"bad bit count", []byte{131, tagBitBinary, 0, 0, 0, 1, 9, 0}, "9 bits in the last byte", nil},
		{"ref with 6 words", []byte{131, tagNewerReference, 0, 6}, "reference with 6 words", nil},
		{"compressed size lie", append(append([]byte{131, tagCompressed}, u32(10)...), zbuf.Bytes()...), "inflates to 11 bytes, header says 10", nil},
		{"compressed too large", append(append([]byte{131, tagCompressed}, u32(1<<31)...), zbuf.Bytes()...), "more than the limit", nil},
		{"trailing bytes", []byte{131, tagNil, 0}, "1 trailing bytes", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.in)
			require.ErrorContains(t, err, tc.want)
			var de *DecodeError
			require.True(t, errors.As(err, &de), "error %v is a *DecodeError", err)
			if tc.isErr != nil {
				require.ErrorIs(t, err, tc.isErr)
			}
		})
	}
}

// TestTruncatedPrefixes cuts a rich term at every length: every prefix must
// fail with an error, never panic.
func TestTruncatedPrefixes(t *testing.T) {
	b, err := Encode(randomTerm(rand.New(rand.NewPCG(1, 2)), 6))
	require.NoError(t, err)
	for n := range len(b) {
		_, err := Decode(b[:n])
		require.Error(t, err, "prefix of %d bytes", n)
	}
}

// TestRandomRoundTrip encodes random terms, decodes them and compares.
func TestRandomRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 7))
	for i := range 2000 {
		in := randomTerm(r, 4)
		b, err := Encode(in)
		require.NoError(t, err)
		out, err := Decode(b)
		require.NoError(t, err, "term %d", i)
		require.True(t, Equal(in, out), "term %d: %#v != %#v", i, in, out)
		again, err := Encode(out)
		require.NoError(t, err)
		require.Equal(t, b, again, "term %d re-encodes to other bytes", i)
	}
}

func randomTerm(r *rand.Rand, depth int) Term {
	kinds := 12
	if depth <= 0 {
		kinds = 7
	}
	switch r.IntN(kinds) {
	case 0:
		return int64(r.IntN(600) - 300)
	case 1:
		return r.Int64() - r.Int64()
	case 2:
		return new(big.Int).Lsh(big.NewInt(r.Int64N(1000)+1), uint(64+r.IntN(300)))
	case 3:
		return r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
	case 4:
		return Atom([]string{"ok", "error", "héllo", "日本", "", "undefined"}[r.IntN(6)])
	case 5:
		b := make([]byte, r.IntN(20))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return b
	case 6:
		return Pid{Node: "n@h", ID: r.Uint32() & 0x7fff, Serial: r.Uint32() & 0x1fff, Creation: r.Uint32()}
	case 7:
		l := make(List, r.IntN(5))
		for i := range l {
			l[i] = randomTerm(r, depth-1)
		}
		if len(l) == 0 {
			return List(nil)
		}
		return l
	case 8:
		tup := make(Tuple, r.IntN(5))
		for i := range tup {
			tup[i] = randomTerm(r, depth-1)
		}
		return tup
	case 9:
		m := Map{}
		for i := range r.IntN(4) {
			m = append(m, MapPair{Key: Tuple{int64(i), randomTerm(r, depth-1)}, Value: randomTerm(r, depth-1)})
		}
		return m
	case 10:
		return ImproperList{Elems: []Term{randomTerm(r, depth-1)}, Tail: Atom("tail")}
	default:
		return String("str")
	}
}

func TestHelpers(t *testing.T) {
	mem := List{Tuple{Atom("total"), int64(100)}, Tuple{Atom("ets"), int64(5)}, Atom("flag")}
	v, ok := PropGet(mem, Atom("ets"))
	require.True(t, ok)
	require.Equal(t, int64(5), v)
	v, ok = PropGet(mem, Atom("flag"))
	require.True(t, ok)
	require.Equal(t, True, v)
	_, ok = PropGet(mem, Atom("missing"))
	require.False(t, ok)

	s, err := ToString(String("h\xe9"))
	require.NoError(t, err)
	require.Equal(t, "hé", s)
	s, err = ToString(List{int64(0x65E5)})
	require.NoError(t, err)
	require.Equal(t, "日", s)
	_, err = ToInt64(Atom("x"))
	require.EqualError(t, err, "expected an integer, got atom")
	_, err = ToTuple(Tuple{int64(1)}, 2)
	require.EqualError(t, err, "expected a tuple of 2, got tuple of 1")
	n, err := ToFloat64(int64(3))
	require.NoError(t, err)
	require.InDelta(t, 3.0, n, 0)
	b, err := ToBool(Atom("false"))
	require.NoError(t, err)
	require.False(t, b)

	require.True(t, Equal(String("ab"), List{int64(97), int64(98)}))
	require.True(t, Equal(Map{{Key: Atom("a"), Value: int64(1)}, {Key: Atom("b"), Value: int64(2)}},
		Map{{Key: Atom("b"), Value: int64(2)}, {Key: Atom("a"), Value: int64(1)}}))
	require.False(t, Equal(int64(1), 1.0), "1 =/= 1.0")
	require.False(t, Equal(0.0, math.Copysign(0, -1)), "0.0 =/= -0.0")
}

// FuzzDecode feeds arbitrary bytes to the decoder: it must never panic, and
// whatever it decodes must re-encode and decode to an equal term.
func FuzzDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		b, err := Encode(randomTerm(r, 4))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{131, tagCompressed, 0, 0, 0, 1, 0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	f.Add([]byte{131, tagNewFun, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		term, err := Decode(b)
		if err != nil {
			return
		}
		enc, err := Encode(term)
		if err != nil {
			t.Fatalf("decoded %#v but cannot encode it: %v", term, err)
		}
		again, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !Equal(term, again) {
			t.Fatalf("round trip changed %#v into %#v", term, again)
		}
	})
}

// TestSizes round-trips lists, tuples and maps of every size around the
// decoder's allocation boundaries.
func TestSizes(t *testing.T) {
	for n := range 300 {
		l := make(List, n)
		tup := make(Tuple, n)
		m := make(Map, n)
		for i := range n {
			l[i] = Tuple{int64(i), List{int64(i)}}
			tup[i] = int64(i * 1000)
			m[i] = MapPair{Key: int64(i), Value: Tuple{Atom("v")}}
		}
		for _, in := range []Term{l, tup, m, List{l, tup}} {
			b, err := Encode(in)
			require.NoError(t, err)
			out, err := Decode(b)
			require.NoError(t, err, "size %d", n)
			require.True(t, Equal(in, out), "size %d", n)
		}
	}
}
