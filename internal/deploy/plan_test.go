package deploy

import (
	"encoding/binary"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func nodes(spec map[string]string) []NodePlan {
	var out []NodePlan
	for n, dc := range spec {
		ls := map[string]string{}
		if dc != "" {
			ls["dc"] = dc
		}
		out = append(out, NodePlan{Node: n, Labels: ls})
	}
	return out
}

func TestCutWaves(t *testing.T) {
	type w = []string
	tests := []struct {
		name  string
		nodes map[string]string
		want  [][]string
		names []string
	}{
		{"two DCs of three", map[string]string{"a1": "a", "a2": "a", "a3": "a", "b1": "b", "b2": "b", "b3": "b"},
			[][]string{w{"a1"}, w{"a2"}, w{"a3"}, w{"b1"}, w{"b2", "b3"}},
			[]string{"canary", "slice of dc=a", "dc=a", "slice of dc=b", "all"}},
		{"one node", map[string]string{"a1": "a"}, [][]string{w{"a1"}}, []string{"canary"}},
		{"no labels", map[string]string{"n1": "", "n2": "", "n3": "", "n4": "", "n5": ""},
			[][]string{w{"n1"}, w{"n2", "n3"}, w{"n4", "n5"}},
			[]string{"canary", "slice of nodes without dc", "nodes without dc"}},
		{"three DCs, one of one", map[string]string{"a1": "a", "a2": "a", "b1": "b", "c1": "c", "c2": "c", "c3": "c", "c4": "c", "c5": "c", "c6": "c"},
			[][]string{w{"a1"}, w{"a2"}, w{"c1", "c2"}, w{"b1", "c3", "c4", "c5", "c6"}},
			[]string{"canary", "dc=a", "slice of dc=c", "all"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			waves := CutWaves(nodes(tt.nodes), "dc")
			var got [][]string
			var names []string
			for _, wv := range waves {
				got = append(got, wv.Nodes)
				names = append(names, wv.Name)
				require.Equal(t, "pending", wv.State)
			}
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.names, names)
		})
	}
}

func TestParseBeam(t *testing.T) {
	b, err := os.ReadFile("../inspect/beamctl_agent.beam")
	require.NoError(t, err)
	info, err := ParseBeam(b)
	require.NoError(t, err)
	require.Equal(t, "beamctl_agent", info.Module)
	require.Regexp(t, `^8\.2\.`, info.Compiler, "compiled with OTP 25's erlc")
	require.Equal(t, 25, info.MinOTP)

	bad := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "not a .beam file (no FOR1/BEAM header)"},
		{"text", []byte("-module(x).\n"), "not a .beam file (no FOR1/BEAM header)"},
		{"truncated", b[:len(b)/2], "not a .beam file (its size does not match its header)"},
	}
	for _, tt := range bad {
		_, err := ParseBeam(tt.b)
		require.EqualError(t, err, tt.want, tt.name)
	}
}

func TestMinOTP(t *testing.T) {
	for v, want := range map[string]int{"8.2.3": 25, "8.3.0": 26, "8.4.1": 26, "8.5.2": 27, "9.0": 28, "7.0": 0, "x": 0, "": 0, "8.1.1": 24} {
		require.Equal(t, want, minOTP(v), v)
	}
}

func TestGateExpr(t *testing.T) {
	require.Equal(t, `up{node=~"a@h\\.x|b@h"} == 0`, gateExpr(`up{node=~"$nodes"} == 0`, []string{"a@h.x", "b@h"}))
	require.Equal(t, `up{node=~"$^"}`, gateExpr(`up{node=~"$nodes"}`, nil))
}

// FuzzParseBeam: no input makes it panic or hang, and what it accepts has
// a module name.
func FuzzParseBeam(f *testing.F) {
	b, err := os.ReadFile("../inspect/beamctl_agent.beam")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:64])
	neg := append([]byte{}, b...)
	f.Add(neg)
	hdr := []byte("FOR1\x00\x00\x00\x14BEAMAtU8\x00\x00\x00\x06")
	f.Add(binary.BigEndian.AppendUint32(hdr, 0xffffffff))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := ParseBeam(b)
		if err == nil && info.Module == "" {
			t.Fatal("accepted without a module name")
		}
	})
}
