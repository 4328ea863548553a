package termtext

import (
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/etf"
)

func TestFormatElixir(t *testing.T) {
	local := Options{LocalNode: "a@h"}
	tests := []struct {
		name string
		in   etf.Term
		want string
	}{
		{"alias", etf.Atom("Elixir.MyApp.Worker"), "MyApp.Worker"},
		{"atom", etf.Atom("ok"), ":ok"},
		{"quoted atom", etf.Atom("with space"), `:"with space"`},
		{"nil", etf.Atom("nil"), "nil"},
		{"bool", true, "true"},
		{"string", []byte("héllo \"x\" #{y}"), `"héllo \"x\" \#{y}"`},
		{"bytes", []byte{0, 1, 255}, "<<0, 1, 255>>"},
		{"charlist", etf.List{int64('a'), int64('b')}, `~c"ab"`},
		{"list", etf.List{int64(1), int64(2)}, "[1, 2]"},
		{"improper", etf.ImproperList{Elems: []etf.Term{int64(1)}, Tail: int64(2)}, "[1 | 2]"},
		{"keyword", etf.List{etf.Tuple{etf.Atom("a"), int64(1)}, etf.Tuple{etf.Atom("b"), []byte("x")}}, `[a: 1, b: "x"]`},
		{"tuple", etf.Tuple{etf.Atom("ok"), int64(3)}, "{:ok, 3}"},
		{"map", etf.Map{{Key: etf.Atom("user_id"), Value: int64(42)}, {Key: []byte("k"), Value: 1.5}}, `%{user_id: 42, "k" => 1.5}`},
		{"pid", etf.Pid{Node: "a@h", ID: 109}, "#PID<0.109.0>"},
		{"remote pid", etf.Pid{Node: "b@h", ID: 7, Serial: 1}, "#PID<b@h.7.1>"},
		{"export", etf.Export{Module: "Elixir.Process", Function: "sleep", Arity: 1}, "&Process.sleep/1"},
		{"bignum", new(big.Int).Lsh(big.NewInt(1), 70), "1180591620717411303424"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, FormatElixir(tt.in, local), tt.name)
	}
	long := make(etf.List, 100000)
	for i := range long {
		long[i] = etf.Tuple{int64(i)}
	}
	s := FormatElixir(long, Options{MaxBytes: 1000})
	require.LessOrEqual(t, len(s), 1003, "bounded")
	require.True(t, strings.HasSuffix(s, "..."))
}

func TestElixirName(t *testing.T) {
	for in, want := range map[string]string{
		"'Elixir.Process':sleep/1":   "Process.sleep/1",
		"gen_server:loop/7":          ":gen_server.loop/7",
		"Elixir.MyApp.Worker":        "MyApp.Worker",
		"code_server":                ":code_server",
		"'Elixir.MyApp.W':'do it'/2": `MyApp.W."do it"/2`,
		"<0.54.0>":                   "<0.54.0>",
		"":                           "",
	} {
		require.Equal(t, want, ElixirName(in), in)
	}
}
