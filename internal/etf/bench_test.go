package etf

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/beamctl/beamctl/internal/testnode"
)

// Realistic rpc replies, built by a real Erlang VM in each benchmark.
const (
	memoryExpr = "erlang:memory()"
	// What a process listing over processListLen processes ships if done
	// naively.
	processListExpr = `[{list_to_pid("<0." ++ integer_to_list(I) ++ ".0>"),
	   [{memory, 2688 + I}, {reductions, I * 1000}, {message_queue_len, I rem 7},
	    {registered_name, list_to_atom("proc_" ++ integer_to_list(I rem 100))},
	    {current_function, {gen_server, loop, 7}}]} || I <- lists:seq(1, 10000)]`
)

// processListLen is the length of processListExpr's list.
const processListLen = 10000

// requireTerm checks the benchmark's precondition: bin holds the reply
// expr builds (a list of at least 9 {Atom, Integer} for the memory reply,
// one of processListLen {Pid, Info} for the process list), and Go's
// encoding of it decodes to the same term. It returns the term.
func requireTerm(b *testing.B, expr string, bin []byte) Term {
	b.Helper()
	term, err := Decode(bin)
	if err != nil {
		b.Fatal(err)
	}
	l, err := ToList(term)
	if err != nil {
		b.Fatalf("%s is not a list: %v", expr, err)
	}
	if want := 9; expr == memoryExpr && len(l) < want {
		b.Fatalf("%s has %d elements, want at least %d", expr, len(l), want)
	}
	if expr == processListExpr && len(l) != processListLen {
		b.Fatalf("%s has %d elements, want %d", expr, len(l), processListLen)
	}
	for _, e := range l {
		t, err := ToTuple(e, 2)
		if err != nil {
			b.Fatalf("%s: element %v: %v", expr, e, err)
		}
		if _, ok := t[0].(Atom); expr == memoryExpr && !ok {
			b.Fatalf("%s: element %v is not {Atom, Integer}", expr, e)
		}
		if _, ok := t[0].(Pid); expr == processListExpr && !ok {
			b.Fatalf("%s: element %v is not {Pid, Info}", expr, e)
		}
	}
	enc, err := Append(nil, term)
	if err != nil {
		b.Fatal(err)
	}
	back, err := Decode(enc)
	if err != nil || !Equal(back, term) {
		b.Fatalf("Go's encoding of %s does not decode to the same term: %v", expr, err)
	}
	return term
}

// anchorModule times the VM's own codec in compiled code, so that the
// anchor carries no interpreter overhead. It prints decode ns/op, encode
// ns/op and the bytes, which the Go side then decodes.
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

// erlangAnchor has a real VM build the term of expr and time its own
// binary_to_term and term_to_binary on it. It returns ns/op of each and
// the bytes.
func erlangAnchor(b *testing.B, expr string) (decodeNs, encodeNs float64, bin []byte) {
	b.Helper()
	dir := testnode.Compile(b, "etf_anchor", anchorModule)
	f := strings.Fields(testnode.Eval(b, fmt.Sprintf("etf_anchor:run(%s)", expr), "-pa", dir))
	if len(f) != 3 {
		b.Fatalf("anchor printed %v", f)
	}
	var err error
	if decodeNs, err = strconv.ParseFloat(f[0], 64); err != nil {
		b.Fatal(err)
	}
	if encodeNs, err = strconv.ParseFloat(f[1], 64); err != nil {
		b.Fatal(err)
	}
	if bin, err = hex.DecodeString(f[2]); err != nil {
		b.Fatal(err)
	}
	return decodeNs, encodeNs, bin
}

// reportAnchor reports the VM's ns/op and x_vs_erlang, the VM's time over
// Go's: above 1, Go is faster.
func reportAnchor(b *testing.B, erlangNs float64) {
	goNs := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(erlangNs, "erlang_ns/op")
	b.ReportMetric(erlangNs/goNs, "x_vs_erlang")
}

func benchDecode(b *testing.B, expr string) {
	erlangNs, _, bin := erlangAnchor(b, expr)
	requireTerm(b, expr, bin)
	b.SetBytes(int64(len(bin)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Decode(bin); err != nil {
			b.Fatal(err)
		}
	}
	reportAnchor(b, erlangNs)
}

func benchEncode(b *testing.B, expr string) {
	_, erlangNs, bin := erlangAnchor(b, expr)
	term := requireTerm(b, expr, bin)
	var err error
	b.SetBytes(int64(len(bin)))
	b.ReportAllocs()
	buf := make([]byte, 0, len(bin))
	b.ResetTimer()
	for b.Loop() {
		if buf, err = Append(buf[:0], term); err != nil {
			b.Fatal(err)
		}
	}
	reportAnchor(b, erlangNs)
}

// BenchmarkDecodeMemory decodes erlang:memory()'s reply.
func BenchmarkDecodeMemory(b *testing.B) { benchDecode(b, memoryExpr) }

// BenchmarkDecodeProcessList decodes a 10,000-process listing.
func BenchmarkDecodeProcessList(b *testing.B) { benchDecode(b, processListExpr) }

// BenchmarkEncodeMemory encodes erlang:memory()'s reply into a reused buffer.
func BenchmarkEncodeMemory(b *testing.B) { benchEncode(b, memoryExpr) }

// BenchmarkEncodeProcessList encodes a 10,000-process listing into a
// reused buffer.
func BenchmarkEncodeProcessList(b *testing.B) { benchEncode(b, processListExpr) }
