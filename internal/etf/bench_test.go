package etf

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/beamctl/beamctl/internal/testnode"
)

// benchTerms are realistic rpc replies, built by a real Erlang VM.
var benchTerms = []struct {
	name string
	expr string
}{
	{"memory", "erlang:memory()"},
	// What a top-N scan over 10,000 processes would ship if done naively.
	{"proclist10k", `[{list_to_pid("<0." ++ integer_to_list(I) ++ ".0>"),
	   [{memory, 2688 + I}, {reductions, I * 1000}, {message_queue_len, I rem 7},
	    {registered_name, list_to_atom("proc_" ++ integer_to_list(I rem 100))},
	    {current_function, {gen_server, loop, 7}}]} || I <- lists:seq(1, 10000)]`},
}

// anchorModule times the VM's own codec in compiled code, so that the
// anchor carries no interpreter overhead.
const anchorModule = `-module(etf_anchor).
-export([run/1]).
run(T) ->
    B = term_to_binary(T, [{minor_version, 2}]),
    N = max(20, 20000000 div byte_size(B)),
    {Dec, _} = timer:tc(fun() -> dec(N, B) end),
    {Enc, _} = timer:tc(fun() -> enc(N, T) end),
    io:format("~w ~w ~s~n", [Dec * 1000 / N, Enc * 1000 / N, binary:encode_hex(B)]).
dec(0, _) -> ok;
dec(K, B) -> _ = binary_to_term(B), dec(K - 1, B).
enc(0, _) -> ok;
enc(K, T) -> _ = term_to_binary(T, [{minor_version, 2}]), enc(K - 1, T).
`

// erlangCodecCost has the VM time its own binary_to_term and term_to_binary
// on the term, and returns ns/op for each with the term's bytes.
func erlangCodecCost(b *testing.B, expr string) (decodeNs, encodeNs float64, bin []byte) {
	b.Helper()
	dir := testnode.Compile(b, "etf_anchor", anchorModule)
	f := strings.Fields(testnode.Eval(b, fmt.Sprintf("etf_anchor:run(%s)", expr), "-pa", dir))
	if len(f) != 3 {
		b.Fatalf("anchor printed %v", f)
	}
	decodeNs, _ = strconv.ParseFloat(f[0], 64)
	encodeNs, _ = strconv.ParseFloat(f[1], 64)
	bin, err := hex.DecodeString(f[2])
	if err != nil {
		b.Fatal(err)
	}
	return decodeNs, encodeNs, bin
}

// BenchmarkDecode decodes realistic replies and compares with the real
// VM's binary_to_term on the same bytes, measured in the same run
// (x_vs_erlang > 1 means Go is faster).
func BenchmarkDecode(b *testing.B) {
	for _, bt := range benchTerms {
		b.Run(bt.name, func(b *testing.B) {
			erlNs, _, bin := erlangCodecCost(b, bt.expr)
			b.SetBytes(int64(len(bin)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := Decode(bin); err != nil {
					b.Fatal(err)
				}
			}
			goNs := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(erlNs, "erlang_ns/op")
			b.ReportMetric(erlNs/goNs, "x_vs_erlang")
		})
	}
}

// BenchmarkEncode encodes the same replies and compares with the VM's
// term_to_binary.
func BenchmarkEncode(b *testing.B) {
	for _, bt := range benchTerms {
		b.Run(bt.name, func(b *testing.B) {
			_, erlNs, bin := erlangCodecCost(b, bt.expr)
			term, err := Decode(bin)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(bin)))
			b.ReportAllocs()
			buf := make([]byte, 0, len(bin))
			b.ResetTimer()
			for b.Loop() {
				if buf, err = Append(buf[:0], term); err != nil {
					b.Fatal(err)
				}
			}
			goNs := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(erlNs, "erlang_ns/op")
			b.ReportMetric(erlNs/goNs, "x_vs_erlang")
		})
	}
}
