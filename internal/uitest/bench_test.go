package uitest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/beamctl/beamctl/internal/app"
	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/erlnode"
	"github.com/beamctl/beamctl/internal/testnode"
	"github.com/beamctl/beamctl/internal/ui"
)

// benchQuery is the series both UIs show: one per node.
const benchQuery = `erlang_vm_memory_bytes{kind="total"}`

// paintWatch runs in every document of the benchmark's tab: it notes
// (window.__rows, in ms since the navigation started) when the page's
// table first holds __want rows, the same way for both UIs: beamctl's
// overview rows, Prometheus' console table rows.
const paintWatch = `(() => {
  const want = %d;
  const check = () => {
    if (window.__rows != null) return;
    if (document.querySelectorAll('tr.ov-node, .console_table tbody tr').length >= want) window.__rows = performance.now();
  };
  new MutationObserver(check).observe(document, {childList: true, subtree: true});
})()`

// BenchmarkOverviewFirstPaint measures, in chromium, the time from the
// navigation to the overview's node rows in the DOM with 3 nodes and with
// BEAMCTL_BENCH_NODES (default 20) small real nodes, and the same for
// Prometheus' classic graph page (Debian's prometheus, scraping beamctl's
// /federate) showing the table of benchQuery: one series a node. Metrics:
// beamctl-ms and prometheus-ms (the same observer on both pages: rows in
// the DOM), beamctl-mark-ms (the page's own mark, after the frame that
// paints the first rows), overview-api-ms (the one API request, from
// its start to its answer's end), ratio (beamctl-ms / prometheus-ms), and the UI's
// gzipped JS+CSS. Each iteration loads both pages once (a warm HTTP
// cache after the first).
func BenchmarkOverviewFirstPaint(b *testing.B) {
	many := 20
	if s := os.Getenv("BEAMCTL_BENCH_NODES"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(b, err, "BEAMCTL_BENCH_NODES")
		many = n
	}
	for _, n := range []int{3, many} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) { benchFirstPaint(b, n) })
	}
}

func benchFirstPaint(b *testing.B, nodes int) {
	s := startBenchServer(b, nodes)
	prom := startPrometheus(b, s.Base)
	tab := Tab(b)
	Login(b, tab, s.Base, "victor")
	_, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: fmt.Sprintf(paintWatch, nodes)})
	require.NoError(b, err)

	// Ready: every node's figures on beamctl, every series in Prometheus.
	require.NoError(b, chromedp.Do(tab, chromedp.Navigate(s.Base+"/ui/"), waitLong(rowsWithFigures(nodes))))
	promURL := prom + "/classic/graph?" + url.Values{"g0.expr": {benchQuery}, "g0.tab": {"1"}}.Encode()
	require.Eventually(b, func() bool { return promSeries(b, prom) == nodes }, 2*time.Minute, time.Second,
		"Prometheus has the %d series", nodes)

	measure := func(u string) (rows, mark float64) {
		require.NoError(b, chromedp.Do(tab, chromedp.Navigate(u), waitLong(`window.__rows != null`)))
		rows = Eval[float64](b, tab, `window.__rows`)
		if strings.HasPrefix(u, s.Base) {
			require.NoError(b, chromedp.Do(tab, waitLong(`performance.getEntriesByName('beamctl:overview-rows').length > 0`)))
			mark = Eval[float64](b, tab, `performance.getEntriesByName('beamctl:overview-rows')[0].startTime`)
		}
		return rows, mark
	}
	var beam, marks, promMS, apiMS []float64
	b.ResetTimer()
	for range b.N {
		r, m := measure(s.Base + "/ui/")
		apiMS = append(apiMS, Eval[float64](b, tab, `(() => { const e = performance.getEntriesByType('resource').find(e => e.name.includes('/api/v1/overview'));
  return e.responseEnd - e.startTime; })()`))
		p, _ := measure(promURL)
		beam, marks, promMS = append(beam, r), append(marks, m), append(promMS, p)
	}
	b.StopTimer()
	require.Equal(b, nodes, Eval[int](b, tab, `document.querySelectorAll('.console_table tbody tr').length`))
	bm, pm := median(beam), median(promMS)
	b.ReportMetric(bm, "beamctl-ms")
	b.ReportMetric(median(marks), "beamctl-mark-ms")
	b.ReportMetric(pm, "prometheus-ms")
	b.ReportMetric(median(apiMS), "overview-api-ms")
	b.ReportMetric(bm/pm, "ratio")
	gz := 0
	for _, sz := range ui.Sizes() {
		gz += sz[1]
	}
	b.ReportMetric(float64(gz), "ui-gz-bytes")
}

// startBenchServer is StartServer for many small nodes (+S 1 +A 0
// +SDio 1 +SDcpu 1), started four at a time, collected every 5 s.
func startBenchServer(b *testing.B, n int) *Server {
	b.Helper()
	testnode.ErlPath(b)
	cookie := "uitestbench"
	names := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			nd, err := erlnode.Start(context.Background(), erlnode.Spec{Name: erlnode.RandomName("bb"), Cookie: cookie,
				Args: []string{"+S", "1", "+A", "0", "+SDio", "1", "+SDcpu", "1"}, StartTimeout: 3 * time.Minute, Dir: b.TempDir()})
			if err != nil {
				errs[i] = err
				return
			}
			b.Cleanup(nd.Kill)
			names[i] = nd.Name
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(b, err)
	}
	yml := fmt.Sprintf("global:\n  collect_interval: 5s\n  discover_interval: 5s\nclusters:\n  - name: bench\n    cookie: %s\n    nodes: [%s]\n",
		cookie, strings.Join(names, ", "))
	cfg, err := config.Parse([]byte(yml), b.TempDir())
	require.NoError(b, err)
	hash, err := bcrypt.GenerateFromPassword([]byte(Password), bcrypt.MinCost)
	require.NoError(b, err)
	webConfig := filepath.Join(b.TempDir(), "web.yml")
	require.NoError(b, os.WriteFile(webConfig, fmt.Appendf(nil, "basic_auth_users:\n  victor: %s\n", hash), 0o600))
	a, err := app.New(app.Options{Config: cfg, StoragePath: b.TempDir(), Listen: "127.0.0.1:0", WebConfigFile: webConfig, Version: "bench"})
	require.NoError(b, err)
	b.Cleanup(func() { _ = a.Stop() })
	require.NoError(b, a.Start(context.Background()))
	return &Server{App: a, Base: "http://" + a.Addr()}
}

// startPrometheus runs Debian's prometheus scraping benchQuery's series
// from beamctl's /federate every second; it returns its URL.
func startPrometheus(b *testing.B, beamctl string) string {
	b.Helper()
	bin, err := exec.LookPath("prometheus")
	require.NoError(b, err, "the benchmark compares with Debian's prometheus (make deps installs it)")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	addr := l.Addr().String()
	require.NoError(b, l.Close())
	dir := b.TempDir()
	u, err := url.Parse(beamctl)
	require.NoError(b, err)
	conf := fmt.Sprintf(`global: {scrape_interval: 1s}
scrape_configs:
  - job_name: beamctl
    metrics_path: /federate
    honor_labels: true
    params: {'match[]': ['%s']}
    basic_auth: {username: victor, password: '%s'}
    static_configs: [{targets: ['%s']}]
`, benchQuery, Password, u.Host)
	confFile := filepath.Join(dir, "prometheus.yml")
	require.NoError(b, os.WriteFile(confFile, []byte(conf), 0o600))
	cmd := exec.Command(bin, "--config.file="+confFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(b, cmd.Start())
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if b.Failed() {
			b.Logf("prometheus output:\n%s", out.String())
		}
	})
	return "http://" + addr
}

// promSeries is how many series benchQuery has in Prometheus now (-1 when
// it does not answer yet).
func promSeries(b *testing.B, prom string) int {
	b.Helper()
	resp, err := http.Get(prom + "/api/v1/query?" + url.Values{"query": {"count(" + benchQuery + ")"}}.Encode())
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || len(r.Data.Result) != 1 {
		return -1
	}
	v, _ := r.Data.Result[0].Value[1].(string)
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return n
}
