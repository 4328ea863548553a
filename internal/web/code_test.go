package web

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFamilyCode: the comparison of a family's code from the server's
// readings: a module in two versions (old code on one node), a module
// loaded on one node only (no news), an application on some nodes only or
// in another version, a node not read yet, and the node cap.
func TestFamilyCode(t *testing.T) {
	const a, b, c, d = "a@h", "b@h", "c@h", "d@h"
	m := model{
		nodes: []Node{
			{Cluster: "k", Node: a, State: "up", Family: "rel/1", OTPRelease: "26"},
			{Cluster: "k", Node: b, State: "up", Family: "rel/1", OTPRelease: "26"},
			{Cluster: "k", Node: c, State: "down", Family: "rel/1", OTPRelease: "25"},
			{Cluster: "k", Node: d, State: "up", Family: "rel/1", OTPRelease: "26"},
			{Cluster: "k", Node: "e@h", State: "up", Family: "other"},
		},
		code: map[string]NodeCode{
			a: {Modules: map[string]string{"lists": "l1", "patched": "p1", "lonely": "x"}, Apps: map[string]string{"kernel": "9", "sasl": "4"}, Release: "rel 1"},
			b: {Modules: map[string]string{"lists": "l1", "patched": "p2+old"}, Apps: map[string]string{"kernel": "9"}, Release: "rel 1"},
			c: {Modules: map[string]string{"lists": "l1", "patched": "p1"}, Apps: map[string]string{"kernel": "8"}, Release: "rel 1"},
			// d: connected, not read yet.
		},
	}
	srv, _, _ := newServer(t, m)
	var fc FamilyCode
	status, msg := get(t, srv, "/api/v1/families/k/"+url.PathEscape("rel/1")+"/code", &fc)
	require.Equal(t, http.StatusOK, status, msg)
	require.Equal(t, []CodeNode{
		{Node: a, State: "up", OTPRelease: "26", Release: "rel 1", Read: true},
		{Node: b, State: "up", OTPRelease: "26", Release: "rel 1", Read: true},
		{Node: c, State: "down", OTPRelease: "25", Release: "rel 1", Read: true},
		{Node: d, State: "up", OTPRelease: "26"},
	}, fc.Nodes)
	require.Equal(t, 4, fc.NodesTotal)
	require.Equal(t, []ModuleDiff{{Module: "patched", MD5: map[string]string{a: "p1", b: "p2", c: "p1"}, Old: []string{b}, Versions: 2}}, fc.Modules)
	require.Equal(t, 2, fc.ModulesCompared) // lists and patched; lonely is on a only
	require.Equal(t, 1, fc.ModulesSame)
	require.Equal(t, []AppVersions{
		{Application: "kernel", Versions: map[string]string{a: "9", b: "9", c: "8"}, Differs: true},
		{Application: "sasl", Versions: map[string]string{a: "4"}, Differs: true},
	}, fc.Apps)

	status, msg = get(t, srv, "/api/v1/families/k/nosuch/code", nil)
	require.Equal(t, http.StatusNotFound, status)
	require.Equal(t, `cluster "k" has no family "nosuch"`, msg)

	// A family wider than the cap: the first maxCodeNodes nodes, by name.
	var big model
	big.code = map[string]NodeCode{}
	for i := range maxCodeNodes + 5 {
		n := fmt.Sprintf("n%03d@h", i)
		big.nodes = append(big.nodes, Node{Cluster: "k", Node: n, State: "up", Family: "f"})
		big.code[n] = NodeCode{Modules: map[string]string{"m": "same"}}
	}
	srv, _, _ = newServer(t, big)
	status, msg = get(t, srv, "/api/v1/families/k/f/code", &fc)
	require.Equal(t, http.StatusOK, status, msg)
	require.Len(t, fc.Nodes, maxCodeNodes)
	require.Equal(t, maxCodeNodes+5, fc.NodesTotal)
	require.Equal(t, "n099@h", fc.Nodes[maxCodeNodes-1].Node)
	require.Empty(t, fc.Modules)
	require.Equal(t, 1, fc.ModulesSame)
}
