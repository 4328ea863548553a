package inspect

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/etf"
)

func TestElixirAtom(t *testing.T) {
	tests := []struct {
		in   string
		want etf.Atom
		ok   bool
	}{
		{"MyApp.Worker", "Elixir.MyApp.Worker", true},
		{"Enum", "Elixir.Enum", true},
		{":erlang", "erlang", true},
		{":my_server", "my_server", true},
		{":valid?", "valid?", true},
		{`:"with space"`, "with space", true},
		{"my_server", "", false},
		{"'Elixir.MyApp.Worker'", "", false},
		{"MyApp.worker", "", false},
		{"My App", "", false},
		{":", "", false},
		{`:""`, "", false},
	}
	for _, tt := range tests {
		got, ok := ElixirAtom(tt.in)
		require.Equal(t, tt.ok, ok, tt.in)
		require.Equal(t, tt.want, got, tt.in)
	}
	require.Equal(t, "Elixir.Enum", ModuleName("Enum"))
	require.Equal(t, "lists", ModuleName("lists"))
}

func TestParsePidElixir(t *testing.T) {
	const node = "a@h"
	p, err := ParsePid("#PID<0.109.0>", node)
	require.NoError(t, err)
	pid := p.(etf.Pid)
	require.Equal(t, etf.Atom(node), pid.Node)
	require.Equal(t, uint32(109), pid.ID)
	n, err := ParsePid("MyApp.Worker", node)
	require.NoError(t, err)
	require.Equal(t, RegName("Elixir.MyApp.Worker"), n)
	n, err = ParsePid(":my_server", node)
	require.NoError(t, err)
	require.Equal(t, RegName("my_server"), n)
}
