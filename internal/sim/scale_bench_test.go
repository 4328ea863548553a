//go:build !race

package sim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/uitest"
)

// BenchmarkScaleCurve is the scale curve of docs/scale.md: for each count
// of BEAMCTL_SCALE_NODES (default 100; `make bench-scale` runs
// 100,1000,5000,20000), `beamctl serve` as its own process against that
// many simulated nodes (`beamsim run`, another process), every collector
// every 10 s, then, in the same
// run, the anchor: Debian's prometheus scraping as many targets, each the
// simulated node's /metrics page (the series serve stores per node). Each
// point settles, then is measured over BEAMCTL_SCALE_WINDOW (default 20s):
// CPU per node per second and memory per node of the server, its share of
// collection rounds on time, the TSDB's head series, alarm evaluation time,
// the overview API and, from BEAMCTL_SCALE_UI_NODES (default 1000) nodes
// up, the web UI overview's first paint in chromium. The table goes to the
// log and to BEAMCTL_SCALE_OUT if set. A point whose server does not
// collect every node within its bound ends the curve (the knee): its row
// says how many it reached.
func BenchmarkScaleCurve(b *testing.B) {
	counts := []int{100}
	if s := os.Getenv("BEAMCTL_SCALE_NODES"); s != "" {
		counts = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			require.NoError(b, err, "BEAMCTL_SCALE_NODES")
			counts = append(counts, n)
		}
	}
	window := 20 * time.Second
	if s := os.Getenv("BEAMCTL_SCALE_WINDOW"); s != "" {
		d, err := time.ParseDuration(s)
		require.NoError(b, err, "BEAMCTL_SCALE_WINDOW")
		window = d
	}
	uiFrom := 1000
	if s := os.Getenv("BEAMCTL_SCALE_UI_NODES"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(b, err, "BEAMCTL_SCALE_UI_NODES")
		uiFrom = n
	}
	bins := buildBinaries(b)
	// A simulated node holds a listening socket and a connection, the
	// server a connection: raise the open files limit (for the processes
	// this one starts) as far as the hard limit, or beyond it as root.
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		want := syscall.Rlimit{Cur: max(lim.Max, 1<<20), Max: max(lim.Max, 1<<20)}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) != nil { // not privileged: up to the hard limit
			want = syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
			_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want)
		}
		_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
		b.Logf("open files limit: %d (a simulated node takes two, a managed node one)", lim.Cur)
	}
	var rows []string
	for range b.N {
		for _, n := range counts {
			if need := uint64(2*n + 1000); need > lim.Cur {
				b.Logf("%d nodes need about %d open files, over this machine's limit of %d: the curve stops here", n, need, lim.Cur)
				rows = append(rows, fmt.Sprintf("| %d | – | not run: %d open files needed, the limit is %d | | | | | | | | | | |", n, need, lim.Cur))
				break
			}
			p := scaleBeamctl(b, bins, n, window, n >= uiFrom)
			rows = append(rows, p.row())
			q := scalePrometheus(b, bins, n, window)
			rows = append(rows, q.row())
			b.Logf("%d nodes done", n)
			if p.collected < n || p.onTime < 0.9 { // the knee: the next point would only be worse
				b.Logf("the knee: at %d nodes beamctl collected %d, %.1f %% of rounds on time", n, p.collected, 100*p.onTime)
				break
			}
		}
	}
	table := scaleHeader + strings.Join(rows, "\n") + "\n"
	b.Logf("scale curve (window %s, load average before: %s)\n%s", window, loadAvg(), table)
	if out := os.Getenv("BEAMCTL_SCALE_OUT"); out != "" {
		require.NoError(b, os.WriteFile(out, []byte(table), 0o644))
	}
}

// scaleHeader: per node figures divide by the nodes collected (fewer at
// the knee), the simulator's by all it runs.
const scaleHeader = `| nodes | system | collected | CPU ms per node per s | RSS per node | heap per node | head series | rounds on time | mean lag | alarm eval | overview API | UI first paint | simulator CPU ms per node per s |
|------:|--------|----------:|------:|------:|------:|------:|------:|------:|------:|------:|------:|------:|
`

// scalePoint is one row of the curve.
type scalePoint struct {
	system                  string
	nodes, collected        int
	perNode                 int     // the nodes the per node figures divide by
	cpuPerNode              float64 // ms of CPU per node per second
	rss, heap               float64 // bytes
	series                  float64
	onTime, lag             float64 // share; seconds
	eval, api, paint, simMS float64 // seconds; ms; ms; ms per node per second
}

func (p scalePoint) row() string {
	dash := func(ok bool, s string) string {
		if !ok {
			return "–"
		}
		return s
	}
	per := p.perNode
	if per == 0 {
		per = p.nodes
	}
	return fmt.Sprintf("| %d | %s | %d | %.3f | %.0f KiB | %.0f KiB | %.0f | %s | %s | %s | %s | %s | %.3f |",
		p.nodes, p.system, p.collected, p.cpuPerNode, p.rss/1024/float64(per), p.heap/1024/float64(per), p.series,
		dash(p.system == "beamctl", fmt.Sprintf("%.1f %%", 100*p.onTime)), dash(p.system == "beamctl", fmt.Sprintf("%.0f ms", p.lag*1000)),
		dash(p.eval > 0, fmt.Sprintf("%.0f ms", p.eval*1000)), dash(p.api > 0, fmt.Sprintf("%.0f ms", p.api)),
		dash(p.paint > 0, fmt.Sprintf("%.0f ms", p.paint)), p.simMS)
}

type scaleBins struct{ beamctl, beamsim, cookie string }

func buildBinaries(b *testing.B) scaleBins {
	dir := b.TempDir()
	bins := scaleBins{beamctl: filepath.Join(dir, "beamctl"), beamsim: filepath.Join(dir, "beamsim"), cookie: filepath.Join(dir, "cookie")}
	for bin, pkg := range map[string]string{bins.beamctl: "../../cmd/beamctl", bins.beamsim: "../../cmd/beamsim"} {
		out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
		require.NoError(b, err, "%s", out)
	}
	require.NoError(b, os.WriteFile(bins.cookie, []byte("scalecookie"), 0o600))
	return bins
}

// startSim runs beamsim with n nodes and returns the process and the lines
// it printed first (ERL_EPMD_PORT=, METRICS_ADDR=).
func startSim(b *testing.B, bins scaleBins, n int, args ...string) (*exec.Cmd, map[string]string) {
	cmd := exec.Command(bins.beamsim, append([]string{"run", "--nodes", strconv.Itoa(n), "--cookie-file", bins.cookie,
		"--recording", recordingFile, "--exposition", ExpositionFile}, args...)...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(b, err)
	cmd.Stderr = io.Discard
	require.NoError(b, cmd.Start())
	b.Cleanup(func() { stop(cmd) })
	vals := map[string]string{}
	r := bufio.NewReader(stdout)
	want := 1
	if strings.Contains(strings.Join(args, " "), "--metrics-listen") {
		want = 2
	}
	for len(vals) < want {
		line, err := r.ReadString('\n')
		require.NoError(b, err, "beamsim's first lines")
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		vals[k] = v
	}
	return cmd, vals
}

// stop ends a process with SIGTERM, then SIGKILL after 20 s.
func stop(cmd *exec.Cmd) {
	if cmd.Process == nil || cmd.ProcessState != nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func freeAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	defer ln.Close()
	return ln.Addr().String()
}

// collectBound is how long a point may take to have every node collected.
func collectBound(n int) time.Duration { return time.Minute + time.Duration(n)*15*time.Millisecond }

// waitCollected polls the server at base until the count query reaches n
// or collectBound passes, and returns the last count.
func waitCollected(base, count string, n int) int {
	got := 0
	for deadline := time.Now().Add(collectBound(n)); time.Now().Before(deadline) && got < n; {
		time.Sleep(2 * time.Second)
		if v := promValue(base, count); !math.IsNaN(v) {
			got = int(v)
		}
	}
	return got
}

func scaleBeamctl(b *testing.B, bins scaleBins, n int, window time.Duration, ui bool) scalePoint {
	dir := b.TempDir()
	cfg := filepath.Join(dir, "sim.yml")
	sim, vals := startSim(b, bins, n, "--config", cfg)
	defer stop(sim)
	// The goal: every collector every 10 s (serve's default runs
	// the fast set every second), as Prometheus scrapes every 10 s.
	y, err := os.ReadFile(cfg)
	require.NoError(b, err)
	require.NoError(b, os.WriteFile(cfg, append([]byte("global: {collect_interval: 10s, fast_interval: 10s}\n"), y...), 0o600))
	addr := freeAddr(b)
	serve := exec.Command(bins.beamctl, "serve", "--config.file", cfg, "--storage.path", filepath.Join(dir, "data"),
		"--web.listen-address", addr, "--log.level", "warn")
	serve.Env = append(os.Environ(), "ERL_EPMD_PORT="+vals["ERL_EPMD_PORT"])
	serve.Stderr = os.Stderr
	require.NoError(b, serve.Start())
	defer stop(serve)
	base := "http://" + addr
	p := scalePoint{system: "beamctl", nodes: n}
	p.collected = waitCollected(base, `count(erlang_vm_processes{cluster="sim"})`, n)
	if p.collected < n {
		b.Logf("beamctl collected %d of %d nodes within %s: the knee", p.collected, n, collectBound(n))
	}
	time.Sleep(15 * time.Second) // every collector has run at least once more
	m0, cpu0, sim0 := selfMetrics(b, base), procCPU(b, serve.Process.Pid), procCPU(b, sim.Process.Pid)
	t0 := time.Now()
	time.Sleep(window)
	m1, cpu1, sim1 := selfMetrics(b, base), procCPU(b, serve.Process.Pid), procCPU(b, sim.Process.Pid)
	wall := time.Since(t0).Seconds()
	if p.collected < n { // still coming: how many by the end of the window
		p.collected = max(p.collected, int(promValue(base, `count(erlang_vm_processes{cluster="sim"})`)))
	}
	managed := n // per node means per node collected, at the knee too
	if p.collected > 0 && p.collected < n {
		managed = p.collected
	}
	p.cpuPerNode = float64(cpu1-cpu0) / float64(time.Millisecond) / float64(managed) / wall
	p.simMS = float64(sim1-sim0) / float64(time.Millisecond) / float64(n) / wall
	p.rss, p.heap, p.series = m1["process_resident_memory_bytes"], m1["go_memstats_heap_inuse_bytes"], m1["prometheus_tsdb_head_series"]
	p.perNode = managed
	on := m1[`beamctl_collection_rounds_total{cluster="sim",result="on_time"}`] - m0[`beamctl_collection_rounds_total{cluster="sim",result="on_time"}`]
	late := m1[`beamctl_collection_rounds_total{cluster="sim",result="late"}`] - m0[`beamctl_collection_rounds_total{cluster="sim",result="late"}`]
	missed := m1[`beamctl_collection_rounds_total{cluster="sim",result="missed"}`] - m0[`beamctl_collection_rounds_total{cluster="sim",result="missed"}`]
	if all := on + late + missed; all > 0 {
		p.onTime = on / all
		p.lag = (m1[`beamctl_collection_lag_seconds_total{cluster="sim"}`] - m0[`beamctl_collection_lag_seconds_total{cluster="sim"}`]) / (on + late)
	}
	if evals := m1["beamctl_alarm_evaluations_total"] - m0["beamctl_alarm_evaluations_total"]; evals > 0 {
		p.eval = (m1["beamctl_alarm_evaluation_seconds_total"] - m0["beamctl_alarm_evaluation_seconds_total"]) / evals
	}
	var apis []float64
	for range 3 {
		t := time.Now()
		resp, err := http.Get(base + "/api/v1/overview")
		require.NoError(b, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(b, http.StatusOK, resp.StatusCode)
		apis = append(apis, float64(time.Since(t).Microseconds())/1000)
	}
	p.api = medianOf(apis)
	if ui {
		p.paint, _ = uitest.FirstPaint(b, base, 3)
	}
	return p
}

func scalePrometheus(b *testing.B, bins scaleBins, n int, window time.Duration) scalePoint {
	dir := b.TempDir()
	sd := filepath.Join(dir, "sd.json")
	sim, _ := startSim(b, bins, n, "--metrics-listen", "127.0.0.1:0", "--prom-sd", sd)
	defer stop(sim)
	cfg := filepath.Join(dir, "prometheus.yml")
	require.NoError(b, os.WriteFile(cfg, []byte(fmt.Sprintf(`global: {scrape_interval: 10s, scrape_timeout: 10s, evaluation_interval: 10s}
scrape_configs:
  - job_name: sim
    file_sd_configs: [{files: [%q], refresh_interval: 1m}]
`, sd)), 0o644))
	addr := freeAddr(b)
	prom := exec.Command("prometheus", "--config.file", cfg, "--storage.tsdb.path", filepath.Join(dir, "data"),
		"--web.listen-address", addr, "--log.level", "warn")
	prom.Stderr = io.Discard
	require.NoError(b, prom.Start(), "the anchor is Debian's prometheus (make deps installs it)")
	defer stop(prom)
	base := "http://" + addr
	p := scalePoint{system: "Prometheus 2.42", nodes: n}
	p.collected = waitCollected(base, `count(up == 1)`, n)
	time.Sleep(15 * time.Second)
	cpu0, sim0 := procCPU(b, prom.Process.Pid), procCPU(b, sim.Process.Pid)
	t0 := time.Now()
	time.Sleep(window)
	m1, cpu1, sim1 := selfMetrics(b, base), procCPU(b, prom.Process.Pid), procCPU(b, sim.Process.Pid)
	wall := time.Since(t0).Seconds()
	p.cpuPerNode = float64(cpu1-cpu0) / float64(time.Millisecond) / float64(n) / wall
	p.simMS = float64(sim1-sim0) / float64(time.Millisecond) / float64(n) / wall
	p.rss, p.heap, p.series = m1["process_resident_memory_bytes"], m1["go_memstats_heap_inuse_bytes"], m1["prometheus_tsdb_head_series"]
	return p
}

// promValue is the single value of an instant query's answer (NaN when
// there is none).
func promValue(base, q string) float64 {
	resp, err := http.Get(base + "/api/v1/query?" + url.Values{"query": {q}}.Encode())
	if err != nil {
		return math.NaN()
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Result []struct {
				Value []any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if json.NewDecoder(resp.Body).Decode(&r) != nil || len(r.Data.Result) != 1 || len(r.Data.Result[0].Value) != 2 {
		return math.NaN()
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

// selfMetrics reads a server's own /metrics: every sample by its series
// as written there ("name" or `name{labels}`).
func selfMetrics(b testing.TB, base string) map[string]float64 {
	resp, err := http.Get(base + "/metrics")
	require.NoError(b, err)
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(b, err)
	out := map[string]float64{}
	for name, mf := range fams {
		for _, m := range mf.GetMetric() {
			key := name
			if len(m.GetLabel()) > 0 {
				var ls []string
				for _, l := range m.GetLabel() {
					ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
				}
				key += "{" + strings.Join(ls, ",") + "}"
			}
			out[key] = metricValue(mf.GetType(), m)
		}
	}
	return out
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func medianOf(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
