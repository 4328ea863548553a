package termtext

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/testnode"
)

const local = etf.Atom("a@host")

func TestParse(t *testing.T) {
	big100, _ := new(big.Int).SetString("1"+strings.Repeat("0", 30), 10)
	tests := []struct {
		in   string
		want etf.Term
	}{
		{"ok", etf.Atom("ok")},
		{"ok.", etf.Atom("ok")},
		{"  node@host  % comment\n", etf.Atom("node@host")},
		{"'hello world'", etf.Atom("hello world")},
		{`'it\'s'`, etf.Atom("it's")},
		{"'fun'", etf.Atom("fun")},
		{"42", int64(42)},
		{"-42", int64(-42)},
		{"16#FF", int64(255)},
		{"-2#101", int64(-5)},
		{"1_000_000", int64(1000000)},
		{"1" + strings.Repeat("0", 30), big100},
		{"$a", int64('a')},
		{`$\n`, int64('\n')},
		{`$\x{1F600}`, int64(0x1F600)},
		{"1.5", 1.5},
		{"-2.0e-3", -0.002},
		{"1.0E10", 1e10},
		{`"abc"`, etf.String("abc")},
		{`"a" "b"`, etf.String("ab")},
		{`""`, etf.List(nil)},
		{`"日本"`, etf.List{int64(0x65E5), int64(0x672C)}},
		{`"\t\101\x41\^A"`, etf.String("\tAA\x01")},
		{"<<>>", []byte{}},
		{"<<1,2,3>>", []byte{1, 2, 3}},
		{`<<"abc">>`, []byte("abc")},
		{`<<"héllo"/utf8>>`, []byte("héllo")},
		{"<<1:3>>", etf.BitBinary{Bytes: []byte{0x20}, Bits: 3}},
		{"<<5,1:3>>", etf.BitBinary{Bytes: []byte{5, 0x20}, Bits: 3}},
		{"<<256>>", []byte{0}},
		{"{}", etf.Tuple{}},
		{"{ok, 1}", etf.Tuple{etf.Atom("ok"), int64(1)}},
		{"[]", etf.List(nil)},
		{"[1, 2]", etf.List{int64(1), int64(2)}},
		{"[a|b]", etf.ImproperList{Elems: []etf.Term{etf.Atom("a")}, Tail: etf.Atom("b")}},
		{"[a|[b]]", etf.List{etf.Atom("a"), etf.Atom("b")}},
		{"#{}", etf.Map{}},
		{"#{a => 1, {k,1} => [x]}", etf.Map{{Key: etf.Atom("a"), Value: int64(1)}, {Key: etf.Tuple{etf.Atom("k"), int64(1)}, Value: etf.List{etf.Atom("x")}}}},
		{"<0.54.0>", etf.Pid{Node: local, ID: 54}},
		{"<'b@h'.54.7>", etf.Pid{Node: "b@h", ID: 54, Serial: 7}},
		{"#Ref<0.3.2.1>", etf.Ref{Node: local, Len: 3, ID: [etf.MaxRefWords]uint32{1, 2, 3}}},
		{"#Port<0.5>", etf.Port{Node: local, ID: 5}},
		{"fun lists:map/2", etf.Export{Module: "lists", Function: "map", Arity: 2}},
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
		{`"abc`, "termtext: line 1, column 5: unterminated string"},
		{"'abc", "termtext: line 1, column 5: unterminated quoted atom"},
		{"{a, b", `termtext: line 1, column 6: unexpected end of input (expected "}" or ',' to close the tuple)`},
		{"{a)", `termtext: line 1, column 3: unexpected ')' (expected "}" or ',' to close the tuple)`},
		{"[1,\n 2 x]", `termtext: line 2, column 4: unexpected 'x' (expected "]" or ',' or '|' to close the list)`},
		{"X", "termtext: line 1, column 1: X is a variable, not a term (quote it for an atom: 'X')"},
		{"end", "termtext: line 1, column 1: end is a reserved word; quote it for an atom: 'end'"},
		{"ok ok", "termtext: line 1, column 4: unexpected 'o' after the term"},
		{"<0.1.2>", "termtext: line 1, column 3: pid <0...> needs a node to belong to; none is set here"},
		{"<3.1.2>", "termtext: line 1, column 3: pid with node index 3: only 0 (the local node) is known here; write the node name instead, e.g. <'b@host'.54.0>"},
		{"#{a 1}", `termtext: line 1, column 5: unexpected '1' (expected "=>" between a map key and its value)`},
		{"<<a>>", "termtext: line 1, column 4: binary segments must be integers or strings, not atom"},
		{"#Fun<erl_eval.1.2>", "termtext: line 1, column 1: a local fun (#Fun<...>) cannot be written as text"},
		{"37#1", "termtext: line 1, column 4: base 37 is not between 2 and 36"},
		{strings.Repeat("[", 2000), "nested deeper than 1000"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			_, err := Parse(tc.in)
			require.ErrorContains(t, err, tc.want)
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
		{etf.Atom("a b\n"), `'a b\n'`},
		{etf.Atom("a@b"), "a@b"},
		{int64(-7), "-7"},
		{1.5, "1.5"},
		{1e10, "1.0e10"},
		{100.0, "100.0"},
		{0.0001, "0.0001"},
		{0.00012, "1.2e-4"},
		{math.Copysign(0, -1), "-0.0"},
		{1.2345678901234567e19, "1.2345678901234567e19"},
		{[]byte("abc"), `<<"abc">>`},
		{[]byte("héllo"), `<<"héllo"/utf8>>`},
		{[]byte{0, 1}, "<<0,1>>"},
		{etf.BitBinary{Bytes: []byte{5, 0x20}, Bits: 3}, "<<5,1:3>>"},
		{etf.String("abc"), `"abc"`},
		{etf.List{int64(1), int64(2)}, "[1,2]"},
		{etf.List(nil), "[]"},
		{etf.ImproperList{Elems: []etf.Term{etf.Atom("a")}, Tail: etf.Atom("b")}, "[a|b]"},
		{etf.Tuple{etf.Atom("ok"), etf.List{}}, "{ok,[]}"},
		{etf.Map{{Key: etf.Atom("a"), Value: int64(1)}, {Key: etf.Atom("b"), Value: int64(2)}}, "#{a => 1,b => 2}"},
		{etf.Pid{Node: local, ID: 54}, "<0.54.0>"},
		{etf.Pid{Node: "b@h", ID: 54}, "<'b@h'.54.0>"},
		{etf.Ref{Node: local, Len: 3, ID: [etf.MaxRefWords]uint32{1, 2, 3}}, "#Ref<0.3.2.1>"},
		{etf.Export{Module: "lists", Function: "map", Arity: 2}, "fun lists:map/2"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			require.Equal(t, tc.want, FormatWith(tc.in, Options{LocalNode: local}))
		})
	}
}

func TestFormatPretty(t *testing.T) {
	var l etf.List
	for i := range 12 {
		l = append(l, etf.Tuple{etf.Atom("processes_used"), int64(i * 1000000)})
	}
	out := FormatPretty(etf.Tuple{etf.Atom("ok"), l})
	lines := strings.Split(out, "\n")
	require.Len(t, lines, 12)
	require.Equal(t, "{ok,[{processes_used,0},", lines[0])
	require.Equal(t, "     {processes_used,1000000},", lines[1])
	for _, line := range lines {
		require.LessOrEqual(t, len(line), 80)
	}
	back, err := Parse(out)
	require.NoError(t, err)
	require.True(t, etf.Equal(etf.Tuple{etf.Atom("ok"), l}, back))
}

// realTexts are term texts that Erlang's own parser also reads.
var realTexts = []string{
	"ok", "'hello world'", "node@host", "'Upper'", "42", "-42", "16#FF", "1_000", "$a", `$\n`,
	"123456789012345678901234567890", "-123456789012345678901234567890",
	"1.5", "-2.0e-3", "1.0e10", "0.1", `"abc"`, `"a" "b"`, `""`, `"日本"`, `"\t\101\x41\^A\e"`,
	"<<>>", "<<1,2,3>>", `<<"abc">>`, `<<"héllo"/utf8>>`, "<<1:3>>", "<<5,1:3>>", "<<256>>",
	"{}", "{ok, 1}", "[]", "[1, 2]", "[a|b]", "[a, b | c]", "#{}", "#{a => 1, {k,1} => [x], [a] => #{}}",
	"fun lists:map/2", "{ok, [1, 2, <<\"x\">>]}", "'héllo'", "[$a, $b]", "#{<<\"k\">> => 1.0e-10}",
}

// TestParseMatchesErlang parses texts in Go and in Erlang
// (erl_scan + erl_parse:parse_term) and has Erlang compare the results.
func TestParseMatchesErlang(t *testing.T) {
	t.Parallel()
	var pairs []string
	for _, text := range realTexts {
		term, err := Parse(text)
		require.NoError(t, err, text)
		b, err := etf.Encode(term)
		require.NoError(t, err, text)
		pairs = append(pairs, fmt.Sprintf(`{<<"%X">>, <<"%X">>}`, text, b))
	}
	script := `
lists:foreach(fun({TextHex, GoHex}) ->
    Text = unicode:characters_to_list(binary:decode_hex(TextHex)),
    {ok, Tokens, _} = erl_scan:string(Text ++ "."),
    {ok, Term} = erl_parse:parse_term(Tokens),
    case binary_to_term(binary:decode_hex(GoHex)) of
      Term -> ok;
      Other -> io:format("MISMATCH ~ts: erlang ~w go ~w~n", [Text, Term, Other])
    end
  end, [` + strings.Join(pairs, ",\n") + `]),
io:format("checked~n")`
	out := testnode.Eval(t, script)
	require.Equal(t, "checked\n", out)
}

// TestFormatParsesInErlang formats terms Erlang made and has Erlang parse
// Go's text back into the same term; the flat text must also equal
// Erlang's own ~tp output.
func TestFormatParsesInErlang(t *testing.T) {
	t.Parallel()
	terms := `[ok, 'Upper', '', 'a b', 'fun', 'héllo', '日本', 0, -1, 1 bsl 70, 1.5, 1.0e10, 0.0001, 1.2e-4, 100.0, -0.0,
	  1.2345678901234567e19, 5.0e-324, <<>>, <<"abc">>, <<"héllo"/utf8>>, <<0,1,255>>, <<1:3>>, <<5,1:3>>,
	  "abc", "", [1000, 2000], "tab\there", [1,2,3], [a|b], {}, {ok, [1, 2, <<"x">>]},
	  #{}, #{a => 1}, #{[a] => {k}, <<"b">> => #{c => d}}, fun lists:map/2,
	  lists:seq(1, 40), [{K, lists:duplicate(K, $x)} || K <- lists:seq(1, 8)]]`
	out := testnode.Eval(t, `lists:foreach(fun(T) -> io:format("~s~n", [binary:encode_hex(term_to_binary(T))]) end, `+terms+`)`)
	var pairs []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		b, err := hex.DecodeString(line)
		require.NoError(t, err)
		term, err := etf.Decode(b)
		require.NoError(t, err)
		for _, text := range []string{Format(term), FormatPretty(term)} {
			pairs = append(pairs, fmt.Sprintf(`{<<"%s">>, <<"%X">>}`, line, text))
		}
	}
	script := `
lists:foreach(fun({OrigHex, GoTextHex}) ->
    Orig = binary_to_term(binary:decode_hex(OrigHex)),
    GoText = unicode:characters_to_list(binary:decode_hex(GoTextHex)),
    {ok, Tokens, _} = erl_scan:string(GoText ++ "."),
    {ok, Term} = erl_parse:parse_term(Tokens),
    Term =:= Orig orelse io:format("MISMATCH ~ts parses to ~w, want ~w~n", [GoText, Term, Orig]),
    ErlText = lists:flatten(io_lib_pretty:print(Orig, [{column, 1}, {line_length, 100000}, {depth, -1}, {encoding, unicode}])),
    (string:find(GoText, "\n") =/= nomatch) orelse ErlText =:= GoText
      orelse io:format("DIFFERENT ~ts from Erlang's ~ts~n", [GoText, ErlText])
  end, [` + strings.Join(pairs, ",\n") + `]),
io:format("checked~n")`
	require.Equal(t, "checked\n", testnode.Eval(t, script))
}

// FuzzParse feeds arbitrary text to the parser: it must not panic, and
// whatever it parses must print and parse back to an equal term.
func FuzzParse(f *testing.F) {
	for _, s := range realTexts {
		f.Add(s)
	}
	f.Add("<0.1.2>")
	f.Add("#Ref<0.1.2.3>")
	f.Add("[1,2|[3]]")
	f.Fuzz(func(t *testing.T, s string) {
		o := Options{LocalNode: local}
		term, err := ParseWith(s, o)
		if err != nil {
			return
		}
		text := FormatWith(term, o)
		back, err := ParseWith(text, o)
		if err != nil {
			t.Fatalf("%q parsed to %#v, printed as %q, which does not parse: %v", s, term, text, err)
		}
		if !etf.Equal(term, back) {
			t.Fatalf("%q: printed as %q, parsed back as %#v, want %#v", s, text, back, term)
		}
	})
}
