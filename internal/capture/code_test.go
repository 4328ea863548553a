package capture

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
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
	l, err := LoadedModules(ctx, c)
	require.NoError(t, err)
	mods := l.Modules
	require.Greater(t, len(mods), 50)
	require.Equal(t, From{Name: "preloaded"}, l.From["erlang"])
	require.True(t, l.From["lists"].IsFile)
	require.True(t, strings.HasSuffix(l.From["lists"].Name, "/ebin/lists.beam"), l.From["lists"].Name)
	r, err := c.Call(ctx, "lists", "module_info", etf.Atom("md5"))
	require.NoError(t, err)
	require.Len(t, mods["lists"], 32)
	require.Equal(t, mods["lists"], hexOf(r.([]byte)))
}

// TestLoadedDigest: the agent's digest of the loaded modules is the same
// while the node's code is, and changes when a module is loaded, when it
// is loaded again with other code (old code kept), and when the old code
// is purged.
func TestLoadedDigest(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	ctx := context.Background()
	c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	defer c.Close()
	_, err = inspect.EnsureAgent(ctx, c)
	require.NoError(t, err)
	read := func() string {
		d, err := LoadedDigest(ctx, c)
		require.NoError(t, err)
		return string(d)
	}
	load := func(v string) {
		_, err := inspect.EvalWith(ctx, c, compileLoad, map[string]etf.Term{
			"M": etf.Atom("beamctl_digest_probe"), "V": etf.String(v), "File": etf.String("/nowhere/beamctl_digest_probe.beam")})
		require.NoError(t, err)
	}
	seen := map[string]string{}
	step := func(name string) {
		d := read()
		require.Equal(t, d, read(), "%s: the same code, the same digest", name)
		for prev, was := range seen {
			require.NotEqual(t, was, d, "%s: the digest of %s", name, prev)
		}
		seen[name] = d
	}
	step("unchanged")
	load("1")
	step("a module loaded")
	load("2")
	step("loaded again (old code kept)")
	_, err = c.Call(ctx, "code", "purge", etf.Atom("beamctl_digest_probe"))
	require.NoError(t, err)
	step("old code purged")
}

// compileLoad compiles a one-function module on the node and loads the
// binary under the file name given (a term: a string, or an atom).
const compileLoad = `
Forms = [begin {ok, T, _} = erl_scan:string(S), {ok, F} = erl_parse:parse_form(T), F end
         || S <- ["-module(" ++ atom_to_list(M) ++ ").", "-export([v/0]).", "v() -> " ++ V ++ "."]],
{ok, M, Bin} = compile:forms(Forms, [binary]),
{module, M} = code:load_binary(M, File, Bin),
M:module_info(md5).`

// TestCheckOrigins reads where modules came from on a real node: from the
// code path and unchanged (with and without debug_info), loaded by hand
// from outside it, with no file name, not from a file, and loaded under
// the name of a code path file that holds other code.
func TestCheckOrigins(t *testing.T) {
	t.Parallel()
	plain := testnode.Compile(t, "co_plain", "-module(co_plain).\n-export([v/0]).\nv() -> 1.\n")
	debug := testnode.Compile(t, "co_debug", "-module(co_debug).\n-export([v/0]).\nv() -> 1.\n", "+debug_info")
	patched := testnode.Compile(t, "co_patched", "-module(co_patched).\n-export([v/0]).\nv() -> 1.\n")
	n := testnode.Start(t, testnode.Options{Args: []string{"-pa", plain, "-pa", debug, "-pa", patched}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	defer c.Close()
	md5 := map[string]string{}
	for _, m := range []string{"co_plain", "co_debug"} {
		r, err := c.Call(ctx, "code", "ensure_loaded", etf.Atom(m))
		require.NoError(t, err)
		require.Equal(t, etf.Tuple{etf.Atom("module"), etf.Atom(m)}, r)
		r, err = c.Call(ctx, m, "module_info", etf.Atom("md5"))
		require.NoError(t, err)
		md5[m] = hexOf(r.([]byte))
	}
	load := func(m string, file etf.Term) {
		r, err := inspect.EvalWith(ctx, c, compileLoad, map[string]etf.Term{"M": etf.Atom(m), "V": etf.String("2"), "File": file})
		require.NoError(t, err)
		md5[m] = hexOf(r.([]byte))
	}
	load("co_hotfix", etf.String("/tmp/patches/co_hotfix.erl"))
	load("co_nofile", etf.List{})
	load("co_atom", etf.Atom("co_atom"))
	r, err := inspect.EvalWith(ctx, c, `{ok, M, Bin} = compile:forms([{attribute, 1, module, co_bif}], [binary]),
		{module, M} = erlang:load_module(M, Bin), M:module_info(md5).`, nil)
	require.NoError(t, err)
	md5["co_bif"] = hexOf(r.([]byte))
	patchedBeam := filepath.Join(patched, "co_patched.beam")
	load("co_patched", etf.String(patchedBeam))
	r, err = c.Call(ctx, "beam_lib", "md5", etf.String(patchedBeam))
	require.NoError(t, err)
	onDisk := hexOf(r.(etf.Tuple)[1].(etf.Tuple)[1].([]byte))
	require.NotEqual(t, onDisk, md5["co_patched"])

	l, err := LoadedModules(ctx, c)
	require.NoError(t, err)
	require.Equal(t, md5["co_bif"], l.Modules["co_bif"], "loaded behind the code server's back, read all the same")
	all := []string{"co_atom", "co_bif", "co_debug", "co_hotfix", "co_nofile", "co_patched", "co_plain", "erlang", "lists"}
	got, err := CheckOrigins(ctx, c, l, all, 100)
	require.NoError(t, err)
	require.Equal(t, map[string]Origin{
		"co_atom":    {From: From{Name: "co_atom"}},
		"co_bif":     {From: From{Unknown: true}},
		"co_debug":   {From: From{Name: filepath.Join(debug, "co_debug.beam"), IsFile: true}, InCodePath: true, FileMD5: md5["co_debug"]},
		"co_hotfix":  {From: From{Name: "/tmp/patches/co_hotfix.erl", IsFile: true}},
		"co_nofile":  {From: From{Name: "", IsFile: true}},
		"co_patched": {From: From{Name: patchedBeam, IsFile: true}, InCodePath: true, FileMD5: onDisk},
		"co_plain":   {From: From{Name: filepath.Join(plain, "co_plain.beam"), IsFile: true}, InCodePath: true, FileMD5: md5["co_plain"]},
		"erlang":     {From: From{Name: "preloaded"}},
		"lists":      {From: l.From["lists"], InCodePath: true, FileMD5: l.Modules["lists"]},
	}, got)
	for _, m := range all {
		require.Equal(t, m == "co_debug" || m == "co_plain" || m == "erlang" || m == "lists", got[m].Routine(l.Modules[m]), m)
	}

	// Deleted code (old, not purged) is no longer loaded, though
	// erlang:loaded() lists it.
	for _, m := range []string{"co_atom", "co_bif"} {
		r, err = c.Call(ctx, "code", "delete", etf.Atom(m))
		require.NoError(t, err)
		require.Equal(t, etf.True, r)
	}
	l2, err := LoadedModules(ctx, c)
	require.NoError(t, err)
	require.NotContains(t, l2.Modules, "co_atom")
	require.NotContains(t, l2.Modules, "co_bif")
	require.Contains(t, l2.Modules, "co_plain")

	// At most limit files are read; the modules not read are left out.
	got, err = CheckOrigins(ctx, c, l, []string{"co_atom", "co_plain", "lists"}, 1)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Contains(t, got, "co_atom", "not a file: nothing to read")
	require.Contains(t, got, "co_plain")

	// The node stops reading when its time is spent, after the first file.
	got, err = checkOriginsWithin(ctx, c, l, []string{"co_debug", "co_plain", "lists"}, 100, 0)
	require.NoError(t, err)
	require.Equal(t, map[string]Origin{"co_debug": {From: l.From["co_debug"], InCodePath: true, FileMD5: md5["co_debug"]}}, got)
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// BenchmarkCodePoll measures what a code poll costs the node: the reading
// of every module's md5 alone (no module changed), and with the files of
// n changed modules read and their md5 taken (CheckOrigins, erl_eval
// included). Two figures, both the whole VM's (the rpc processes, the code
// server, the file server): reductions (erlang:statistics(reductions)),
// where the md5 BIFs charge some 40 reductions a byte hashed (to yield
// often, not because a byte costs that much), and CPU time
// (erlang:statistics(runtime), in ms, of all the VM's threads).
func BenchmarkCodePoll(b *testing.B) {
	n := testnode.Start(b, testnode.Options{})
	ctx := context.Background()
	c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	stat := func(what string) float64 {
		r, err := c.Call(ctx, "erlang", "statistics", etf.Atom(what))
		if err != nil {
			b.Fatal(err)
		}
		v, _ := etf.ToInt64(r.(etf.Tuple)[0])
		return float64(v)
	}
	l, err := LoadedModules(ctx, c)
	if err != nil {
		b.Fatal(err)
	}
	var files []string
	for m, f := range l.From {
		if f.IsFile {
			files = append(files, m)
		}
	}
	if _, err := CheckOrigins(ctx, c, l, files[:1], 1); err != nil { // beam_lib loaded
		b.Fatal(err)
	}
	for _, changed := range []int{0, 10, len(files)} {
		b.Run(fmt.Sprintf("changed=%d", changed), func(b *testing.B) {
			var reds, cpu float64
			for b.Loop() {
				r0, c0 := stat("reductions"), stat("runtime")
				l, err := LoadedModules(ctx, c)
				if err != nil {
					b.Fatal(err)
				}
				if changed > 0 {
					cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
					got, err := CheckOrigins(cctx, c, l, files[:changed], changed)
					cancel()
					if err != nil || len(got) != changed {
						b.Fatalf("checked %d of %d: %v", len(got), changed, err)
					}
				}
				reds += stat("reductions") - r0
				cpu += stat("runtime") - c0
			}
			b.ReportMetric(reds/float64(b.N), "reductions/poll")
			b.ReportMetric(cpu/float64(b.N), "node_cpu_ms/poll")
			b.ReportMetric(float64(len(l.Modules)), "modules_loaded")
		})
	}
}
