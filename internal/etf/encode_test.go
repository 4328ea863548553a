package etf

import (
	"bytes"
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEncodeBytes checks the exact encoding of values at every size
// boundary; the golden test checks the same choices against a real
// term_to_binary.
func TestEncodeBytes(t *testing.T) {
	two64, _ := new(big.Int).SetString("18446744073709551616", 10)
	node := []byte{tagSmallAtomUTF8, 3, 'a', '@', 'b'}
	tests := []struct {
		name string
		in   Term
		want []byte
	}{
		{"0", 0, []byte{tagSmallInteger, 0}},
		{"255", uint8(255), []byte{tagSmallInteger, 255}},
		{"256", int16(256), []byte{tagInteger, 0, 0, 1, 0}},
		{"-1", int8(-1), []byte{tagInteger, 0xff, 0xff, 0xff, 0xff}},
		{"min int32", int32(math.MinInt32), []byte{tagInteger, 0x80, 0, 0, 0}},
		{"2^31", uint32(1 << 31), []byte{tagSmallBig, 4, 0, 0, 0, 0, 0x80}},
		{"min int64", int64(math.MinInt64), []byte{tagSmallBig, 8, 1, 0, 0, 0, 0, 0, 0, 0, 0x80}},
		{"max uint64", uint64(math.MaxUint64), []byte{tagSmallBig, 8, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"2^64", two64, []byte{tagSmallBig, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
		{"big.Int that fits", big.NewInt(-2), []byte{tagInteger, 0xff, 0xff, 0xff, 0xfe}},
		{"2^2040", new(big.Int).Lsh(big.NewInt(1), 2040), cat([]byte{tagLargeBig}, u32(256), []byte{0}, make([]byte, 255), []byte{1})},
		{"float", 1.5, []byte{tagNewFloat, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}},
		{"true", true, []byte{tagSmallAtomUTF8, 4, 't', 'r', 'u', 'e'}},
		{"atom of 255 bytes", Atom(bytes.Repeat([]byte{'a'}, 255)), cat([]byte{tagSmallAtomUTF8, 255}, bytes.Repeat([]byte{'a'}, 255))},
		{"atom of 256 bytes", Atom(bytes.Repeat([]byte("é"), 128)), cat([]byte{tagAtomUTF8, 1, 0}, bytes.Repeat([]byte("é"), 128))},
		{"go string", "hi", []byte{tagBinary, 0, 0, 0, 2, 'h', 'i'}},
		{"bitstring", BitBinary{Bytes: []byte{0xff}, Bits: 3}, []byte{tagBitBinary, 0, 0, 0, 1, 3, 0xe0}},
		{"empty String", String(""), []byte{tagNil}},
		{"String", String("ab"), []byte{tagString, 0, 2, 'a', 'b'}},
		{"String of 65536", String(make([]byte, 65536)), cat([]byte{tagList}, u32(65536), bytes.Repeat([]byte{tagSmallInteger, 0}, 65536), []byte{tagNil})},
		{"empty List", List{}, []byte{tagNil}},
		{"empty []any", []any{}, []byte{tagNil}},
		{"improper", ImproperList{Elems: []Term{1}, Tail: 2}, cat([]byte{tagList}, u32(1), []byte{tagSmallInteger, 1, tagSmallInteger, 2})},
		{"empty tuple", Tuple{}, []byte{tagSmallTuple, 0}},
		{"tuple of 256", seqTuple(256), nil}, // checked below: LARGE_TUPLE_EXT
		{"map", Map{{Key: Atom("b"), Value: 1}, {Key: Atom("a"), Value: 2}},
			cat([]byte{tagMap}, u32(2), []byte{tagSmallAtomUTF8, 1, 'b', tagSmallInteger, 1, tagSmallAtomUTF8, 1, 'a', tagSmallInteger, 2})},
		{"pid", Pid{Node: "a@b", ID: 1, Serial: 2, Creation: 3}, cat([]byte{tagNewPid}, node, u32(1), u32(2), u32(3))},
		{"port", Port{Node: "a@b", ID: 1<<32 - 1, Creation: 3}, cat([]byte{tagNewPort}, node, u32(1<<32-1), u32(3))},
		{"v4 port", Port{Node: "a@b", ID: 1 << 32, Creation: 3}, cat([]byte{tagV4Port}, node, u32(1), u32(0), u32(3))},
		{"ref", Ref{Node: "a@b", Creation: 3, Len: 2, ID: [MaxRefWords]uint32{7, 8}}, cat([]byte{tagNewerReference, 0, 2}, node, u32(3), u32(7), u32(8))},
		{"export", Export{Module: "m", Function: "f", Arity: 2}, []byte{tagExport, tagSmallAtomUTF8, 1, 'm', tagSmallAtomUTF8, 1, 'f', tagSmallInteger, 2}},
		{"fun", Fun{Arity: 1, Index: 2, Module: "m", OldIndex: 3, OldUniq: 300, Pid: Pid{Node: "a@b"}, FreeVars: []Term{Atom("x")}},
			cat([]byte{tagNewFun}, u32(60), []byte{1}, make([]byte, 16), u32(2), u32(1), []byte{tagSmallAtomUTF8, 1, 'm'},
				[]byte{tagSmallInteger, 3, tagInteger, 0, 0, 1, 44, tagNewPid}, node, u32(0), u32(0), u32(0), []byte{tagSmallAtomUTF8, 1, 'x'})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AppendTerm(nil, tc.in)
			require.NoError(t, err)
			if tc.want == nil {
				require.Equal(t, []byte{tagLargeTuple, 0, 0, 1, 0}, got[:5])
				return
			}
			require.Equal(t, tc.want, got)
			withVersion, err := Append([]byte{0xaa}, tc.in)
			require.NoError(t, err)
			require.Equal(t, cat([]byte{0xaa, tagVersion}, tc.want), withVersion)
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
		{"nil", nil, "etf: encode: cannot encode nil (use List(nil) for [] or the atom undefined)"},
		{"nil in a tuple", Tuple{Atom("ok"), nil}, "etf: encode: cannot encode nil (use List(nil) for [] or the atom undefined)"},
		{"nil *big.Int", (*big.Int)(nil), "etf: encode: nil *big.Int"},
		{"go type", struct{}{}, "etf: encode: unsupported Go type struct {}"},
		{"go map", map[string]int{}, "etf: encode: unsupported Go type map[string]int"},
		{"NaN", math.NaN(), "etf: encode: Erlang has no float NaN"},
		{"infinity", float32(math.Inf(-1)), "etf: encode: Erlang has no float -Inf"},
		{"long atom", Atom(bytes.Repeat([]byte("日"), 256)), "etf: encode: atom of more than 255 characters"},
		{"bad utf-8 atom", Atom("\xff"), `etf: encode: atom "\xff" is not valid UTF-8`},
		{"bad pid node", Pid{Node: "\xff"}, `etf: encode: atom "\xff" is not valid UTF-8`},
		{"self-containing slice", self, "etf: encode: terms nested deeper than 10000"},
		{"bad ref", Ref{Len: 9}, "etf: encode: reference with 9 words"},
		{"bad bitstring", BitBinary{Bytes: []byte{1}, Bits: 9}, "etf: encode: bit binary of 1 bytes with 9 bits in the last byte"},
		{"empty bitstring", BitBinary{Bits: 3}, "etf: encode: bit binary of 0 bytes with 3 bits in the last byte"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Encode(tc.in)
			require.EqualError(t, err, tc.want)
			require.Nil(t, got)
		})
	}
}
