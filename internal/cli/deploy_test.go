package cli

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/deploy"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/testnode"
)

// depWork is the module the workload calls: version v, and a work/0 that
// crashes when bad.
func depWork(t testing.TB, v int, bad bool) string {
	body := "ok"
	if bad {
		body = "erlang:error(bad_build)"
	}
	dir := testnode.Compile(t, "dep_work", fmt.Sprintf("-module(dep_work).\n-export([version/0, work/0]).\nversion() -> %d.\nwork() -> %s.\n", v, body))
	return filepath.Join(dir, "dep_work.beam")
}

// depExtra is a module only the refusal test loads, in version v.
func depExtra(t testing.TB, v int) string {
	dir := testnode.Compile(t, "dep_extra", fmt.Sprintf("-module(dep_extra).\n-export([version/0]).\nversion() -> %d.\n", v))
	return filepath.Join(dir, "dep_extra.beam")
}

// depLoop is a module a process loops in (local calls: it stays in the
// code it started in).
func depLoop(t testing.TB, v int) string {
	dir := testnode.Compile(t, "dep_loop", fmt.Sprintf("-module(dep_loop).\n-export([version/0, loop/0]).\nversion() -> %d.\nloop() -> receive stop -> ok after 1000 -> loop() end.\n", v))
	return filepath.Join(dir, "dep_loop.beam")
}

func copyFile(t testing.TB, from, to string) {
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, 0o644))
}

// fleet is six real nodes of one family in two DCs, watched by beamctl
// serve (a child process, so that it can be killed with SIGKILL).
type fleet struct {
	nodes   []*testnode.Node
	conns   []*dist.Conn
	base    string
	args    []string
	srv     func() // (re)starts serve
	kill    func()
	hookMu  sync.Mutex
	hooked  []string
	codeDir string
}

func startFleet(t testing.TB, n int) *fleet {
	f := &fleet{codeDir: t.TempDir()}
	copyFile(t, depWork(t, 1, false), filepath.Join(f.codeDir, "dep_work.beam"))
	copyFile(t, depLoop(t, 1), filepath.Join(f.codeDir, "dep_loop.beam"))
	cookie := "deploycookie" + strings.ReplaceAll(t.Name(), "/", "")
	// The workload calls dep_work:work() in a fresh process 5 times a
	// second (a crash there is a crash report); a process loops in dep_loop.
	eval := `code:ensure_loaded(dep_work), code:ensure_loaded(dep_loop), spawn(fun() -> dep_loop:loop() end),
		spawn(fun() -> (fun W() -> timer:sleep(200), proc_lib:spawn(fun() -> dep_work:work() end), W() end)() end), ok.`
	var wg sync.WaitGroup
	f.nodes = make([]*testnode.Node, n)
	sem := make(chan struct{}, 8) // nodes boot 8 at a time
	for i := range f.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			f.nodes[i] = testnode.Start(t, testnode.Options{Cookie: cookie,
				Args: []string{"-pa", f.codeDir}, Eval: eval})
		}()
	}
	wg.Wait()
	for _, node := range f.nodes {
		f.conns = append(f.conns, probe(t, node))
	}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.hookMu.Lock()
		f.hooked = append(f.hooked, string(b))
		f.hookMu.Unlock()
	}))
	t.Cleanup(hook.Close)
	var nodes strings.Builder
	for i, node := range f.nodes {
		fmt.Fprintf(&nodes, "      - {name: %s, labels: {dc: %s}}\n", node.Name, []string{"a", "b"}[i*2/len(f.nodes)])
	}
	// Tests poll every second; a hundred nodes get the default's pace.
	interval := "1s"
	if n > 20 {
		interval = "10s"
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "beamctl.yml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`
global: {collect_interval: %[1]s, discover_interval: 1s, collect_timeout: 1s}
alarms:
  interval: 1s
  notifiers: [{url: "%[2]s"}]
clusters:
  - name: prod
    cookie: %[3]s
    family: chat
    labels: {region: eu}
    notifications: {code_interval: %[1]s}
    nodes:
%[4]s`, interval, hook.URL, cookie, nodes.String())), 0o600))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	f.base = "http://" + addr
	f.args = []string{"--config.file", cfg, "--storage.path", filepath.Join(dir, "data"), "--web.listen-address", addr}
	var cmd interface{ Kill() error }
	f.srv = func() {
		c := startServe(t, f.args...)
		cmd = c.Process
		require.Eventually(t, func() bool {
			resp, err := http.Get(f.base + "/api/v1/nodes")
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			var body struct {
				Data []struct {
					State  string `json:"state"`
					Family string `json:"family"`
				} `json:"data"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			up := 0
			for _, n := range body.Data {
				if n.State == "up" && n.Family == "chat" {
					up++
				}
			}
			return up == len(f.nodes)
		}, 120*time.Second, 200*time.Millisecond, "serve sees the six nodes up")
	}
	f.kill = func() { _ = cmd.Kill() }
	f.srv()
	return f
}

// md5s is each node's loaded md5 of a module, read directly from the nodes.
func (f *fleet) md5s(t testing.TB, mod string) []string {
	out := make([]string, len(f.conns))
	for i, c := range f.conns {
		b, ok := probeCall(t, c, "erlang", "get_module_info", etf.Atom(mod), etf.Atom("md5")).([]byte)
		require.True(t, ok)
		out[i] = hex.EncodeToString(b)
	}
	return out
}

func (f *fleet) deployJSON(t testing.TB, args ...string) (deploy.Deploy, int, string) {
	t.Helper()
	code, stdout, stderr := run(t, append([]string{"--server", f.base, "-o", "json", "--timeout", "60s", "deploy"}, args...)...)
	var d deploy.Deploy
	if code == 0 || strings.HasPrefix(stdout, "{") {
		require.NoError(t, json.Unmarshal([]byte(stdout), &d), stdout+stderr)
	}
	return d, code, stderr
}

func (f *fleet) plan(t testing.TB, extra ...string) deploy.Deploy {
	t.Helper()
	args := []string{"plan", "--cluster", "prod", "--family", "chat", "--check-every", "250ms"}
	if !slices.Contains(extra, "--bake") {
		args = append(args, "--bake", "2s")
	}
	d, code, stderr := f.deployJSON(t, append(args, extra...)...)
	require.Zero(t, code, stderr)
	return d
}

// planClean plans until the plan has no refusal (an alarm that a test's
// own loads raised clears within seconds).
func (f *fleet) planClean(t testing.TB, extra ...string) deploy.Deploy {
	t.Helper()
	var d deploy.Deploy
	require.Eventually(t, func() bool {
		d = f.plan(t, extra...)
		return len(d.Refusals) == 0
	}, 30*time.Second, time.Second, "a plan without refusals")
	return d
}

func (f *fleet) wait(t testing.TB, id string) deploy.Deploy {
	t.Helper()
	var d deploy.Deploy
	require.Eventually(t, func() bool {
		d, _, _ = f.deployJSON(t, "status", id)
		return !d.State.Active() && d.State != deploy.Planned
	}, 2*time.Minute, 250*time.Millisecond)
	return d
}

func same(n int, v string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// TestDeploy rolls builds through six real nodes labelled in two DCs: a
// good build through every wave (with an error spike on every node during
// the canary's bake, which the control nodes share); a bad build rolled
// back after the canary; a module with a process lingering in old code,
// waited for then force-purged; a deploy that survives kill -9 of the
// server mid-bake; refusals.
func TestDeploy(t *testing.T) {
	t.Parallel()
	f := startFleet(t, 6)
	v1 := f.md5s(t, "dep_work")[0]
	require.Equal(t, same(6, v1), f.md5s(t, "dep_work"))

	// A good build: planned first (nothing changes), then started.
	v2beam := depWork(t, 2, false)
	d := f.plan(t, v2beam)
	require.Equal(t, deploy.Planned, d.State)
	require.Empty(t, d.Refusals)
	var waves [][]string
	for _, w := range d.Waves {
		waves = append(waves, w.Nodes)
	}
	names := func(is ...int) []string {
		var out []string
		for _, i := range is {
			out = append(out, f.nodes[i].Name)
		}
		return out
	}
	sorted := func(is ...int) []string {
		out := names(is...)
		slices.Sort(out)
		return out
	}
	a, b := sorted(0, 1, 2), sorted(3, 4, 5)
	require.Equal(t, [][]string{a[:1], a[1:2], a[2:], b[:1], b[1:]}, waves, "canary, a slice of dc=a, dc=a, a slice of dc=b, all")
	require.Equal(t, same(6, v1), f.md5s(t, "dep_work"), "a plan changes nothing")
	for _, n := range d.Nodes {
		require.Equal(t, "eu", n.Labels["region"], "the cluster's labels")
		require.Equal(t, v1, n.Modules[0].MD5Before)
		require.Equal(t, deploy.BackupFile, n.Modules[0].Backup, "v1 is the object code file on the code path")
		require.Equal(t, "25", n.OTP)
	}
	v2 := d.Modules[0].MD5
	require.NotEqual(t, v1, v2)

	_, code, stderr := f.deployJSON(t, "start", d.ID)
	require.Zero(t, code, stderr)
	// While the canary bakes, every node logs a burst of errors: the
	// canary's rate equals the control nodes', so the gate holds.
	require.Eventually(t, func() bool {
		x, _, _ := f.deployJSON(t, "status", d.ID)
		return x.Waves[0].State == "baking"
	}, 30*time.Second, 50*time.Millisecond)
	// Paused meanwhile, so that the next wave cannot start while the spike
	// is being logged (a resume bakes the wave again, its gates counting
	// from the wave's start). The control nodes first: at no check has the
	// canary more than them.
	_, code, stderr = f.deployJSON(t, "pause", d.ID)
	require.Zero(t, code, stderr)
	canaryName := d.Waves[0].Nodes[0]
	spikeOrder := slices.Clone(f.conns)
	slices.SortStableFunc(spikeOrder, func(x, y *dist.Conn) int {
		return boolInt(x.Node() == canaryName) - boolInt(y.Node() == canaryName)
	})
	for _, c := range spikeOrder {
		for range 40 {
			probeCall(t, c, "logger", "error", charlist("a spike of errors on every node"))
		}
	}
	_, code, stderr = f.deployJSON(t, "resume", d.ID)
	require.Zero(t, code, stderr)
	d = f.wait(t, d.ID)
	require.Equal(t, deploy.Succeeded, d.State, "%+v %v", d.Failure, d.Events)
	spike, err := fetchNotes(f.base, map[string][]string{"kind": {"log"}, "grep": {"spike"}, "node": {d.Waves[0].Nodes[0]}})
	require.NoError(t, err)
	require.Len(t, spike, 40, "the canary's spike was counted, within its bake")
	require.Equal(t, same(6, v2), f.md5s(t, "dep_work"), "md5s equal everywhere")

	// A bad build: dep_work:work() crashes, so crash reports rise on the
	// canary and not on the control nodes.
	bad := f.plan(t, "--bake", "30s", depWork(t, 3, true)) // detection takes about a second; a loaded machine must not let the canary pass first
	require.Equal(t, deploy.BackupHeld, bad.Nodes[0].Modules[0].Backup, "v2 is held from the first deploy")
	_, code, stderr = f.deployJSON(t, "start", bad.ID)
	require.Zero(t, code, stderr)
	bad = f.wait(t, bad.ID)
	require.Equal(t, deploy.Failed, bad.State)
	require.NotNil(t, bad.Failure)
	require.Equal(t, "errors", bad.Failure.Gate)
	require.Equal(t, 0, bad.Failure.Wave, "failed in the canary wave")
	require.Equal(t, same(6, v2), f.md5s(t, "dep_work"), "the canary is back to v2; the other five never got v3")
	canary := bad.Node(bad.Waves[0].Nodes[0])
	require.Equal(t, "rolled_back", canary.Status)
	for _, n := range bad.Nodes[1:] {
		if n.Node != canary.Node {
			require.Equal(t, "pending", n.Status, n.Node)
		}
	}
	detect := bad.Failure.At.Sub(*bad.Waves[0].Loaded)
	t.Logf("bad build: detected %s after the canary's load; %s", detect.Round(time.Millisecond), bad.Events[len(bad.Events)-1].Text)
	require.Eventually(t, func() bool {
		f.hookMu.Lock()
		defer f.hookMu.Unlock()
		for _, h := range f.hooked {
			if strings.Contains(h, "deploy_failed") && strings.Contains(h, "failed gate errors") && strings.Contains(h, "wave nodes:") {
				return true
			}
		}
		return false
	}, 20*time.Second, 100*time.Millisecond, "the webhook names the gate and its evidence")
	notes, err := fetchNotes(f.base, map[string][]string{"kind": {"deploy_failed"}})
	require.NoError(t, err)
	require.Len(t, notes, 1)
	require.Contains(t, notes[0].Fields["evidence"], "control (5 nodes not yet deployed, same minutes)")

	// A process lingers in dep_loop's old code: v2 replaces v1 from the
	// file (as a release upgrade would), leaving the looping process in v1.
	copyFile(t, depLoop(t, 2), filepath.Join(f.codeDir, "dep_loop.beam"))
	for _, c := range f.conns {
		probeCall(t, c, "code", "load_file", etf.Atom("dep_loop"))
	}
	v3loop := depLoop(t, 3)
	lin := f.planClean(t, "--purge-wait", "1s", v3loop) // the md5s differed while load_file ran node by node
	for _, n := range lin.Nodes {
		require.True(t, n.Modules[0].OldCode, n.Node)
		require.Len(t, n.Modules[0].Lingering, 1, n.Node)
	}
	require.Len(t, lin.Warnings, 6)
	require.Contains(t, lin.Warnings[0], "waits up to 1s for them, then fails")
	_, code, _ = f.deployJSON(t, "start", lin.ID)
	require.Zero(t, code)
	lin = f.wait(t, lin.ID)
	require.Equal(t, deploy.Failed, lin.State)
	require.Equal(t, "load", lin.Failure.Gate)
	require.Contains(t, strings.Join(lin.Failure.Evidence, " "), "still run the old code")
	forced := f.plan(t, "--purge-wait", "1s", "--force", v3loop)
	require.Contains(t, forced.Warnings[0], "kills them after 1s (force)")
	_, code, _ = f.deployJSON(t, "start", forced.ID)
	require.Zero(t, code)
	forced = f.wait(t, forced.ID)
	require.Equal(t, deploy.Succeeded, forced.State, "%+v", forced.Failure)
	for _, n := range forced.Nodes {
		require.Len(t, n.Modules[0].Killed, 1, n.Node)
	}
	require.Equal(t, same(6, forced.Modules[0].MD5), f.md5s(t, "dep_loop"))

	v4beam := depWork(t, 4, false)
	// Refusals: a module compiled by a newer OTP's compiler.
	newer := filepath.Join(t.TempDir(), "dep_work.beam")
	require.NoError(t, os.WriteFile(newer, withCompiler(t, depWork(t, 9, false), "9.0.1"), 0o644))
	ref := f.plan(t, newer)
	require.Contains(t, strings.Join(ref.Refusals, " "), "was compiled for OTP 28 or later (compiler 9.0.1)")
	_, code, stderr = f.deployJSON(t, "start", ref.ID)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "the plan has refusals")

	// Refusals: a family with a module_version_mismatch alarm (a module
	// no deploy touches, loaded in two versions by hand).
	for i, c := range f.conns[:2] {
		b, err := os.ReadFile(depExtra(t, i))
		require.NoError(t, err)
		probeCall(t, c, "code", "load_binary", etf.Atom("dep_extra"), charlist("dep_extra.beam"), b)
	}
	require.Eventually(t, func() bool {
		x := f.plan(t, v4beam)
		return strings.Contains(strings.Join(x.Refusals, " "), "The family already has a module_version_mismatch alarm")
	}, 30*time.Second, time.Second)
	x := f.plan(t, "--ignore-mismatch", depWork(t, 4, false))
	require.Empty(t, x.Refusals)
	require.Contains(t, strings.Join(x.Warnings, " "), "module_version_mismatch")
	for _, c := range f.conns[:2] {
		for _, fn := range []string{"purge", "delete", "purge"} {
			probeCall(t, c, "code", fn, etf.Atom("dep_extra"))
		}
	}
	require.Eventually(t, func() bool {
		x := f.plan(t, v4beam)
		return len(x.Refusals) == 0
	}, 30*time.Second, time.Second, "the alarm clears")

	// kill -9 of the server while wave 2 bakes: after the restart the
	// deploy resumes and finishes. Meanwhile a second deploy of the
	// family is refused.
	k := f.plan(t, "--bake", "3s", v4beam)
	_, code, _ = f.deployJSON(t, "start", k.ID)
	require.Zero(t, code)
	other := f.plan(t, depWork(t, 5, false))
	require.Contains(t, strings.Join(other.Refusals, " "), "Deploy "+k.ID)
	require.Eventually(t, func() bool {
		x, _, _ := f.deployJSON(t, "status", k.ID)
		return len(x.Waves) > 1 && x.Waves[1].State == "baking"
	}, time.Minute, 50*time.Millisecond)
	f.kill()
	f.srv()
	k = f.wait(t, k.ID)
	require.Equal(t, deploy.Succeeded, k.State, "%+v %v", k.Failure, k.Events)
	require.Contains(t, eventsText(k), "beamctl restarted: the deploy resumes (running, wave 2 of 5)")
	require.Equal(t, same(6, k.Modules[0].MD5), f.md5s(t, "dep_work"))

	// An operator's rollback puts the code of before the deploy back.
	_, code, stderr = f.deployJSON(t, "rollback", k.ID)
	require.Zero(t, code, stderr)
	k = f.wait(t, k.ID)
	require.Equal(t, deploy.RolledBack, k.State)
	require.Equal(t, same(6, v2), f.md5s(t, "dep_work"))

	// The audit trail holds the commands and every node's load.
	resp, err := http.Get(f.base + "/api/v1/audit?action=deploy.load")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Contains(t, string(body), k.ID)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func eventsText(d deploy.Deploy) string {
	var s []string
	for _, e := range d.Events {
		s = append(s, e.Text)
	}
	return strings.Join(s, "\n")
}

func charlist(s string) etf.List {
	l := make(etf.List, 0, len(s))
	for _, r := range s {
		l = append(l, int64(r))
	}
	return l
}

// withCompiler rewrites a .beam file's compile information to say another
// compiler version made it (the code is the same).
func withCompiler(t testing.TB, path, version string) []byte {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	cinf, err := etf.Encode(etf.List{etf.Tuple{etf.Atom("version"), charlist(version)}})
	require.NoError(t, err)
	var out []byte
	body := b[12:]
	for len(body) >= 8 {
		id := string(body[0:4])
		n := int(binary.BigEndian.Uint32(body[4:8]))
		data := body[8 : 8+n]
		if id == "CInf" {
			data = cinf
		}
		out = append(out, id...)
		out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
		out = append(out, data...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
		body = body[min(len(body), 8+(n+3)&^3):]
	}
	hdr := append([]byte("FOR1"), binary.BigEndian.AppendUint32(nil, uint32(len(out)+4))...)
	return append(append(hdr, "BEAM"...), out...)
}
