package etf

import (
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestConvert(t *testing.T) {
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	mem := List{Tuple{Atom("total"), int64(100)}, Tuple{Atom("ets"), int64(5)}, Atom("flag"), Tuple{Atom("total"), int64(1)}}
	convProplistToMap := func(t Term) (Term, error) { return ProplistToMap(t) }
	convAtom := func(t Term) (Term, error) { return ToAtom(t) }
	convBool := func(t Term) (Term, error) { return ToBool(t) }
	convFloat64 := func(t Term) (Term, error) { return ToFloat64(t) }
	convInt64 := func(t Term) (Term, error) { return ToInt64(t) }
	convList := func(t Term) (Term, error) { return ToList(t) }
	convMap := func(t Term) (Term, error) { return ToMap(t) }
	convString := func(t Term) (Term, error) { return ToString(t) }
	convTupleAny := func(t Term) (Term, error) { return ToTuple(t, -1) }
	convTuple2 := func(t Term) (Term, error) { return ToTuple(t, 2) }
	convUint64 := func(t Term) (Term, error) { return ToUint64(t) }
	tests := []struct {
		name    string
		convert func(Term) (Term, error)
		in      Term
		want    Term
		wantErr string
	}{
		{"ToInt64", convInt64, big.NewInt(-5), int64(-5), ""},
		{"ToInt64 of a bignum", convInt64, two64, nil, "integer 18446744073709551616 does not fit in int64"},
		{"ToInt64 of an atom", convInt64, Atom("undefined"), nil, "expected an integer, got atom"},
		{"ToUint64", convUint64, new(big.Int).SetUint64(math.MaxUint64), uint64(math.MaxUint64), ""},
		{"ToUint64 of a negative", convUint64, int64(-1), nil, "integer -1 does not fit in uint64"},
		{"ToFloat64 of a float", convFloat64, 2.5, 2.5, ""},
		{"ToFloat64 of an integer", convFloat64, int64(3), 3.0, ""},
		{"ToFloat64 of a binary", convFloat64, []byte("1"), nil, "expected a number, got binary"},
		{"ToAtom", convAtom, Atom("ok"), Atom("ok"), ""},
		{"ToAtom of a string", convAtom, String("ok"), nil, "expected an atom, got string"},
		{"ToBool", convBool, Atom("false"), false, ""},
		{"ToBool of another atom", convBool, Atom("yes"), nil, "expected true or false, got atom"},
		{"ToString of a binary", convString, []byte("日本"), "日本", ""},
		{"ToString of bad UTF-8", convString, []byte{0xff}, nil, "binary is not valid UTF-8"},
		{"ToString of a latin-1 String", convString, String("h\xe9"), "hé", ""},
		{"ToString of code points", convString, List{int64(0x65E5)}, "日", ""},
		{"ToString of []", convString, List(nil), "", ""},
		{"ToString of an atom", convString, Atom("nonode@nohost"), "nonode@nohost", ""},
		{"ToString of a list of atoms", convString, List{Atom("a")}, nil, "list element 0 is not a character"},
		{"ToString of a tuple", convString, Tuple{}, nil, "expected text (binary, string or atom), got tuple of 0"},
		{"ToList of a String", convList, String("a"), []Term{int64('a')}, ""},
		{"ToList of an improper list", convList, ImproperList{Elems: []Term{1}, Tail: 2}, nil, "expected a list, got improper list"},
		{"ToTuple", convTuple2, Tuple{1, 2}, Tuple{1, 2}, ""},
		{"ToTuple of another arity", convTuple2, Tuple{1}, nil, "expected a tuple of 2, got tuple of 1"},
		{"ToTuple of any arity", convTupleAny, Tuple{1}, Tuple{1}, ""},
		{"ToTuple of a list", convTupleAny, List(nil), nil, "expected a tuple, got []"},
		{"ToMap", convMap, Map{}, Map{}, ""},
		{"ToMap of a list", convMap, List{int64(1)}, nil, "expected a map, got list"},
		{"ProplistToMap", convProplistToMap, mem,
			Map{{Key: Atom("total"), Value: int64(100)}, {Key: Atom("ets"), Value: int64(5)}, {Key: Atom("flag"), Value: True}}, ""},
		{"ProplistToMap of a bad element", convProplistToMap, List{Tuple{1, 2, 3}}, nil,
			"proplist element 0: expected a tuple of 2, got tuple of 3"},
		{"ProplistToMap of a map", convProplistToMap, Map{}, nil, "expected a proplist, got map"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.convert(tc.in)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestPropGet(t *testing.T) {
	mem := List{Tuple{Atom("total"), int64(100)}, Tuple{Atom("ets"), int64(5)}, Atom("flag"), Tuple{Atom("total"), int64(1)}, Tuple{Atom("t3"), 1, 2}}
	tests := []struct {
		name  string
		list  Term
		key   Term
		want  Term
		found bool
	}{
		{"first of two", mem, Atom("total"), int64(100), true},
		{"value", mem, Atom("ets"), int64(5), true},
		{"bare atom", mem, Atom("flag"), True, true},
		{"longer tuple", mem, Atom("t3"), Tuple{Atom("t3"), 1, 2}, true},
		{"missing", mem, Atom("missing"), nil, false},
		{"map", Map{{Key: Atom("a"), Value: int64(1)}}, Atom("a"), int64(1), true},
		{"not a list", Atom("x"), Atom("x"), nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, found := PropGet(tc.list, tc.key)
			require.Equal(t, tc.found, found)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestTypename(t *testing.T) {
	tests := []struct {
		in   Term
		want string
	}{
		{Atom("a"), "atom"}, {true, "atom"}, {7, "integer"}, {big.NewInt(1), "integer"}, {1.5, "float"},
		{[]byte{}, "binary"}, {"s", "binary"}, {BitBinary{Bits: 1}, "bitstring"}, {String("s"), "string"},
		{List(nil), "[]"}, {List{1}, "list"}, {ImproperList{}, "improper list"}, {Tuple{1, 2}, "tuple of 2"},
		{Map{}, "map"}, {Pid{}, "pid"}, {Port{}, "port"}, {Ref{}, "reference"}, {Export{}, "fun"}, {Fun{}, "fun"},
		{nil, "nil"}, {struct{}{}, "Go struct {}"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			require.Equal(t, tc.want, Typename(tc.in))
		})
	}
}

// TestToFloat64Allocs: a metric value converts without allocating (it
// went through big.Int and big.Float: 3 % of the server's allocations at
// 1,000 nodes).
func TestToFloat64Allocs(t *testing.T) {
	var v Term = int64(1 << 40)
	var got float64
	allocs := testing.AllocsPerRun(100, func() { got, _ = ToFloat64(v) })
	require.Equal(t, float64(1<<40), got)
	require.Zero(t, allocs)
}
