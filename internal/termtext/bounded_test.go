package termtext

import (
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/etf"
)

func ints(n int) etf.List {
	l := make(etf.List, n)
	for i := range l {
		l[i] = int64(i)
	}
	return l
}

// bigOfBytes is a positive integer of n bytes, as a node sends a bignum.
func bigOfBytes(n int) *big.Int {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 1)
	}
	b[0] = 0xff
	return new(big.Int).SetBytes(b)
}

// TestFormatBounded checks where a term is cut and the marker that says
// what was left out.
func TestFormatBounded(t *testing.T) {
	p200 := new(big.Int).Lsh(big.NewInt(1), 200)
	tests := []struct {
		name string
		max  int
		term etf.Term
		want string
	}{
		{"list", 10, ints(20), "[0,1,2,3,...(16 more)]"},
		{"nested", 10, etf.Tuple{etf.Atom("a"), ints(20), etf.Atom("b")}, "{a,[0,...(19 more)],...(1 more)}"},
		{"ascii binary", 10, []byte("hello world, this is long"), `<<"hell"...(21 more bytes)>>`},
		{"utf8 binary", 10, []byte("héllo wörld, this is long"), `<<"hél"/utf8...(23 more bytes)>>`},
		{"bytes", 10, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, "<<0,1,2,...(10 more bytes)>>"},
		{"bits", 10, etf.BitBinary{Bytes: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 0xf0}, Bits: 4}, "<<1,2,3,...(6 more bytes)>>"},
		{"string", 10, etf.String("hello world, this is long"), `"hello wo"...(17 more)`},
		{"code points", 8, etf.List{int64(0x65E5), int64(0x672C)}, "[26085,...(1 more)]"},
		{"bytes as a string", 10, etf.String("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e"), "[0,1,2,3,...(11 more)]"},
		{"map", 10, etf.Map{{Key: etf.Atom("k"), Value: int64(1)}, {Key: etf.Atom("k2"), Value: int64(2)}, {Key: etf.Atom("k3"), Value: int64(3)}}, "#{k => 1,...(2 more)}"},
		{"improper", 10, etf.ImproperList{Elems: []etf.Term{int64(1), int64(2), int64(3), int64(4), int64(5), int64(6)}, Tail: etf.Atom("t")}, "[1,2,3,...(3 more)]"},
		{"bignum too long", 10, p200, "...(integer of 201 bits)"},
		{"negative bignum too long", 10, new(big.Int).Neg(p200), "...(negative integer of 201 bits)"},
		{"bignum that fits", 100, new(big.Int).Neg(p200), "-" + p200.String()},
		{"fits", 100, etf.Tuple{etf.Atom("ok"), []byte("abc"), ints(3)}, `{ok,<<"abc">>,[0,1,2]}`},
		{"unbounded", -1, ints(20), "[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, FormatWith(tt.term, Options{MaxBytes: tt.max}))
		})
	}
}

// TestFormatHuge formats terms of several MiB, such as a node may hold:
// the text stays near the default bound and says what was cut. (Before
// the bound, the bignum took 8 s and 10 MB of digits.)
func TestFormatHuge(t *testing.T) {
	const mib = 1 << 20
	huge := bigOfBytes(4 * mib)
	tests := []struct {
		name   string
		term   etf.Term
		marker string
	}{
		{"bignum", huge, "...(integer of 33554432 bits)"},
		{"bignum in a dictionary", etf.List{etf.Tuple{etf.Atom("k"), huge}}, "[{k,...(integer of 33554432 bits)}]"},
		{"binary", []byte(strings.Repeat("a", 4*mib)), " more bytes)>>"},
		{"bytes", make([]byte, 4*mib), " more bytes)>>"},
		{"list", ints(mib), " more)]"},
		{"deep", deepList(200_000), "[[...,...],0],0]"},
		{"deep and long", etf.Tuple{deepList(200_000), ints(mib)}, " more)]}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flat, pretty := Format(tt.term), FormatPretty(tt.term)
			require.LessOrEqual(t, len(flat), DefaultMaxBytes+8192)
			require.LessOrEqual(t, len(pretty), 4*DefaultMaxBytes+8192)
			require.True(t, strings.Contains(flat, tt.marker), "the text ends with %q, without %q", flat[max(0, len(flat)-100):], tt.marker)
			require.True(t, strings.Contains(pretty, "..."), "pretty text ends with %q", pretty[max(0, len(pretty)-100):])
		})
	}
}

// deepList is [[...[[],0]...,0],0]: each level breaks a pretty line.
func deepList(depth int) etf.Term {
	var l etf.Term = etf.List{}
	for range depth {
		l = etf.List{l, int64(0)}
	}
	return l
}

// FuzzFormatBounded checks the bound on any parsed term: the text is the
// unbounded text when that is well within the bound, and never much longer
// than the bound.
func FuzzFormatBounded(f *testing.F) {
	for _, s := range erlangTexts {
		f.Add(s, uint16(20))
	}
	f.Fuzz(func(t *testing.T, s string, max uint16) {
		term, err := Parse(s)
		if err != nil {
			return
		}
		limit := int(max) + 1
		full := FormatWith(term, Options{MaxBytes: -1})
		cut := FormatWith(term, Options{MaxBytes: limit})
		if 2*len(full) <= limit && len(full) <= 2*maxFormatDepth {
			require.Equal(t, full, cut)
		}
		// Beyond the bound: the last token, written whole (at most
		// maxTokenBytes: an export of two long escaped atoms), and a
		// marker and brackets for each sequence that was cut.
		require.LessOrEqual(t, len(cut), limit+maxTokenBytes+32*strings.Count(cut, "...("), "%q", cut)
		require.LessOrEqual(t, len(FormatPrettyWith(term, Options{MaxBytes: limit})), 4*limit+maxTokenBytes+32*strings.Count(cut, "...("))
	})
}

// BenchmarkFormat compares the bounded formatter with the unbounded one
// (what every caller used before the bound) on terms of several MiB.
func BenchmarkFormat(b *testing.B) {
	const mib = 1 << 20
	terms := []struct {
		name string
		term etf.Term
	}{
		{"bignum4MiB", bigOfBytes(4 * mib)},
		{"binary4MiB", make([]byte, 4*mib)},
		{"list1M", ints(mib)},
	}
	for _, tt := range terms {
		for _, bound := range []struct {
			name string
			max  int
		}{{"unbounded", -1}, {"bounded", 0}} {
			b.Run(tt.name+"/"+bound.name, func(b *testing.B) {
				for b.Loop() {
					if FormatWith(tt.term, Options{MaxBytes: bound.max}) == "" {
						b.Fatal("no text")
					}
				}
			})
		}
	}
}
