package etf

import (
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
		{"big.Int value", *big.NewInt(5), int64(5)},
		{"float", 2.5, nil},
		{"float32", float32(0.5), 0.5},
		{"negative zero", math.Copysign(0, -1), nil},
		{"atom", Atom("hello"), nil},
		{"unicode atom", Atom("日本"), nil},
		{"long unicode atom", Atom(string(make([]rune, 255))), nil},
		{"bool", true, True},
		{"go string is a binary", "text", []byte("text")},
		{"binary", []byte{1, 2, 3}, nil},
		{"empty binary", []byte{}, nil},
		{"bitstring", BitBinary{Bytes: []byte{0xff, 0xe0}, Bits: 3}, nil},
		{"whole-byte bitstring", BitBinary{Bytes: []byte{0xff}, Bits: 8}, []byte{0xff}},
		{"charlist", String("abc"), nil},
		{"long charlist", String(make([]byte, 70000)), nil},
		{"empty charlist", String(""), List(nil)},
		{"empty list", List(nil), nil},
		{"go slice", []Term{Atom("a"), 1}, List{Atom("a"), int64(1)}},
		{"improper", ImproperList{Elems: []Term{int64(1)}, Tail: Atom("t")}, nil},
		{"tuple", Tuple{Atom("ok"), List{int64(1)}}, nil},
		{"large tuple", seqTuple(256), nil},
		{"map with odd keys", Map{{Key: List{Atom("a")}, Value: int64(1)}, {Key: Map{}, Value: Tuple{}}}, nil},
		{"pid", Pid{Node: "a@b", ID: 5, Serial: 1, Creation: 0xdeadbeef}, nil},
		{"port", Port{Node: "a@b", ID: 1<<32 - 1, Creation: 9}, nil},
		{"v4 port", Port{Node: "a@b", ID: 1 << 40, Creation: 9}, nil},
		{"ref", Ref{Node: "a@b", Creation: 3, Len: 3, ID: [MaxRefWords]uint32{1, 2, 3}}, nil},
		{"export", Export{Module: "m", Function: "f", Arity: 2}, nil},
		{"fun", Fun{Arity: 1, Uniq: [16]byte{1}, Index: 2, Module: "m", OldIndex: 3, OldUniq: -4,
			Pid: Pid{Node: "a@b"}, FreeVars: []Term{int64(42), Atom("x")}}, nil},
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

// seqTuple returns {0, 1, ..., n-1}.
func seqTuple(n int) Tuple {
	t := make(Tuple, n)
	for i := range t {
		t[i] = int64(i)
	}
	return t
}

// TestRandomRoundTrip encodes random terms, decodes them, compares, and
// checks that the decoded term encodes to the same bytes.
func TestRandomRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 7))
	for i := range 3000 {
		in := randomTerm(r, 4)
		b, err := Encode(in)
		require.NoError(t, err)
		out, err := Decode(b)
		require.NoError(t, err, "term %d", i)
		require.True(t, Equal(in, out), "term %d: %#v != %#v", i, in, out)
		require.True(t, Equal(out, in), "term %d: Equal is not symmetric", i)
		again, err := Encode(out)
		require.NoError(t, err)
		require.Equal(t, b, again, "term %d re-encodes to other bytes", i)
	}
}

// randomTerm generates a term of every kind the decoder returns, nested up
// to depth levels, in the canonical forms the encoder writes.
func randomTerm(r *rand.Rand, depth int) Term {
	kinds := 20
	if depth <= 0 {
		kinds = 13
	}
	switch r.IntN(kinds) {
	case 0:
		return int64(r.IntN(600) - 300)
	case 1:
		return r.Int64() >> r.IntN(64) * int64(1-2*r.IntN(2))
	case 2:
		z := new(big.Int).Lsh(big.NewInt(r.Int64N(1000)+1), uint(63+r.IntN(2200)))
		if r.IntN(2) == 0 {
			z.Neg(z)
		}
		return z
	case 3:
		return []float64{0, math.Copysign(0, -1), 5e-324, math.MaxFloat64, r.NormFloat64() * 1e10}[r.IntN(5)]
	case 4:
		return Atom([]string{"ok", "error", "héllo", "日本", "", "undefined", string(make([]rune, 255))}[r.IntN(7)])
	case 5:
		b := make([]byte, r.IntN(20))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return b
	case 6:
		return Pid{Node: "n@h", ID: r.Uint32(), Serial: r.Uint32(), Creation: r.Uint32()}
	case 7:
		return Port{Node: "n@h", ID: r.Uint64() >> r.IntN(64), Creation: r.Uint32()}
	case 8:
		ref := Ref{Node: "n@h", Creation: r.Uint32(), Len: uint8(1 + r.IntN(MaxRefWords))}
		for i := range ref.Len {
			ref.ID[i] = r.Uint32()
		}
		return ref
	case 9:
		return Export{Module: "lists", Function: "map", Arity: uint8(r.IntN(256))}
	case 10:
		bits := uint8(1 + r.IntN(7))
		b := make([]byte, 1+r.IntN(5))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		b[len(b)-1] &= byte(0xff << (8 - bits))
		return BitBinary{Bytes: b, Bits: bits}
	case 11:
		s := make([]byte, 1+r.IntN(10))
		for i := range s {
			s[i] = byte(r.IntN(256))
		}
		return String(s)
	case 12:
		return List(nil)
	case 13, 14:
		l := make(List, 1+r.IntN(5))
		for i := range l {
			l[i] = randomTerm(r, depth-1)
		}
		return l
	case 15, 16:
		tup := make(Tuple, r.IntN(5))
		for i := range tup {
			tup[i] = randomTerm(r, depth-1)
		}
		return tup
	case 17:
		m := Map{}
		for range r.IntN(12) {
			k := randomTerm(r, depth-1)
			if _, dup := m.Get(k); !dup {
				m = append(m, MapPair{Key: k, Value: randomTerm(r, depth-1)})
			}
		}
		return m
	case 18:
		elems := make([]Term, 1+r.IntN(3))
		for i := range elems {
			elems[i] = randomTerm(r, depth-1)
		}
		tail := randomTerm(r, 0)
		if _, isList := tail.(List); isList {
			tail = Atom("tail")
		}
		if _, isString := tail.(String); isString {
			tail = int64(1)
		}
		return ImproperList{Elems: elems, Tail: tail}
	default:
		free := make([]Term, r.IntN(3))
		for i := range free {
			free[i] = randomTerm(r, depth-1)
		}
		var uniq [16]byte
		uniq[r.IntN(16)] = byte(r.IntN(256))
		return Fun{Arity: uint8(r.IntN(256)), Uniq: uniq, Index: r.Uint32(), Module: "erl_eval",
			OldIndex: int64(r.Uint32()), OldUniq: int64(int32(r.Uint32())), Pid: Pid{Node: "n@h", ID: 1}, FreeVars: free}
	}
}

// TestSizes round-trips lists, tuples and maps of every size around the
// decoder's allocation boundaries (slab carving, small-map checks).
func TestSizes(t *testing.T) {
	for n := range 300 {
		l := make(List, n)
		tup := make(Tuple, n)
		m := make(Map, n)
		for i := range n {
			l[i] = Tuple{int64(i), List{int64(i)}}
			tup[i] = int64(i * 1000)
			m[i] = MapPair{Key: Tuple{Atom("k"), int64(i)}, Value: Tuple{Atom("v")}}
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
