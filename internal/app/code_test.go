package app

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/capture"
	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/testnode"
)

// loadAs compiles a one-function module on the node and loads the binary
// under the file name File, as a hotfix is loaded by hand; it returns the
// loaded md5.
const loadAs = `
Forms = [begin {ok, T, _} = erl_scan:string(S), {ok, F} = erl_parse:parse_form(T), F end
         || S <- ["-module(" ++ atom_to_list(M) ++ ").", "-export([v/0]).", "v() -> " ++ V ++ "."]],
{ok, M, Bin} = compile:forms(Forms, [binary]),
{module, M} = code:load_binary(M, File, Bin),
M:module_info(md5).`

// TestCodeLoadedOrigin checks that code the node autoloads from its code
// path is summed up in one info notification per poll, and that code
// loaded by hand (seed 002: the forgotten hotfix) is a warning naming the
// file and both md5s: from outside the code path (also before beamctl
// looked), under the name of a code path file that holds other code (new,
// and replacing code), and behind the code server's back.
func TestCodeLoadedOrigin(t *testing.T) {
	src := func(m string) string { return fmt.Sprintf("-module(%s).\n-export([v/0]).\nv() -> 1.\n", m) }
	patched := testnode.Compile(t, "ct_patched", src("ct_patched"))
	reloaded := testnode.Compile(t, "ct_reloaded", src("ct_reloaded"), "+debug_info")
	a := testnode.Start(t, testnode.Options{Args: []string{"-pa", patched, "-pa", reloaded}})
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 1s, collect_timeout: 1s, discover_interval: 300ms}
clusters:
  - name: test
    cookie: %s
    nodes: [%s]
    notifications: {code_interval: 1s, log_level: none, system_monitor: "off"}
`, a.Cookie, a.Name)), t.TempDir())
	require.NoError(t, err)
	ctx := context.Background()
	c := dialNode(t, a)
	call := func(m, f string, args ...etf.Term) etf.Term {
		t.Helper()
		r, err := c.Call(ctx, m, f, args...)
		require.NoError(t, err)
		return r
	}
	// (0) A hotfix loaded by hand before beamctl looked (compiled here, so
	// that the node's compiler is not loaded yet).
	early, err := os.ReadFile(filepath.Join(testnode.Compile(t, "ct_early", src("ct_early")), "ct_early.beam"))
	require.NoError(t, err)
	call("code", "load_binary", etf.Atom("ct_early"), etf.String("/tmp/patches/ct_early.erl"), early)
	srv := startApp(t, cfg, t.TempDir())
	defer srv.Stop()
	base := "http://" + srv.Addr()
	md5Of := func(r etf.Term) string {
		t.Helper()
		b, ok := r.([]byte)
		require.True(t, ok, "md5: %v", r)
		return hex.EncodeToString(b)
	}
	loadBy := func(m, v, file string) string {
		t.Helper()
		r, err := inspect.EvalWith(ctx, c, loadAs, map[string]etf.Term{"M": etf.Atom(m), "V": etf.String(v), "File": etf.String(file)})
		require.NoError(t, err)
		return md5Of(r)
	}
	onDisk := func(file string) string {
		t.Helper()
		r := call("beam_lib", "md5", etf.String(file))
		ok, err := etf.ToTuple(r, 2)
		require.NoError(t, err)
		return md5Of(ok[1].(etf.Tuple)[1])
	}
	codeNotes := func(kind string) []journal.Notification {
		return notes(t, base, url.Values{"kind": {kind}, "node": {a.Name}, "limit": {"10000"}})
	}
	require.Eventually(t, func() bool { // the baseline reading
		var mods map[string]string
		found, err := srv.Recorder().Store().LoadSnapshot(ctx, "test", a.Name, "modules", &mods)
		require.NoError(t, err)
		return found
	}, 20*time.Second, 50*time.Millisecond)

	var warn journal.Notification
	find := func(kind, module string) func() bool {
		return func() bool {
			for _, n := range codeNotes(kind) {
				if n.Fields["module"] == module {
					warn = n
					return true
				}
			}
			return false
		}
	}
	require.Eventually(t, find("code_loaded", "ct_early"), 20*time.Second, 100*time.Millisecond)
	require.Equal(t, journal.Warning, warn.Severity)
	require.Equal(t, "loaded before beamctl looked", warn.Fields["observed"])
	require.Equal(t, fmt.Sprintf("Module ct_early runs code loaded from /tmp/patches/ct_early.erl, outside the code path (md5 %s, no file), before beamctl looked.",
		md5Of(call("ct_early", "module_info", etf.Atom("md5")))), warn.Text)
	require.Eventually(t, func() bool { // the sweep of what was loaded before is over
		var left []string
		found, err := srv.Recorder().Store().LoadSnapshot(ctx, "test", a.Name, "modules_unswept", &left)
		require.NoError(t, err)
		return found && len(left) == 0
	}, 20*time.Second, 50*time.Millisecond)

	// (1) The compiler autoloads some 40 modules from the code path:
	// routine, summed up, each module in one summary, no warning.
	call("code", "ensure_loaded", etf.Atom("ct_reloaded"))
	evalOn(t, c, `{ok, _, _} = compile:forms([{attribute, 1, module, ct_scratch}], [binary]), ok.`)
	var compiler []string
	for _, e := range call("code", "all_loaded").(etf.List) {
		tp := e.(etf.Tuple)
		if f, _ := etf.ToString(tp[1]); strings.Contains(f, "/compiler-") {
			compiler = append(compiler, string(tp[0].(etf.Atom)))
		}
	}
	require.Greater(t, len(compiler), 20)
	summed := map[string]int{} // module -> summaries that name it
	require.Eventually(t, func() bool {
		clear(summed)
		for _, n := range codeNotes("code_loaded") {
			if n.Fields["origin"] != "code_path" {
				continue
			}
			require.Equal(t, journal.Info, n.Severity, n.Text)
			names := strings.Fields(n.Fields["list"])
			require.Equal(t, fmt.Sprint(len(names)), n.Fields["modules"])
			require.True(t, strings.HasPrefix(n.Text, fmt.Sprintf("%d module", len(names))), n.Text)
			for _, m := range names {
				summed[m]++
			}
		}
		for _, m := range append(compiler, "ct_reloaded") {
			if summed[m] == 0 {
				return false
			}
		}
		return true
	}, 20*time.Second, 100*time.Millisecond)
	for m, k := range summed {
		require.Equal(t, 1, k, "module %s in %d summaries", m, k)
	}

	// (2) A hotfix loaded by hand from outside the code path: a warning
	// naming the file, its md5, and that there is no such .beam file.
	hotfix := loadBy("hotfix_x", "2", "/tmp/patches/hotfix_x.erl")
	require.Eventually(t, find("code_loaded", "hotfix_x"), 20*time.Second, 100*time.Millisecond)
	require.Equal(t, journal.Warning, warn.Severity)
	require.Equal(t, fmt.Sprintf("Module hotfix_x loaded from /tmp/patches/hotfix_x.erl, outside the code path (md5 %s, no file).", hotfix), warn.Text)
	require.Equal(t, "outside_code_path", warn.Fields["origin"])
	require.Equal(t, "/tmp/patches/hotfix_x.erl", warn.Fields["file"])
	require.Equal(t, "no file", warn.Fields["file_md5"])
	require.Equal(t, hotfix, warn.Fields["new_md5"])

	// (3) Code loaded under the name of a code path .beam that holds other
	// code: a new module, and one that replaces the code loaded from it.
	patchedBeam := filepath.Join(patched, "ct_patched.beam")
	newMD5 := loadBy("ct_patched", "2", patchedBeam)
	reloadedBeam := filepath.Join(reloaded, "ct_reloaded.beam")
	wasMD5 := md5Of(call("ct_reloaded", "module_info", etf.Atom("md5")))
	changedMD5 := loadBy("ct_reloaded", "3", reloadedBeam)
	require.Equal(t, wasMD5, onDisk(reloadedBeam), "+debug_info: the file's md5 is the loaded code's")
	require.Eventually(t, find("code_loaded", "ct_patched"), 20*time.Second, 100*time.Millisecond)
	require.Equal(t, journal.Warning, warn.Severity)
	require.Equal(t, fmt.Sprintf("Module ct_patched loaded from %s, in the code path, but that file holds other code (md5 %s, file md5 %s).",
		patchedBeam, newMD5, onDisk(patchedBeam)), warn.Text)
	require.Equal(t, "differs_from_file", warn.Fields["origin"])
	require.NotEqual(t, newMD5, onDisk(patchedBeam))
	require.Eventually(t, find("code_reloaded", "ct_reloaded"), 20*time.Second, 100*time.Millisecond)
	require.Equal(t, journal.Warning, warn.Severity)
	require.Equal(t, fmt.Sprintf("Module ct_reloaded changed: md5 %s, was %s; loaded from %s, in the code path, but that file holds other code (file md5 %s).",
		changedMD5, wasMD5, reloadedBeam, wasMD5), warn.Text)
	require.Equal(t, wasMD5, warn.Fields["file_md5"])

	// (4) Code loaded behind the code server's back (erlang:load_module/2).
	evalOn(t, c, `{ok, M, Bin} = compile:forms([{attribute, 1, module, ct_bif}], [binary]), {module, M} = erlang:load_module(M, Bin).`)
	require.Eventually(t, find("code_loaded", "ct_bif"), 20*time.Second, 100*time.Millisecond)
	require.Equal(t, journal.Warning, warn.Severity)
	require.Equal(t, "unknown_to_code_server", warn.Fields["origin"])
	require.True(t, strings.HasPrefix(warn.Text, "Module ct_bif loaded behind the code server's back"), warn.Text)

	// Each hand-made change is reported once, in none of the summaries;
	// nothing routine is a warning (up to a poll after them).
	call("code", "ensure_loaded", etf.Atom("erl_tar")) // routine: seen at a later poll
	require.Eventually(t, func() bool {
		for _, n := range codeNotes("code_loaded") {
			if strings.Contains(" "+n.Fields["list"]+" ", " erl_tar ") {
				return true
			}
		}
		return false
	}, 20*time.Second, 100*time.Millisecond)
	warnings := map[string]int{}
	for _, kind := range []string{"code_loaded", "code_reloaded"} {
		for _, n := range codeNotes(kind) {
			if n.Severity == journal.Warning {
				warnings[n.Fields["module"]]++
			}
			for _, m := range strings.Fields(n.Fields["list"]) {
				require.NotContains(t, []string{"hotfix_x", "ct_patched"}, m)
			}
		}
	}
	require.Equal(t, map[string]int{"hotfix_x": 1, "ct_patched": 1, "ct_reloaded": 1, "ct_bif": 1, "ct_early": 1}, warnings)

	// Counted by origin, routine loads as well.
	require.Eventually(t, func() bool {
		routine := 0
		for _, n := range codeNotes("code_loaded") {
			routine += len(strings.Fields(n.Fields["list"]))
		}
		var v vector
		r := get(t, base, "/api/v1/query", url.Values{"query": {fmt.Sprintf(`beamctl_code_loads_total{node=%q}`, a.Name)}})
		if r.Status != "success" || json.Unmarshal(r.Data, &v) != nil {
			return false
		}
		got := map[string]string{}
		for _, s := range v.Result {
			got[s.Metric["origin"]] = fmt.Sprint(s.Value[1])
		}
		return got["outside_code_path"] == "1" && got["differs_from_file"] == "2" && got["unknown_to_code_server"] == "1" &&
			got["code_path"] == fmt.Sprint(routine)
	}, 20*time.Second, 100*time.Millisecond)
}

// TestToSave checks that a module loaded but not checked yet is left out
// of the saved reading, to be found new again at the next poll.
func TestToSave(t *testing.T) {
	checked := map[string]capture.Origin{"a": {}}
	tests := []struct {
		name      string
		prev, cur capture.Modules
		check     []string
		want      capture.Modules
	}{
		{"all checked", capture.Modules{"x": "1"}, capture.Modules{"x": "1", "a": "2"}, []string{"a"}, capture.Modules{"x": "1", "a": "2"}},
		{"loaded, not checked", capture.Modules{"x": "1"}, capture.Modules{"x": "1", "a": "2", "b": "3"}, []string{"a", "b"},
			capture.Modules{"x": "1", "a": "2"}},
		{"reloaded, not checked: reported", capture.Modules{"b": "1"}, capture.Modules{"b": "2+old"}, []string{"b"}, capture.Modules{"b": "2+old"}},
		{"nothing new", capture.Modules{"x": "1"}, capture.Modules{"x": "1+old"}, nil, capture.Modules{"x": "1+old"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cur := maps.Clone(tc.cur)
			require.Equal(t, tc.want, toSave(tc.prev, tc.cur, tc.check, checked))
			require.Equal(t, cur, tc.cur, "the reading itself is left alone")
		})
	}
}

// TestCodeNotifications checks the texts and fields of what a poll
// records, for each origin of new code.
func TestCodeNotifications(t *testing.T) {
	const md5, other = "aaaa", "bbbb"
	inPath := capture.Origin{From: capture.From{Name: "/rel/lib/x/ebin/m.beam", IsFile: true}, InCodePath: true, FileMD5: md5}
	loaded := func(m string) capture.Change { return capture.Change{Module: m, Kind: "loaded", NewMD5: md5} }
	tests := []struct {
		name    string
		changes []capture.Change
		origins map[string]capture.Origin
		first   bool
		want    []journal.Notification
	}{
		{"routine: one summary", []capture.Change{loaded("a"), loaded("b")}, map[string]capture.Origin{"a": inPath, "b": inPath}, false,
			[]journal.Notification{{Kind: "code_loaded", Severity: journal.Info, Text: "2 modules loaded from the code path: a, b.",
				Fields: map[string]string{"modules": "2", "origin": "code_path", "list": "a b"}}}},
		{"routine: the first five named", []capture.Change{loaded("a"), loaded("b"), loaded("c"), loaded("d"), loaded("e"), loaded("f"), loaded("g")},
			map[string]capture.Origin{"a": inPath, "b": inPath, "c": inPath, "d": inPath, "e": inPath, "f": inPath, "g": inPath}, false,
			[]journal.Notification{{Kind: "code_loaded", Severity: journal.Info, Text: "7 modules loaded from the code path: a, b, c, d, e, … (and 2 more).",
				Fields: map[string]string{"modules": "7", "origin": "code_path", "list": "a b c d e f g"}}}},
		{"not checked yet: loaded later, changed now", []capture.Change{loaded("a"), {Module: "b", Kind: "reloaded", OldMD5: other, NewMD5: md5}}, nil, false,
			[]journal.Notification{{Kind: "code_reloaded", Severity: journal.Warning, Text: "Module b changed: md5 aaaa, was bbbb.",
				Fields: map[string]string{"module": "b", "old_md5": other, "new_md5": md5}}}},
		{"no file name", []capture.Change{loaded("h")}, map[string]capture.Origin{"h": {From: capture.From{IsFile: true}}}, false,
			[]journal.Notification{{Kind: "code_loaded", Severity: journal.Warning, Text: "Module h loaded from a binary with no file name (md5 aaaa, no file).",
				Fields: map[string]string{"module": "h", "origin": "no_file", "file": "", "file_md5": "no file", "new_md5": md5}}}},
		{"not a file", []capture.Change{loaded("h")}, map[string]capture.Origin{"h": {From: capture.From{Name: "cover_compiled"}}}, false,
			[]journal.Notification{{Kind: "code_loaded", Severity: journal.Warning, Text: "Module h loaded as cover_compiled, not from a file (md5 aaaa, no file).",
				Fields: map[string]string{"module": "h", "origin": "not_a_file", "file": "cover_compiled", "file_md5": "no file", "new_md5": md5}}}},
		{"behind the code server's back", []capture.Change{loaded("h")}, map[string]capture.Origin{"h": {From: capture.From{Unknown: true}}}, false,
			[]journal.Notification{{Kind: "code_loaded", Severity: journal.Warning,
				Text:   "Module h loaded behind the code server's back (erlang:load_module/2: code:all_loaded/0 does not list it), not from a file (md5 aaaa, no file).",
				Fields: map[string]string{"module": "h", "origin": "unknown_to_code_server", "file": "", "file_md5": "no file", "new_md5": md5}}}},
		{"beamctl's agent", []capture.Change{loaded("beamctl_agent")},
			map[string]capture.Origin{"beamctl_agent": {From: capture.From{Name: "beamctl_agent.erl", IsFile: true}}}, false,
			[]journal.Notification{{Kind: "code_loaded", Severity: journal.Info,
				Text:   "Module beamctl_agent loaded: beamctl's agent, for its collectors and inspection commands (md5 aaaa).",
				Fields: map[string]string{"module": "beamctl_agent", "origin": "beamctl_agent", "file": "beamctl_agent.erl", "file_md5": "no file", "new_md5": md5}}}},
		{"code path file gone", []capture.Change{loaded("h")}, map[string]capture.Origin{"h": {From: inPath.From, InCodePath: true}}, false,
			[]journal.Notification{{Kind: "code_loaded", Severity: journal.Warning,
				Text:   "Module h loaded from /rel/lib/x/ebin/m.beam, in the code path, but no .beam file of the module is there (md5 aaaa, no file).",
				Fields: map[string]string{"module": "h", "origin": "no_file", "file": "/rel/lib/x/ebin/m.beam", "file_md5": "no file", "new_md5": md5}}}},
		{"outside the code path, the same as its file", []capture.Change{loaded("h")},
			map[string]capture.Origin{"h": {From: capture.From{Name: "/tmp/h.beam", IsFile: true}, FileMD5: md5}}, false,
			[]journal.Notification{{Kind: "code_loaded", Severity: journal.Warning,
				Text:   "Module h loaded from /tmp/h.beam, outside the code path (md5 aaaa, file md5 aaaa).",
				Fields: map[string]string{"module": "h", "origin": "outside_code_path", "file": "/tmp/h.beam", "file_md5": md5, "new_md5": md5}}}},
		{"reloaded from the code path, unobserved", []capture.Change{{Module: "m", Kind: "reloaded", OldMD5: other, NewMD5: md5}, loaded("a")},
			map[string]capture.Origin{"m": inPath, "a": inPath}, true,
			[]journal.Notification{
				{Kind: "code_reloaded", Severity: journal.Warning,
					Text: "Module m changed: md5 aaaa, was bbbb; loaded from /rel/lib/x/ebin/m.beam, in the code path (file md5 aaaa). Changed while beamctl was not watching.",
					Fields: map[string]string{"module": "m", "origin": "code_path", "file": "/rel/lib/x/ebin/m.beam", "file_md5": md5, "old_md5": other, "new_md5": md5,
						"observed": "changed while unobserved"}},
				{Kind: "code_loaded", Severity: journal.Info, Text: "1 module loaded from the code path: a. Changed while beamctl was not watching.",
					Fields: map[string]string{"modules": "1", "origin": "code_path", "list": "a", "observed": "changed while unobserved"}}}},
		{"purged and deleted: as they were", []capture.Change{{Module: "p", Kind: "purged", NewMD5: md5}, {Module: "d", Kind: "deleted", OldMD5: md5}}, nil, false,
			[]journal.Notification{
				{Kind: "code_purged", Severity: journal.Info, Text: "Old code of module p purged (current md5 aaaa).", Fields: map[string]string{"module": "p", "new_md5": md5}},
				{Kind: "code_deleted", Severity: journal.Info, Text: "Module d deleted (md5 was aaaa).", Fields: map[string]string{"module": "d", "old_md5": md5}}}},
	}
	now := time.Now()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i := range tc.want {
				tc.want[i].Time, tc.want[i].Cluster, tc.want[i].Node = now, "c", "n@h"
			}
			require.Equal(t, tc.want, codeNotifications(now, "c", "n@h", tc.changes, tc.origins, tc.first, false))
		})
	}
}

// TestSweepNotifications checks what the sweep of code loaded before
// beamctl looked reports: only what is not routine.
func TestSweepNotifications(t *testing.T) {
	now := time.Now()
	cur := capture.Modules{"a": "aaaa", "b": "bbbb+old", "beamctl_agent": "cccc", "erlang": "dddd", "h": "eeee"}
	origins := map[string]capture.Origin{
		"a":             {From: capture.From{Name: "/rel/a.beam", IsFile: true}, InCodePath: true, FileMD5: "aaaa"},
		"b":             {From: capture.From{Name: "/rel/b.beam", IsFile: true}, InCodePath: true, FileMD5: "bbbb"},
		"beamctl_agent": {From: capture.From{Name: "beamctl_agent.erl", IsFile: true}},
		"erlang":        {From: capture.From{Name: "preloaded"}},
		"h":             {From: capture.From{Name: "/tmp/h.beam", IsFile: true}, FileMD5: "ffff"},
	}
	got := sweepNotifications(now, "c", "n@h", []string{"a", "b", "beamctl_agent", "erlang", "h", "unchecked"}, cur, origins)
	require.Equal(t, []journal.Notification{{Time: now, Cluster: "c", Node: "n@h", Kind: "code_loaded", Severity: journal.Warning,
		Text: "Module h runs code loaded from /tmp/h.beam, outside the code path (md5 eeee, file md5 ffff), before beamctl looked.",
		Fields: map[string]string{"module": "h", "origin": "outside_code_path", "file": "/tmp/h.beam", "file_md5": "ffff", "new_md5": "eeee",
			"observed": "loaded before beamctl looked"}}}, got)
}

// TestPollCodeFirstUntilSaved checks that a first poll that fails stays
// the first: after a node restart, the poll that finally reads the node
// knows it restarted, and reports no module as deleted.
func TestPollCodeFirstUntilSaved(t *testing.T) {
	a := testnode.Start(t, testnode.Options{})
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
clusters:
  - name: test
    cookie: %s
    nodes: [%s]
    notifications: {code_interval: 1h, log_level: none, system_monitor: "off"}
`, a.Cookie, a.Name)), t.TempDir())
	require.NoError(t, err)
	srv := startApp(t, cfg, t.TempDir())
	defer srv.Stop()
	base := "http://" + srv.Addr()
	ctx := context.Background()
	const cluster = "direct" // snapshots of its own, apart from the server's polls
	c0 := dialNode(t, a)
	require.True(t, srv.pollCode(ctx, c0, c0, cluster, 10*time.Second, true, nil), "the baseline")
	a.Kill()
	a.Restart()
	c := dialNode(t, a)
	require.False(t, srv.pollCode(ctx, c, c, cluster, time.Nanosecond, true, nil), "no time to read the node")
	require.True(t, srv.pollCode(ctx, c, c, cluster, 10*time.Second, true, nil))
	for _, kind := range []string{"code_deleted", "code_loaded"} {
		require.Empty(t, notes(t, base, url.Values{"kind": {kind}, "cluster": {cluster}}), "after a restart, modules loaded or not are no news")
	}
	var pid string
	found, err := srv.Recorder().Store().LoadSnapshot(ctx, cluster, a.Name, "os_pid", &pid)
	require.NoError(t, err)
	require.True(t, found)
	r, err := c.Call(ctx, "os", "getpid")
	require.NoError(t, err)
	got, err := etf.ToString(r)
	require.NoError(t, err)
	require.Equal(t, got, pid, "saved by the poll that read the node")
}
