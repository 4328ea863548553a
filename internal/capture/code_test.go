package capture

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/testnode"
)

func TestDiff(t *testing.T) {
	tests := []struct {
		name      string
		prev, cur Modules
		want      []Change
	}{
		{"same", Modules{"a": "1"}, Modules{"a": "1"}, nil},
		{"loaded", Modules{}, Modules{"a": "1"}, []Change{{Module: "a", Kind: "loaded", NewMD5: "1"}}},
		{"reloaded", Modules{"a": "1"}, Modules{"a": "2"}, []Change{{Module: "a", Kind: "reloaded", OldMD5: "1", NewMD5: "2"}}},
		{"deleted", Modules{"a": "1", "b": "2"}, Modules{"b": "2"}, []Change{{Module: "a", Kind: "deleted", OldMD5: "1"}}},
		{"purged", Modules{"a": "1+old"}, Modules{"a": "1"}, []Change{{Module: "a", Kind: "purged", NewMD5: "1"}}},
		{"old code appears", Modules{"a": "1"}, Modules{"a": "1+old"}, nil},
		{"reloaded with old code", Modules{"a": "1"}, Modules{"a": "2+old"}, []Change{{Module: "a", Kind: "reloaded", OldMD5: "1", NewMD5: "2"}}},
		{"sorted", Modules{"b": "1"}, Modules{"a": "1", "c": "1"}, []Change{
			{Module: "a", Kind: "loaded", NewMD5: "1"}, {Module: "b", Kind: "deleted", OldMD5: "1"}, {Module: "c", Kind: "loaded", NewMD5: "1"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, Diff(tc.prev, tc.cur)) })
	}
}

func TestLoadedModules(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	ctx := context.Background()
	c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	defer c.Close()
	mods, err := LoadedModules(ctx, c)
	require.NoError(t, err)
	require.Greater(t, len(mods), 50)
	r, err := c.Call(ctx, "lists", "module_info", etf.Atom("md5"))
	require.NoError(t, err)
	require.Len(t, mods["lists"], 32)
	require.Equal(t, mods["lists"], hexOf(r.([]byte)))
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
