package termtext

import (
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/etf"
)

const local = etf.Atom("a@host")

func bigInt(s string) *big.Int {
	z, _ := new(big.Int).SetString(s, 10)
	return z
}

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want etf.Term
	}{
		{"ok", etf.Atom("ok")},
		{"ok.", etf.Atom("ok")},
		{"  node@host  % a comment\n", etf.Atom("node@host")},
		{"a_B@c9", etf.Atom("a_B@c9")},
		{"'hello world'", etf.Atom("hello world")},
		{`'it\'s'`, etf.Atom("it's")},
		{"'fun'", etf.Atom("fun")},
		{"''", etf.Atom("")},
		{"maybe", etf.Atom("maybe")},
		{"42", int64(42)},
		{"-42", int64(-42)},
		{"- 42", int64(-42)},
		{"+42", int64(42)},
		{"16#FF", int64(255)},
		{"16#ff_ff", int64(65535)},
		{"-2#101", int64(-5)},
		{"36#Zz", int64(1295)},
		{"1_000_000", int64(1000000)},
		{"9223372036854775807", int64(math.MaxInt64)},
		{"9223372036854775808", bigInt("9223372036854775808")},
		{"-123456789012345678901234567890", bigInt("-123456789012345678901234567890")},
		{"$a", int64('a')},
		{"$ ", int64(' ')},
		{`$\n`, int64('\n')},
		{`$\x{1F600}`, int64(0x1F600)},
		{"-$a", int64(-'a')},
		{"1.5", 1.5},
		{"-2.0e-3", -0.002},
		{"1.0E10", 1e10},
		{"1.0e+3", 1000.0},
		{"1_0.5_0e1_0", 1.05e11},
		{"1.0e-400", 0.0},
		{`"abc"`, etf.String("abc")},
		{`"a" "b"  "c"`, etf.String("abc")},
		{`""`, etf.List(nil)},
		{`"é"`, etf.String("\xe9")},
		{`"日本"`, etf.List{int64(0x65E5), int64(0x672C)}},
		{`"\t\101\x41\^A\s\d\e\777\8"`, etf.List{int64('\t'), int64('A'), int64('A'), int64(1), int64(' '), int64(127), int64(27), int64(511), int64('8')}},
		{"<<>>", []byte{}},
		{`<<"">>`, []byte{}},
		{"<<1,2,3>>", []byte{1, 2, 3}},
		{`<<"abc">>`, []byte("abc")},
		{`<<"a" "b", $c>>`, []byte("abc")},
		{`<<"héllo"/utf8>>`, []byte("héllo")},
		{`<<"é">>`, []byte{0xe9}},
		{`<<1000/utf8>>`, []byte("\u03e8")},
		{"<<1:3>>", etf.BitBinary{Bytes: []byte{0x20}, Bits: 3}},
		{"<<5,1:3>>", etf.BitBinary{Bytes: []byte{5, 0x20}, Bits: 3}},
		{"<<1:16/big-unsigned-integer>>", []byte{0, 1}},
		{"<<256, -1>>", []byte{0, 255}},
		{"<<-1:4>>", etf.BitBinary{Bytes: []byte{0xf0}, Bits: 4}},
		{"<<100000000000000000000001>>", []byte{1}},
		{"{}", etf.Tuple{}},
		{"{ok, 1}", etf.Tuple{etf.Atom("ok"), int64(1)}},
		{"[]", etf.List(nil)},
		{"[1, 2]", etf.List{int64(1), int64(2)}},
		{"[a|b]", etf.ImproperList{Elems: []etf.Term{etf.Atom("a")}, Tail: etf.Atom("b")}},
		{"[a, b | c]", etf.ImproperList{Elems: []etf.Term{etf.Atom("a"), etf.Atom("b")}, Tail: etf.Atom("c")}},
		{"[a|[b]]", etf.List{etf.Atom("a"), etf.Atom("b")}},
		{`[$a|"bc"]`, etf.List{int64('a'), int64('b'), int64('c')}},
		{"[a|[b|c]]", etf.ImproperList{Elems: []etf.Term{etf.Atom("a"), etf.Atom("b")}, Tail: etf.Atom("c")}},
		{"#{}", etf.Map{}},
		{"#{a => 1, {k,1} => [x]}", etf.Map{{Key: etf.Atom("a"), Value: int64(1)}, {Key: etf.Tuple{etf.Atom("k"), int64(1)}, Value: etf.List{etf.Atom("x")}}}},
		{"#{a => 1, b => 2, a => 3}", etf.Map{{Key: etf.Atom("a"), Value: int64(3)}, {Key: etf.Atom("b"), Value: int64(2)}}},
		{"<0.54.0>", etf.Pid{Node: local, ID: 54}},
		{"<'b@h'.54.7>", etf.Pid{Node: "b@h", ID: 54, Serial: 7}},
		{"<b@h.54.7>", etf.Pid{Node: "b@h", ID: 54, Serial: 7}},
		{"<'b@h.example.com'.1.0>", etf.Pid{Node: "b@h.example.com", ID: 1}},
		{"#Ref<0.3.2.1>", etf.Ref{Node: local, Len: 3, ID: [etf.MaxRefWords]uint32{1, 2, 3}}},
		{"#Ref<'b@h'.5.4.3.2.1>", etf.Ref{Node: "b@h", Len: 5, ID: [etf.MaxRefWords]uint32{1, 2, 3, 4, 5}}},
		{"#Port<0.5>", etf.Port{Node: local, ID: 5}},
		{"fun lists:map/2", etf.Export{Module: "lists", Function: "map", Arity: 2}},
		{"fun 'Elixir.Enum':map/2", etf.Export{Module: "Elixir.Enum", Function: "map", Arity: 2}},
		{"{ok, [1, 2, <<\"x\">>]}.\n", etf.Tuple{etf.Atom("ok"), etf.List{int64(1), int64(2), []byte("x")}}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseWith(tc.in, Options{LocalNode: local})
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", "termtext: line 1, column 1: unexpected end of input (expected a term)"},
		{`"abc`, "termtext: line 1, column 1: unterminated string"},
		{"{a, 'abc", "termtext: line 1, column 5: unterminated quoted atom"},
		{"{a, b", "termtext: line 1, column 6: unexpected end of input (expected ',' or '}')"},
		{"{a)", "termtext: line 1, column 3: unexpected ')' (expected ',' or '}')"},
		{"{a,}", "termtext: line 1, column 4: unexpected '}' (expected a term)"},
		{"[1,\n 2 x]", "termtext: line 2, column 4: unexpected atom x (expected ',' or '|' or ']')"},
		{"[a|b|c]", "termtext: line 1, column 5: unexpected '|' (expected ']')"},
		{"#{a 1}", "termtext: line 1, column 5: unexpected integer 1 (expected '=>')"},
		{"#{a := 1}", "termtext: line 1, column 5: unexpected ':=' (expected '=>')"},
		{"#{a => 1,}", "termtext: line 1, column 10: unexpected '}' (expected a term)"},
		{"X", "termtext: line 1, column 1: X is a variable, not a term (quote it for an atom: 'X')"},
		{"[_]", "termtext: line 1, column 2: _ is a variable, not a term (quote it for an atom: '_')"},
		{"end", "termtext: line 1, column 1: end is a reserved word, not an atom (quote it: 'end')"},
		{"ok ok", "termtext: line 1, column 4: unexpected atom ok (expected end of input)"},
		{"1.e5", "termtext: line 1, column 3: unexpected atom e5 (expected end of input)"},
		{"1.0e", "termtext: line 1, column 1: bad float 1.0e (missing exponent digits)"},
		{"1.0e400", "termtext: line 1, column 1: float 1.0e400 is out of range"},
		{"37#1", "termtext: line 1, column 1: base 37 is not between 2 and 36"},
		{"2#102", "termtext: line 1, column 5: unexpected integer 2 (expected end of input)"},
		{"16#", "termtext: line 1, column 4: missing digits after 16#"},
		{"- a", "termtext: line 1, column 3: unexpected atom a (expected a number after the sign)"},
		{`"\x4"`, `termtext: line 1, column 2: bad escape \x (want two hex digits or \x{...})`},
		{`"\x{110000}"`, `termtext: line 1, column 2: bad escape \x{110000...`},
		{"$", "termtext: line 1, column 2: unexpected end of input after $"},
		{"a ~ b", "termtext: line 1, column 3: unexpected character '~'"},
		{"<0.1.2>", "termtext: line 1, column 1: <0.1.2> needs a node: no local node is set here, so write its name, e.g. <'node@host'.1.2>"},
		{"<3.1.2>", "termtext: line 1, column 1: <3.1.2> has node index 3, which only the node that printed it understands; write the node name instead, e.g. <'node@host'.1.2>"},
		{"<'a@b'.1>", "termtext: line 1, column 1: bad <...>: want 2 numbers after the node, not 1"},
		{"<'a@b'.1.2", "termtext: line 1, column 1: bad <...>: want '.' or '>'"},
		{"<a@b.example.com.1.2>", "termtext: line 1, column 1: bad <...>: want a number after '.'"},
		{"<'a@b'.1.99999999999>", "termtext: line 1, column 1: bad <'a@b'.1.99999999999>: pid numbers must fit in 32 bits"},
		{"#Ref<'a@b'>", "termtext: line 1, column 1: bad #Ref<...>: want 1 to 5 numbers after the node, not 0"},
		{"#Fun<erl_eval.1.2>", "termtext: line 1, column 1: a local fun (#Fun<...>) cannot be written as a term; only fun M:F/A can"},
		{"#rec{}", "termtext: line 1, column 2: unexpected atom rec (expected '{' or Ref< or Port<)"},
		{"fun (X) -> X end", "termtext: line 1, column 5: unexpected '(' (expected an atom in fun M:F/A (local funs cannot be written as terms))"},
		{"fun m:f/256", "termtext: line 1, column 9: unexpected integer 256 (expected an arity from 0 to 255)"},
		{"<<a>>", "termtext: line 1, column 3: a binary segment must be an integer or a string, got atom"},
		{"<<1.5/float>>", "termtext: line 1, column 3: a binary segment must be an integer or a string, got float"},
		{"<<1:70000>>", "termtext: line 1, column 5: unexpected integer 70000 (expected a segment size from 0 to 65536)"},
		{`<<"a"/binary>>`, "termtext: line 1, column 7: unexpected atom binary (expected a segment type (integer, signed, unsigned, big or utf8 without a size))"},
		{`<<16#110000/utf8>>`, "termtext: line 1, column 3: 1114112 is not a Unicode code point for /utf8"},
		{"'" + strings.Repeat("a", 256) + "'", "termtext: line 1, column 1: atom is longer than 255 characters"},
		{"fun '" + strings.Repeat("a", 256) + "':f/0", "termtext: line 1, column 5: atom is longer than 255 characters"},
		{"fun m:'" + strings.Repeat("\xff", 256) + "'/0", "termtext: line 1, column 7: atom is longer than 255 characters"},
		{"<'" + strings.Repeat("a", 256) + "'.1.2>", "termtext: line 1, column 1: bad <...>: atom is longer than 255 characters"},
		{strings.Repeat("[", 2000), "termtext: line 1, column 1001: terms nested deeper than 1000"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			_, err := Parse(tc.in)
			require.EqualError(t, err, tc.want)
			var se *SyntaxError
			require.ErrorAs(t, err, &se)
		})
	}
}

func TestParseList(t *testing.T) {
	tests := []struct {
		in      string
		want    etf.List
		wantErr string
	}{
		{in: "[]", want: nil},
		{in: "[process_count]", want: etf.List{etf.Atom("process_count")}},
		{in: `"ab"`, want: etf.List{int64('a'), int64('b')}},
		{in: "[<0.1.2>, 1]", want: etf.List{etf.Pid{Node: local, ID: 1, Serial: 2}, int64(1)}},
		{in: "process_count", wantErr: "termtext: expected a list, got atom"},
		{in: "[a|b]", wantErr: "termtext: expected a list, got improper list"},
		{in: "[a", wantErr: "termtext: line 1, column 3: unexpected end of input (expected ',' or '|' or ']')"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseListWith(tc.in, Options{LocalNode: local})
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		in   etf.Term
		want string
	}{
		{etf.Atom("ok"), "ok"},
		{etf.Atom("Upper"), "'Upper'"},
		{etf.Atom(""), "''"},
		{etf.Atom("fun"), "'fun'"},
		{etf.Atom("maybe"), "'maybe'"},
		{etf.Atom("a b\n"), `'a b\n'`},
		{etf.Atom("it's"), `'it\'s'`},
		{etf.Atom("a\x01\x7fb"), `'a\001\db'`},
		{etf.Atom("a@b"), "a@b"},
		{etf.Atom("héllo"), "héllo"},
		{etf.Atom("日本"), "'日本'"},
		{true, "true"},
		{int64(-7), "-7"},
		{7, "7"},
		{uint64(math.MaxUint64), "18446744073709551615"},
		{bigInt("-123456789012345678901234567890"), "-123456789012345678901234567890"},
		{1.5, "1.5"},
		{1e10, "1.0e10"},
		{100.0, "100.0"},
		{123456789.0, "123456789.0"},
		{0.001, "0.001"},
		{0.0001, "0.0001"},
		{0.00012, "1.2e-4"},
		{math.Copysign(0, -1), "-0.0"},
		{1.2345678901234567e19, "1.2345678901234567e19"},
		{[]byte{}, "<<>>"},
		{[]byte("abc"), `<<"abc">>`},
		{"abc", `<<"abc">>`},
		{[]byte("héllo"), `<<"héllo"/utf8>>`},
		{[]byte("日本"), "<<230,151,165,230,156,172>>"},
		{[]byte{0xe9}, `<<"é">>`},
		{[]byte("a\nb\"c"), `<<"a\nb\"c">>`},
		{[]byte{0, 1}, "<<0,1>>"},
		{etf.BitBinary{Bytes: []byte{5, 0x20}, Bits: 3}, "<<5,1:3>>"},
		{etf.BitBinary{Bytes: []byte{5}, Bits: 8}, "<<5>>"},
		{etf.String("abc"), `"abc"`},
		{etf.String("a\x01"), "[97,1]"},
		{etf.List{int64('h'), int64(0xe9)}, `"hé"`},
		{etf.List{int64(1000), int64(2000)}, "[1000,2000]"},
		{etf.List{int64(1), int64(2)}, "[1,2]"},
		{etf.List(nil), "[]"},
		{[]etf.Term{etf.Atom("a")}, "[a]"},
		{etf.ImproperList{Elems: []etf.Term{etf.Atom("a")}, Tail: etf.Atom("b")}, "[a|b]"},
		{etf.ImproperList{Elems: []etf.Term{int64('a')}, Tail: int64('b')}, "[97|98]"},
		{etf.Tuple{}, "{}"},
		{etf.Tuple{etf.Atom("ok"), etf.List{}}, "{ok,[]}"},
		{etf.Map{}, "#{}"},
		{etf.Map{{Key: etf.Atom("a"), Value: int64(1)}, {Key: etf.Atom("b"), Value: int64(2)}}, "#{a => 1,b => 2}"},
		{etf.Pid{Node: local, ID: 54}, "<0.54.0>"},
		{etf.Pid{Node: "b@h", ID: 54}, "<'b@h'.54.0>"},
		{etf.Ref{Node: local, Len: 3, ID: [etf.MaxRefWords]uint32{1, 2, 3}}, "#Ref<0.3.2.1>"},
		{etf.Port{Node: "b@h", ID: 5}, "#Port<'b@h'.5>"},
		{etf.Export{Module: "lists", Function: "map", Arity: 2}, "fun lists:map/2"},
		{etf.Fun{Module: "erl_eval", OldIndex: 6, OldUniq: 123}, "#Fun<erl_eval.6.123>"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			require.Equal(t, tc.want, FormatWith(tc.in, Options{LocalNode: local}))
		})
	}
}

func TestFormatUnicode(t *testing.T) {
	o := Options{Unicode: true}
	require.Equal(t, `"日本"`, FormatWith(etf.List{int64(0x65E5), int64(0x672C)}, o))
	require.Equal(t, `<<"日本"/utf8>>`, FormatWith([]byte("日本"), o))
	require.Equal(t, "[55296]", FormatWith(etf.List{int64(0xD800)}, o))
}

func TestFormatPretty(t *testing.T) {
	var l etf.List
	for i := range 12 {
		l = append(l, etf.Tuple{etf.Atom("processes_used"), int64(i * 1000000)})
	}
	term := etf.Tuple{etf.Atom("ok"), l}
	out := FormatPretty(term)
	lines := strings.Split(out, "\n")
	require.Len(t, lines, 12)
	require.Equal(t, "{ok,[{processes_used,0},", lines[0])
	require.Equal(t, "     {processes_used,1000000},", lines[1])
	require.Equal(t, "     {processes_used,11000000}]}", lines[11])
	back, err := Parse(out)
	require.NoError(t, err)
	require.True(t, etf.Equal(term, back))
	require.Equal(t, "{ok,[]}", FormatPretty(etf.Tuple{etf.Atom("ok"), etf.List(nil)}))
}
