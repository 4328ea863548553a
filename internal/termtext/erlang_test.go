package termtext

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/testnode"
)

// erlangTexts are term texts that Erlang's own parser reads too.
var erlangTexts = []string{
	"ok", "'hello world'", "node@host", "a_B@c9", "'Upper'", "'it\\'s'", "''", "'héllo'", "'日本'", "'\\x01'", "maybe",
	"42", "-42", "- 42", "+42", "16#FF", "16#ff_ff", "-2#101", "36#Zz", "1_000", "1_6#FF", "$a", "$ ", `$\n`, `$\x{1F600}`, "-$a",
	"9223372036854775807", "9223372036854775808", "-9223372036854775809",
	"123456789012345678901234567890", "-123456789012345678901234567890",
	"1.5", "-2.0e-3", "1.0e10", "1.0E10", "1.0e+3", "0.1", "1_0.5_0e1_0", "1.0e-400", "2.2250738585072014e-308",
	`"abc"`, `"a" "b"`, `""`, `"é"`, `"日本"`, `"\t\101\x41\^A\e\s\d\777\8\z\'"`,
	"<<>>", `<<"">>`, "<<1,2,3>>", `<<"abc">>`, `<<"a" "b", $c>>`, `<<"héllo"/utf8>>`, `<<"é">>`, `<<"日">>`, `<<1000/utf8>>`,
	"<<1:3>>", "<<5,1:3>>", "<<256, -1>>", "<<-1:4>>", "<<1:100>>", "<<1:16/big-unsigned-integer>>", "<<-2:12/signed>>",
	"<<100000000000000000000001>>", "<<0:0>>",
	"{}", "{ok, 1}", "[]", "[1, 2]", "[a|b]", "[a, b | c]", "[a|[b]]", `[$a|"bc"]`, "[a|[b|c]]",
	"#{}", "#{a => 1, {k,1} => [x], [a] => #{}}", "#{a => 1, a => 2}", `#{<<"k">> => 1.0e-10}`,
	"fun lists:map/2", "fun 'Elixir.Enum':map/2", "{ok, [1, 2, <<\"x\">>]}", "[$a, $b]",
	"{ok, % comment\n [1,\n  2]}",
}

// erlangRejects are texts that Erlang's parser rejects, and so must Parse.
var erlangRejects = []string{
	"", "{a, b", "{a)", "{a,}", "[a|b|c]", "#{a 1}", "#{a := 1}", "#{a => 1,}", "X", "_", "end", "cond", "fun",
	"ok ok", "1.e5", "1.0e", "1.0e400", "37#1", "2#102", "- a", "- - 1", `"\x4"`, `"abc`, "'abc", "1_", "1__0",
	"<<a>>", `<<"a"/binary>>`, "#rec{}", "fun (X) -> X end", "a.b", "[1,]",
}

// TestParseMatchesErlang parses texts in Go and in Erlang
// (erl_scan:string + erl_parse:parse_term) and has Erlang check that the
// terms are =:=, and that both reject the same bad texts.
func TestParseMatchesErlang(t *testing.T) {
	t.Parallel()
	var pairs []string
	for _, text := range erlangTexts {
		term, err := Parse(text)
		require.NoError(t, err, text)
		b, err := etf.Encode(term)
		require.NoError(t, err, text)
		pairs = append(pairs, fmt.Sprintf(`{<<"%X">>, <<"%X">>}`, text, b))
	}
	var rejects []string
	for _, text := range erlangRejects {
		_, err := Parse(text)
		require.Error(t, err, text)
		rejects = append(rejects, fmt.Sprintf(`<<"%X">>`, text))
	}
	script := `
Parse = fun(Hex) ->
    Text = unicode:characters_to_list(binary:decode_hex(Hex)),
    case erl_scan:string(Text ++ " .") of
        {ok, Tokens, _} -> {Text, erl_parse:parse_term(Tokens)};
        Error -> {Text, Error}
    end
  end,
lists:foreach(fun({TextHex, GoHex}) ->
    case Parse(TextHex) of
        {Text, {ok, Term}} ->
            case binary_to_term(binary:decode_hex(GoHex)) of
                Term -> ok;
                Other -> io:format("MISMATCH ~tp: Erlang ~w, Go ~w~n", [Text, Term, Other])
            end;
        {Text, Error} -> io:format("ERLANG REJECTS ~tp: ~p~n", [Text, Error])
    end
  end, [` + strings.Join(pairs, ",\n") + `]),
lists:foreach(fun(TextHex) ->
    case Parse(TextHex) of
        {Text, {ok, Term}} -> io:format("ERLANG ACCEPTS ~tp: ~w~n", [Text, Term]);
        _ -> ok
    end
  end, [` + strings.Join(rejects, ",\n") + `]),
io:format("checked~n")`
	require.Equal(t, "checked\n", testnode.Eval(t, script))
}

// erlangTerms are Erlang expressions for terms to print. Each yields a
// list of terms.
const erlangTerms = `[ok, 'Upper', '', 'a b', 'fun', 'héllo', '日本', 'a\x01\x7fb', 'it\'s', a@b, '\x{80}\x{9f}\x{a0}',
  0, -1, 255, 256, 1 bsl 31, 1 bsl 70, -(1 bsl 70),
  1.5, 1.0e10, 0.0001, 1.2e-4, 100.0, -0.0, 0.1, 123456789.0, 1.0e15, 1.0e16, 1.0e22, 1.0e23, 12345678.9,
  1.2345678901234567e19, 5.0e-324, 1.7976931348623157e308, 2.2250738585072014e-308,
  <<>>, <<"abc">>, <<"héllo"/utf8>>, <<"日本"/utf8>>, <<233>>, <<"a\nb\"c\\">>, <<0,1,255>>, <<1:3>>, <<5,1:3>>, <<"a",1>>,
  "abc", "", "hé", [1000, 2000], "tab\there", "\e\v\b\f\r", [1,2,3], [a|b], [$a|$b], {}, {ok, [1, 2, <<"x">>]},
  #{}, #{a => 1}, #{[a] => {k}, <<"b">> => #{c => d}}, maps:from_list([{K, K} || K <- lists:seq(1, 40)]),
  fun lists:map/2, fun 'Elixir.Enum':map/2,
  lists:seq(1, 60), [{K, lists:duplicate(K * 3, $x)} || K <- lists:seq(1, 8)],
  {ok, [{processes_used, N * 1000000} || N <- lists:seq(0, 11)]},
  #{alpha => lists:seq(1, 30), beta => {some_long_tag, <<"some binary text here">>, lists:seq(1, 10)}, gamma => x},
  {a_long_tuple_element_aaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, cccccccccccccccccccccccccc, {1,2}},
  list_to_binary(lists:seq(0, 255)), <<0:1000, 1:3>>, [a, b | lists:seq(1, 40)], [lists:seq(1, 30) | lists:seq(1, 30)],
  {ok, #{key_number_one => [{a, lists:duplicate(20, $y)}, {b, <<"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz">>}],
         key_two => {nested, {deeper, {and_deeper, lists:seq(1, 25), #{x => "a string that is quite long indeed"}}}}}},
  [{application_controller, [{'$ancestors', [<<"some">>, "list"]}, {heap_size, 987}, {links, [1, 2, 3]}]} || _ <- [1, 2, 3]],
  erlang:memory(), erlang:system_info(system_version), lists:duplicate(5, {tag_of_medium_length_here, lists:seq(1, 12)}),
  {lists:duplicate(10, {}), lists:duplicate(10, [])}]
  ++ [rand:uniform() * math:pow(10, rand:uniform(600) - 300) || _ <- lists:seq(1, 200)]
  ++ [F || _ <- lists:seq(1, 300), <<F/float>> <- [<<(rand:uniform(1 bsl 64) - 1):64>>]]`

// TestFormatMatchesErlang has Erlang print terms with ~tp, on one line and
// pretty, and checks that Format and FormatPretty print them the same, and
// that Erlang parses Go's text back to the same term.
func TestFormatMatchesErlang(t *testing.T) {
	t.Parallel()
	out := testnode.Eval(t, `
Hex = fun(Chars) -> binary:encode_hex(unicode:characters_to_binary(Chars)) end,
lists:foreach(fun(T) ->
    Flat = io_lib_pretty:print(T, [{column, 1}, {line_length, 100000000}, {encoding, unicode}]),
    Pretty = io_lib:format("~tp", [T]),
    io:format("~s ~s ~s~n", [binary:encode_hex(term_to_binary(T)), Hex(Flat), Hex(Pretty)])
  end, `+erlangTerms+` ++ [self(), make_ref(), hd(erlang:ports()), fun(X) -> X end]),
io:format("done~n")`)
	o := Options{LocalNode: "nonode@nohost"}
	var back []string
	lines := strings.Split(strings.TrimSuffix(out, "done\n"), "\n")
	require.Greater(t, len(lines), 400)
	for _, line := range lines[:len(lines)-1] {
		fields := strings.Fields(line)
		require.Len(t, fields, 3, line)
		var b [3][]byte
		for i, f := range fields {
			var err error
			b[i], err = hex.DecodeString(f)
			require.NoError(t, err)
		}
		term, err := etf.Decode(b[0])
		require.NoError(t, err)
		// A map of more than 32 keys is a hash map, which term_to_binary
		// and ~p traverse in different orders; only the parse-back counts.
		if m, ok := term.(etf.Map); !ok || len(m) <= 32 {
			require.Equal(t, string(b[1]), FormatWith(term, o), "flat form of %#v", term)
			require.Equal(t, string(b[2]), FormatPrettyWith(term, o), "pretty form of %#v", term)
		}
		switch term.(type) {
		case etf.Pid, etf.Ref, etf.Port, etf.Fun:
			continue // Erlang cannot parse these.
		}
		for _, text := range []string{FormatWith(term, o), FormatPrettyWith(term, o)} {
			back = append(back, fmt.Sprintf(`{<<"%s">>, <<"%X">>}`, fields[0], text))
		}
	}
	script := `
lists:foreach(fun({OrigHex, TextHex}) ->
    Orig = binary_to_term(binary:decode_hex(OrigHex)),
    Text = unicode:characters_to_list(binary:decode_hex(TextHex)),
    {ok, Tokens, _} = erl_scan:string(Text ++ " ."),
    {ok, Term} = erl_parse:parse_term(Tokens),
    Term =:= Orig orelse io:format("MISMATCH ~tp parses to ~w, want ~w~n", [Text, Term, Orig])
  end, [` + strings.Join(back, ",\n") + `]),
io:format("checked~n")`
	require.Equal(t, "checked\n", testnode.Eval(t, script))
}

// TestFormatUnicodeMatchesErlang compares Options.Unicode with a VM
// started with +pc unicode.
func TestFormatUnicodeMatchesErlang(t *testing.T) {
	t.Parallel()
	out := testnode.Eval(t, `
lists:foreach(fun(T) ->
    io:format("~s ~s~n", [binary:encode_hex(term_to_binary(T)), binary:encode_hex(unicode:characters_to_binary(io_lib:format("~tp", [T])))])
  end, ["日本", <<"日本"/utf8>>, [16#D800], [16#FFFE], [16#10000], "héllo", <<"héllo"/utf8>>, <<233>>, [{"日本", lists:duplicate(30, "ü")}]])`, "+pc", "unicode")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		fields := strings.Fields(line)
		require.Len(t, fields, 2, line)
		b, err := hex.DecodeString(fields[0])
		require.NoError(t, err)
		want, err := hex.DecodeString(fields[1])
		require.NoError(t, err)
		term, err := etf.Decode(b)
		require.NoError(t, err)
		require.Equal(t, string(want), FormatPrettyWith(term, Options{Unicode: true}))
	}
}
