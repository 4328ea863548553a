package etf

import (
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEqual(t *testing.T) {
	big64 := new(big.Int).Lsh(big.NewInt(1), 64)
	tests := []struct {
		name string
		a, b Term
		want bool
	}{
		{"int and int64", 5, int64(5), true},
		{"uint8 and int64", uint8(5), int64(5), true},
		{"int64 and small *big.Int", int64(-7), big.NewInt(-7), true},
		{"big and big", big64, new(big.Int).Lsh(big.NewInt(1), 64), true},
		{"big.Int value", *big.NewInt(3), int64(3), true},
		{"different ints", int64(1), int64(2), false},
		{"int and float", int64(1), 1.0, false},
		{"floats", 1.5, 1.5, true},
		{"float32 and float64", float32(0.5), 0.5, true},
		{"zero and negative zero", 0.0, math.Copysign(0, -1), false},
		{"atoms", Atom("a"), Atom("a"), true},
		{"bool and atom", true, True, true},
		{"atom and binary", Atom("a"), []byte("a"), false},
		{"binaries", []byte("x"), []byte("x"), true},
		{"go string and binary", "x", []byte("x"), true},
		{"empty binary and nil slice", []byte{}, []byte(nil), true},
		{"binary and whole-byte bitstring", []byte{1}, BitBinary{Bytes: []byte{1}, Bits: 8}, true},
		{"binary and bitstring", []byte{1}, BitBinary{Bytes: []byte{1}, Bits: 7}, false},
		{"bitstrings", BitBinary{Bytes: []byte{0x80}, Bits: 1}, BitBinary{Bytes: []byte{0x80}, Bits: 1}, true},
		{"String and List", String("ab"), List{int64('a'), int64('b')}, true},
		{"String and binary", String("ab"), []byte("ab"), false},
		{"empty String and nil List", String(""), List(nil), true},
		{"nil List and empty List", List(nil), List{}, true},
		{"List and []any", List{int64(1)}, []any{1}, true},
		{"List and longer List", List{int64(1)}, List{int64(1), int64(2)}, false},
		{"improper lists", ImproperList{Elems: []Term{int64(1)}, Tail: Atom("t")}, ImproperList{Elems: []Term{1}, Tail: Atom("t")}, true},
		{"improper with a list tail", ImproperList{Elems: []Term{int64(1)}, Tail: String("b")}, List{int64(1), int64('b')}, true},
		{"improper and proper", ImproperList{Elems: []Term{int64(1)}, Tail: Atom("t")}, List{int64(1), Atom("t")}, false},
		{"empty improper is its tail", ImproperList{Tail: Atom("t")}, Atom("t"), true},
		{"tuples", Tuple{Atom("ok"), 1}, Tuple{Atom("ok"), int64(1)}, true},
		{"tuple and list", Tuple{}, List{}, false},
		{"maps in any order", Map{{Key: Atom("a"), Value: 1}, {Key: Atom("b"), Value: 2}},
			Map{{Key: Atom("b"), Value: int64(2)}, {Key: Atom("a"), Value: int64(1)}}, true},
		{"maps with other values", Map{{Key: Atom("a"), Value: 1}}, Map{{Key: Atom("a"), Value: 2}}, false},
		{"maps with other keys", Map{{Key: Atom("a"), Value: 1}}, Map{{Key: Atom("b"), Value: 1}}, false},
		{"pids", Pid{Node: "a", ID: 1}, Pid{Node: "a", ID: 1}, true},
		{"pids of other creations", Pid{Node: "a", ID: 1}, Pid{Node: "a", ID: 1, Creation: 2}, false},
		{"refs", Ref{Node: "a", Len: 1}, Ref{Node: "a", Len: 1}, true},
		{"funs", Fun{Module: "m", FreeVars: []Term{1}}, Fun{Module: "m", FreeVars: []Term{int64(1)}}, true},
		{"funs with other free variables", Fun{Module: "m", FreeVars: []Term{1}}, Fun{Module: "m", FreeVars: []Term{2}}, false},
		{"nil", nil, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Equal(tc.a, tc.b))
			require.Equal(t, tc.want, Equal(tc.b, tc.a), "symmetric")
		})
	}
}
