package etf

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"math/big"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/testnode"
)

// goldenTerms is an Erlang list of {Name, Term, Options}: every tag OTP
// emits and the edge values around each size boundary. Options are those of
// term_to_binary/2; minor_version 2 (OTP 26's default) encodes every atom
// as UTF-8, as the distribution wire does.
const goldenTerms = `begin
M2 = [{minor_version, 2}],
Big1000 = list_to_integer(lists:duplicate(1000, $7)),
LocalFun = begin Y = 42, fun(X) -> X + Y end end,
BigMap = maps:from_list([{K, K * K} || K <- lists:seq(1, 40)]),
[{int_0, 0, M2}, {int_neg1, -1, M2}, {int_255, 255, M2}, {int_256, 256, M2},
 {int_min32, -2147483648, M2}, {int_max32, 2147483647, M2}, {int_2_31, 2147483648, M2},
 {int_max64, 9223372036854775807, M2}, {int_2_63, 9223372036854775808, M2},
 {int_min64, -9223372036854775808, M2}, {int_min64_minus1, -9223372036854775809, M2},
 {int_2_64, 18446744073709551616, M2}, {big_1000_digits, Big1000, M2}, {big_neg, -Big1000, M2},
 {float_0, 0.0, M2}, {float_neg0, -0.0, M2}, {float_big, 1.5e300, M2}, {float_tiny, 5.0e-324, M2},
 {float_pi, 3.141592653589793, M2}, {float_old, 1.5, [{minor_version, 0}]},
 {atom_ok, ok, M2}, {atom_empty, '', M2}, {atom_utf8, 'héllo', M2}, {atom_cjk, '日本', M2},
 {atom_255, list_to_atom(lists:duplicate(255, $a)), M2}, {atom_255_cjk, list_to_atom(lists:duplicate(255, 16#65E5)), M2},
 {atom_latin1_tag, 'héllo', []}, {atom_true, true, M2},
 {bin_empty, <<>>, M2}, {bin_text, <<"hello">>, M2}, {bin_bytes, <<0, 1, 255>>, M2},
 {bits_3, <<1:3>>, M2}, {bits_11, <<5, 1:3>>, M2},
 {str_empty, "", M2}, {str_abc, "abc", M2}, {str_unicode, [1000, 2000], M2},
 {str_long, lists:duplicate(70000, $x), M2},
 {list, [a, 1, <<"b">>], M2}, {improper, [a | b], M2}, {improper_long, [1, 2 | 3], M2},
 {tuple_empty, {}, M2}, {tuple, {ok, 1}, M2}, {tuple_300, list_to_tuple(lists:seq(1, 300)), M2},
 {map_empty, #{}, M2}, {map_keys, #{{k, 1} => 1, [a] => 2, #{x => 1} => 3, <<"b">> => 4}, M2},
 {map_nested, #{a => #{b => #{c => [1, 2, 3]}}}, M2}, {map_40, BigMap, M2},
 {pid, self(), M2}, {port, hd(erlang:ports()), M2}, {ref, make_ref(), M2},
 {alias_ref, alias(), M2},
 {export, fun lists:map/2, M2}, {local_fun, LocalFun, M2},
 {compressed, lists:duplicate(1000, {hello, world}), [compressed]},
 {mixed, {[{total, 123}, {processes, 45}], #{pid => self(), ref => make_ref()}}, M2}]
end`

// goldenScript prints every golden term as "Name Hex", then reads back the
// Go re-encodings as "Name Hex" lines and reports for each whether
// binary_to_term of the Go bytes =:= the original term and whether the
// bytes are identical.
const goldenScript = `
Terms = ` + goldenTerms + `,
lists:foreach(fun({N, T, O}) -> io:format("~s ~s~n", [N, binary:encode_hex(term_to_binary(T, O))]) end, Terms),
io:format("END~n"),
lists:foreach(fun({N, T, O}) ->
    [GoName, Hex] = string:split(string:trim(io:get_line("")), " "),
    N = list_to_atom(GoName),
    GoBin = binary:decode_hex(list_to_binary(Hex)),
    Same = (catch binary_to_term(GoBin)) =:= T,
    Identical = GoBin =:= term_to_binary(T, O),
    io:format("~s ~p ~p~n", [N, Same, Identical])
  end, Terms)
`

// notIdentical lists the terms whose Go encoding may differ in bytes from
// Erlang's while still being =:=, and why.
var notIdentical = map[string]string{
	"float_old":       "Go writes NEW_FLOAT_EXT, not the old text float",
	"atom_latin1_tag": "OTP 25's default minor_version 1 writes Latin-1 atoms as ATOM_EXT; Go writes UTF-8",
	"compressed":      "Go does not compress",
}

// TestGoldenVectors has a real Erlang encode every tag, decodes the bytes in
// Go, re-encodes them, and has Erlang check the result =:= the original.
func TestGoldenVectors(t *testing.T) {
	t.Parallel()
	testnode.ErlPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "erl", "-noshell", "-eval",
		"try\n"+goldenScript+"\ncatch C:R:S -> io:format(\"FAIL ~p:~p ~p~n\", [C, R, S]) end, halt().")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.Dir = t.TempDir() // where a crash dump would land
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Wait() }()
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 1<<20), 16<<20)

	decoded := map[string]Term{}
	var names []string
	var answer strings.Builder
	for lines.Scan() {
		line := lines.Text()
		if line == "END" {
			break
		}
		name, hexText, ok := strings.Cut(line, " ")
		require.True(t, ok && !strings.HasPrefix(line, "FAIL"), "bad line from erl: %q", line)
		b, err := hex.DecodeString(hexText)
		require.NoError(t, err)
		term, err := Decode(b)
		require.NoError(t, err, "decode %s", name)
		decoded[name] = term
		names = append(names, name)
		enc, err := Encode(term)
		require.NoError(t, err, "encode %s", name)
		fmt.Fprintf(&answer, "%s %s\n", name, strings.ToUpper(hex.EncodeToString(enc)))
	}
	require.NotEmpty(t, names, "erl printed no terms; stderr: %s", stderr.String())
	_, err = io.WriteString(stdin, answer.String())
	require.NoError(t, err)
	require.NoError(t, stdin.Close())

	for lines.Scan() {
		f := strings.Fields(lines.Text())
		require.Len(t, f, 3, "bad result line %q", lines.Text())
		name, same, identical := f[0], f[1] == "true", f[2] == "true"
		require.True(t, same, "%s: Erlang's binary_to_term of the Go encoding is not =:= the original", name)
		if _, ok := notIdentical[name]; !ok {
			require.True(t, identical, "%s: Go's encoding differs in bytes from term_to_binary", name)
		}
		delete(decoded, name)
	}
	require.Empty(t, decoded, "Erlang did not check these terms; stderr: %s", stderr.String())
	require.Empty(t, stderr.String())
}

// TestGoldenValues checks that the golden terms decode to the expected Go
// values.
func TestGoldenValues(t *testing.T) {
	t.Parallel()
	script := `lists:foreach(fun({N, T, O}) -> io:format("~s ~s~n", [N, binary:encode_hex(term_to_binary(T, O))]) end, ` +
		goldenTerms + `)`
	out := testnode.Eval(t, script)
	got := map[string]Term{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		name, hexText, _ := strings.Cut(line, " ")
		b, err := hex.DecodeString(hexText)
		require.NoError(t, err)
		got[name], err = Decode(b)
		require.NoError(t, err, name)
	}
	big1000, _ := new(big.Int).SetString(strings.Repeat("7", 1000), 10)
	two64, _ := new(big.Int).SetString("18446744073709551616", 10)
	tests := []struct {
		name string
		want Term
	}{
		{"int_0", int64(0)},
		{"int_neg1", int64(-1)},
		{"int_max32", int64(math.MaxInt32)},
		{"int_2_31", int64(1 << 31)},
		{"int_max64", int64(math.MaxInt64)},
		{"int_min64", int64(math.MinInt64)},
		{"int_2_64", two64},
		{"big_1000_digits", big1000},
		{"float_neg0", math.Copysign(0, -1)},
		{"float_old", 1.5},
		{"atom_utf8", Atom("héllo")},
		{"atom_cjk", Atom("日本")},
		{"atom_latin1_tag", Atom("héllo")},
		{"bin_empty", []byte{}},
		{"bits_3", BitBinary{Bytes: []byte{0x20}, Bits: 3}},
		{"str_abc", String("abc")},
		{"str_unicode", List{int64(1000), int64(2000)}},
		{"improper", ImproperList{Elems: []Term{Atom("a")}, Tail: Atom("b")}},
		{"tuple", Tuple{Atom("ok"), int64(1)}},
		{"map_keys", Map{
			{Key: Tuple{Atom("k"), int64(1)}, Value: int64(1)}, {Key: List{Atom("a")}, Value: int64(2)},
			{Key: Map{{Key: Atom("x"), Value: int64(1)}}, Value: int64(3)}, {Key: []byte("b"), Value: int64(4)},
		}},
		{"export", Export{Module: "lists", Function: "map", Arity: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Contains(t, got, tc.name)
			require.True(t, Equal(tc.want, got[tc.name]), "got %#v, want %#v", got[tc.name], tc.want)
		})
	}
	require.IsType(t, Pid{}, got["pid"])
	require.IsType(t, Port{}, got["port"])
	require.IsType(t, Ref{}, got["ref"])
	require.IsType(t, Fun{}, got["local_fun"])
	require.Len(t, got["local_fun"].(Fun).FreeVars, 1)
	require.Len(t, got["compressed"], 1000)
	require.Len(t, got["map_40"], 40)
	require.Len(t, got["str_long"], 70000)
}
