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

// goldenTerms is an Erlang list of {Name, Term, Bytes}: every tag OTP 25-27
// writes, the edge values around each size boundary, and hand-written
// bytes of the old tags that binary_to_term still reads (Bytes is then the
// hand-written binary and Term what binary_to_term makes of it). Enc(N, T)
// uses minor_version 2 (OTP 26's default), which writes every atom as
// UTF-8, as the distribution wire does.
const goldenTerms = `begin
M2 = [{minor_version, 2}],
Enc = fun(N, T) -> {N, T, term_to_binary(T, M2)} end,
Opt = fun(N, T, Opts) -> {N, T, term_to_binary(T, Opts)} end,
Raw = fun(N, Bin) -> {N, binary_to_term(Bin), Bin} end,
Big1000 = list_to_integer(lists:duplicate(1000, $7)),
Y = 42,
LocalFun = fun(X) -> X + Y end,
Env = #{pid => self(), list => [1, 2]},
EnvFun = fun() -> {Env, Y} end,
Deep = lists:foldl(fun(_, Acc) -> [Acc] end, [], lists:seq(1, 1000)),
[Enc(int_0, 0), Enc(int_neg1, -1), Enc(int_255, 255), Enc(int_256, 256), Enc(int_neg256, -256),
 Enc(int_min32, -2147483648), Enc(int_max32, 2147483647), Enc(int_2_31, 2147483648), Enc(int_min32_minus1, -2147483649),
 Enc(int_max64, 9223372036854775807), Enc(int_2_63, 9223372036854775808),
 Enc(int_min64, -9223372036854775808), Enc(int_min64_minus1, -9223372036854775809),
 Enc(int_2_64, 18446744073709551616), Enc(big_1000_digits, Big1000), Enc(big_neg, -Big1000),
 Enc(float_0, 0.0), Enc(float_neg0, -0.0), Enc(float_big, 1.5e300), Enc(float_tiny, 5.0e-324),
 Enc(float_pi, 3.141592653589793), Opt(float_old, 1.5, [{minor_version, 0}]),
 Enc(atom_ok, ok), Enc(atom_empty, ''), Enc(atom_utf8, 'héllo'), Enc(atom_cjk, '日本'),
 Enc(atom_255, list_to_atom(lists:duplicate(255, $a))), Enc(atom_255_cjk, list_to_atom(lists:duplicate(255, 16#65E5))),
 Opt(atom_latin1_small, 'héllo', []), Opt(atom_latin1_old, {ok, 'héllo'}, [{minor_version, 0}]), Enc(atom_true, true),
 Enc(bin_empty, <<>>), Enc(bin_text, <<"hello">>), Enc(bin_bytes, <<0, 1, 255>>), Enc(bin_100k, binary:copy(<<"ab">>, 50000)),
 Enc(bits_3, <<1:3>>), Enc(bits_11, <<5, 1:3>>),
 Enc(str_empty, ""), Enc(str_abc, "abc"), Enc(str_unicode, [1000, 2000]), Enc(str_long, lists:duplicate(70000, $x)),
 Enc(list, [a, 1, <<"b">>]), Enc(improper, [a | b]), Enc(improper_long, [1, 2 | 3]), Enc(list_deep, Deep),
 Enc(tuple_empty, {}), Enc(tuple, {ok, 1}), Enc(tuple_300, list_to_tuple(lists:seq(1, 300))),
 Enc(map_empty, #{}), Enc(map_keys, #{{k, 1} => 1, [a] => 2, #{x => 1} => 3, <<"b">> => 4}),
 Enc(map_nested, #{a => #{b => #{c => [1, 2, 3]}}}),
 Enc(map_40, maps:from_list([{K, K * K} || K <- lists:seq(1, 40)])),
 Enc(map_40_mixed_keys, maps:from_list([{{K, [K]}, K} || K <- lists:seq(1, 20)] ++ [{integer_to_binary(K), K} || K <- lists:seq(1, 20)])),
 Enc(pid, self()), Opt(pid_default_opts, self(), []), Enc(port, hd(erlang:ports())), Enc(ref, make_ref()), Enc(alias_ref, alias()),
 Enc(export, fun lists:map/2), Enc(local_fun, LocalFun), Enc(env_fun, EnvFun),
 Opt(compressed, lists:duplicate(1000, {hello, world}), [compressed]),
 Opt(compressed_map, maps:from_list([{K, <<"value">>} || K <- lists:seq(1, 100)]), [compressed]),
 Enc(mixed, {[{total, 123}, {processes, 45}], #{pid => self(), ref => make_ref()}}),
 Raw(raw_pid_ext, <<131, 103, 100, 0, 3, "a@b", 0, 0, 0, 5, 0, 0, 0, 1, 3>>),
 Raw(raw_port_ext, <<131, 102, 100, 0, 3, "a@b", 0, 0, 0, 7, 2>>),
 Raw(raw_v4_port_ext, <<131, 120, 119, 3, "a@b", 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 9>>),
 Raw(raw_new_reference_ext, <<131, 114, 0, 3, 100, 0, 3, "a@b", 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3>>),
 Raw(raw_reference_ext, <<131, 101, 100, 0, 3, "a@b", 0, 0, 0, 42, 1>>),
 Raw(raw_small_atom_latin1, <<131, 115, 1, 255>>),
 Raw(raw_small_big_small_value, <<131, 110, 9, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0>>),
 Raw(raw_bit_binary_8, <<131, 77, 0, 0, 0, 1, 8, 255>>),
 Raw(raw_bit_binary_dirty, <<131, 77, 0, 0, 0, 1, 3, 255>>),
 Raw(raw_list_tail_string, <<131, 108, 0, 0, 0, 1, 97, 1, 107, 0, 1, 2>>)]
end`

// goldenScript prints every golden term as "Name Hex" and "END", then
// reads back the Go re-encodings as "Name Hex" lines and prints, for each,
// whether binary_to_term of the Go bytes =:= the original term and whether
// the bytes are identical to Erlang's. One VM does both halves, so pids,
// refs and funs compare against the very terms they came from.
const goldenScript = `
Terms = ` + goldenTerms + `,
lists:foreach(fun({N, _, B}) -> io:format("~s ~s~n", [N, binary:encode_hex(B)]) end, Terms),
io:format("END~n"),
lists:foreach(fun({N, T, B}) ->
    [GoName, Hex] = string:split(string:trim(io:get_line("")), " "),
    N = list_to_atom(GoName),
    GoBin = binary:decode_hex(list_to_binary(Hex)),
    Same = (catch binary_to_term(GoBin)) =:= T,
    Identical = GoBin =:= B,
    io:format("~s ~p ~p~n", [N, Same, Identical])
  end, Terms)
`

// notIdentical lists the golden terms whose Go encoding differs in bytes
// from Erlang's while still being =:=, and why. Every raw_ entry is
// non-canonical on purpose and is expected to differ too.
var notIdentical = map[string]string{
	"float_old":            "Go writes NEW_FLOAT_EXT, not the old text float",
	"atom_latin1_small":    "OTP 25's default minor_version 1 writes Latin-1 atoms as SMALL_ATOM_EXT; Go always writes UTF-8",
	"atom_latin1_old":      "minor_version 0 writes ATOM_EXT; Go always writes UTF-8",
	"pid_default_opts":     "minor_version 1 writes the node as a Latin-1 atom; Go always writes UTF-8",
	"compressed":           "Go does not compress",
	"compressed_map":       "Go does not compress",
	"raw_bit_binary_8":     "Go writes a whole-byte bitstring as BINARY_EXT, as OTP does",
	"raw_list_tail_string": "Go writes one flat LIST_EXT",
}

// goldenWant says what each golden term decodes to in Go: the exact value,
// or (when exact is false) a value of the expected Go type.
func goldenWant() map[string]struct {
	want  Term
	exact bool
} {
	bigOf := func(s string) *big.Int {
		z, ok := new(big.Int).SetString(s, 10)
		if !ok {
			panic(s)
		}
		return z
	}
	big1000 := bigOf(strings.Repeat("7", 1000))
	seq := func(from, to int) Tuple {
		t := Tuple{}
		for i := from; i <= to; i++ {
			t = append(t, int64(i))
		}
		return t
	}
	ab := []byte(strings.Repeat("ab", 50000))
	xs := make(List, 70000) // longer than STRING_EXT can hold
	for i := range xs {
		xs[i] = int64('x')
	}
	type want = struct {
		want  Term
		exact bool
	}
	return map[string]want{
		"int_0": {int64(0), true}, "int_neg1": {int64(-1), true}, "int_255": {int64(255), true},
		"int_256": {int64(256), true}, "int_neg256": {int64(-256), true},
		"int_min32": {int64(math.MinInt32), true}, "int_max32": {int64(math.MaxInt32), true},
		"int_2_31": {int64(1 << 31), true}, "int_min32_minus1": {int64(math.MinInt32 - 1), true},
		"int_max64": {int64(math.MaxInt64), true}, "int_2_63": {bigOf("9223372036854775808"), true},
		"int_min64": {int64(math.MinInt64), true}, "int_min64_minus1": {bigOf("-9223372036854775809"), true},
		"int_2_64":        {bigOf("18446744073709551616"), true},
		"big_1000_digits": {big1000, true}, "big_neg": {new(big.Int).Neg(big1000), true},
		"float_0": {0.0, true}, "float_neg0": {math.Copysign(0, -1), true}, "float_big": {1.5e300, true},
		"float_tiny": {5e-324, true}, "float_pi": {math.Pi, true}, "float_old": {1.5, true},
		"atom_ok": {OK, true}, "atom_empty": {Atom(""), true}, "atom_utf8": {Atom("héllo"), true},
		"atom_cjk": {Atom("日本"), true}, "atom_255": {Atom(strings.Repeat("a", 255)), true},
		"atom_255_cjk": {Atom(strings.Repeat("日", 255)), true}, "atom_latin1_small": {Atom("héllo"), true},
		"atom_latin1_old": {Tuple{OK, Atom("héllo")}, true}, "atom_true": {True, true},
		"bin_empty": {[]byte{}, true}, "bin_text": {[]byte("hello"), true}, "bin_bytes": {[]byte{0, 1, 255}, true},
		"bin_100k": {ab, true}, "bits_3": {BitBinary{Bytes: []byte{0x20}, Bits: 3}, true},
		"bits_11":   {BitBinary{Bytes: []byte{5, 0x20}, Bits: 3}, true},
		"str_empty": {List(nil), true}, "str_abc": {String("abc"), true},
		"str_unicode": {List{int64(1000), int64(2000)}, true}, "str_long": {xs, true},
		"list":          {List{Atom("a"), int64(1), []byte("b")}, true},
		"improper":      {ImproperList{Elems: []Term{Atom("a")}, Tail: Atom("b")}, true},
		"improper_long": {ImproperList{Elems: []Term{int64(1), int64(2)}, Tail: int64(3)}, true},
		"list_deep":     {List{}, false},
		"tuple_empty":   {Tuple{}, true}, "tuple": {Tuple{OK, int64(1)}, true}, "tuple_300": {seq(1, 300), true},
		"map_empty": {Map{}, true},
		"map_keys": {Map{
			{Key: Tuple{Atom("k"), int64(1)}, Value: int64(1)}, {Key: List{Atom("a")}, Value: int64(2)},
			{Key: Map{{Key: Atom("x"), Value: int64(1)}}, Value: int64(3)}, {Key: []byte("b"), Value: int64(4)},
		}, true},
		"map_nested":        {Map{{Key: Atom("a"), Value: Map{{Key: Atom("b"), Value: Map{{Key: Atom("c"), Value: String("\x01\x02\x03")}}}}}}, true},
		"map_40":            {Map{}, false},
		"map_40_mixed_keys": {Map{}, false},
		"pid":               {Pid{}, false}, "pid_default_opts": {Pid{}, false}, "port": {Port{}, false},
		"ref": {Ref{}, false}, "alias_ref": {Ref{}, false},
		"export":    {Export{Module: "lists", Function: "map", Arity: 2}, true},
		"local_fun": {Fun{}, false}, "env_fun": {Fun{}, false},
		"compressed": {List{}, false}, "compressed_map": {Map{}, false}, "mixed": {Tuple{}, false},
		"raw_pid_ext":               {Pid{Node: "a@b", ID: 5, Serial: 1, Creation: 3}, true},
		"raw_port_ext":              {Port{Node: "a@b", ID: 7, Creation: 2}, true},
		"raw_v4_port_ext":           {Port{Node: "a@b", ID: 1<<32 + 5, Creation: 9}, true},
		"raw_new_reference_ext":     {Ref{Node: "a@b", Creation: 1, Len: 3, ID: [MaxRefWords]uint32{1, 2, 3}}, true},
		"raw_reference_ext":         {Ref{Node: "a@b", Creation: 1, Len: 1, ID: [MaxRefWords]uint32{42}}, true},
		"raw_small_atom_latin1":     {Atom("ÿ"), true},
		"raw_small_big_small_value": {int64(-1), true},
		"raw_bit_binary_8":          {[]byte{255}, true},
		"raw_bit_binary_dirty":      {BitBinary{Bytes: []byte{0xe0}, Bits: 3}, true},
		"raw_list_tail_string":      {List{int64(1), int64(2)}, true},
	}
}

// TestGolden has a real Erlang write every golden term, decodes the bytes
// in Go and checks the values, re-encodes them, and has the same Erlang
// check that binary_to_term of each Go encoding is =:= the original (and,
// where OTP's encoding is canonical, byte-identical to it).
func TestGolden(t *testing.T) {
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
	var answer strings.Builder
	for lines.Scan() {
		line := lines.Text()
		if line == "END" {
			break
		}
		name, hexText, ok := strings.Cut(line, " ")
		require.True(t, ok && !strings.HasPrefix(line, "FAIL"), "bad line from erl: %q", line)
		b, err := hex.DecodeString(hexText)
		require.NoError(t, err, "bad line from erl: %q", line)
		term, err := Decode(b)
		require.NoError(t, err, "decode %s", name)
		decoded[name] = term
		enc, err := Encode(term)
		require.NoError(t, err, "encode %s", name)
		fmt.Fprintf(&answer, "%s %s\n", name, strings.ToUpper(hex.EncodeToString(enc)))
	}
	require.NotEmpty(t, decoded, "erl printed no terms; stderr: %s", stderr.String())
	_, err = io.WriteString(stdin, answer.String())
	require.NoError(t, err)
	require.NoError(t, stdin.Close())

	checked := map[string]bool{}
	for lines.Scan() {
		f := strings.Fields(lines.Text())
		require.Len(t, f, 3, "bad result line %q", lines.Text())
		name, same, identical := f[0], f[1] == "true", f[2] == "true"
		require.True(t, same, "%s: Erlang's binary_to_term of the Go encoding is not =:= the original", name)
		_, listed := notIdentical[name]
		require.True(t, identical || listed || strings.HasPrefix(name, "raw_"),
			"%s: Go's encoding differs in bytes from term_to_binary", name)
		require.False(t, identical && listed, "%s: Go's encoding is byte-identical after all: update notIdentical", name)
		checked[name] = true
	}
	require.Len(t, checked, len(decoded), "Erlang did not check every term; stderr: %s", stderr.String())
	require.Empty(t, stderr.String())

	wants := goldenWant()
	require.Len(t, wants, len(decoded), "goldenWant and goldenTerms list other names")
	for name, w := range wants {
		t.Run(name, func(t *testing.T) {
			got, ok := decoded[name]
			require.True(t, ok, "Erlang printed no %s", name)
			require.IsType(t, w.want, got)
			if w.exact {
				require.True(t, Equal(w.want, got), "got %#v, want %#v", got, w.want)
			}
		})
	}
	require.Len(t, decoded["local_fun"].(Fun).FreeVars, 1, "Y")
	require.Len(t, decoded["compressed"], 1000)
	require.Len(t, decoded["map_40"], 40)
	require.Len(t, decoded["compressed_map"], 100)
}
