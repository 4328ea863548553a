package dist

import (
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/termtext"
)

// TestFormatTerm checks that dist's own formatting of error terms agrees
// with termtext's (the CLI's), which dist does not import.
func TestFormatTerm(t *testing.T) {
	const local = etf.Atom("a@host")
	big, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	terms := []etf.Term{
		etf.Atom("nodedown"), etf.Atom("EXIT"), etf.Atom("end"), etf.Atom("a b"), etf.Atom("it's"), etf.Atom(""), etf.Atom("é@x"),
		true, int64(-42), big, 1.5, 0.1,
		[]byte{}, []byte("abc"), []byte("é"), []byte{0xe9}, []byte{0, 1, 255}, []byte{0xe0, 0xbf, 0xbf}, "text",
		etf.String(""), etf.String("abc\n\"q\""), etf.String("\x00\x01"),
		etf.List{}, etf.List{int64(104), int64(105)}, etf.List{int64(1), int64(2)}, etf.List{int64(1000)},
		etf.ImproperList{Elems: []etf.Term{int64(1)}, Tail: etf.Atom("t")},
		etf.Tuple{}, etf.Tuple{etf.Atom("EXIT"), etf.Tuple{etf.Atom("undef"), etf.List{
			etf.Tuple{etf.Atom("nosuch"), etf.Atom("f"), etf.List{}, etf.List{}},
			etf.Tuple{etf.Atom("rpc"), etf.Atom("local_call"), int64(3), etf.List{etf.Tuple{etf.Atom("file"), etf.String("rpc.erl")}, etf.Tuple{etf.Atom("line"), int64(413)}}},
		}}},
		etf.Map{{Key: etf.Atom("k"), Value: []byte("v")}},
		etf.Pid{Node: local, ID: 54, Serial: 0}, etf.Pid{Node: "b@host", ID: 1, Serial: 2},
		etf.Port{Node: local, ID: 5},
		etf.Ref{Node: local, Len: 3, ID: [5]uint32{3, 2, 1}},
		etf.Export{Module: "lists", Function: "map", Arity: 2},
	}
	for _, term := range terms {
		want := termtext.FormatWith(term, termtext.Options{LocalNode: local})
		require.Equal(t, want, formatTerm(term, local))
	}
}
