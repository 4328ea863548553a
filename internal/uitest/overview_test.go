package uitest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/testnode"
)

// overviewAlarms raises process_limit as soon as a node is over 95 % of
// +P 1024.
const overviewAlarms = "alarms:\n  interval: 1s\n  builtin:\n    process_limit: {for: 0s}\n"

// rowsWithFigures is JavaScript: every node row of the overview shows its
// memory, processes and uptime (no dash), and there are n of them.
func rowsWithFigures(n int) string {
	return fmt.Sprintf(`(() => {
  const rows = [...document.querySelectorAll('tr.ov-node')];
  return rows.length === %d && rows.every(r => [3, 4, 8].every(i => r.children[i].textContent !== '–'));
})()`, n)
}

// sparksDrawn is JavaScript: the n node rows have their two sparklines.
func sparksDrawn(n int) string {
	return fmt.Sprintf(`document.querySelectorAll('tr.ov-node td.ov-spark svg polyline').length === %d`, 2*n)
}

// waitLong is WaitJS for up to two minutes.
func waitLong(js string) chromedp.Action[chromedp.Void] { return WaitJSFor(js, 2*time.Minute) }

// apiFetches is JavaScript: the paths of the API requests the page made
// since it was loaded.
const apiFetches = `performance.getEntriesByType('resource').map(e => new URL(e.name).pathname).filter(p => p.startsWith('/api/'))`

// TestOverview: the overview lists every node with its figures and
// sparklines; a node over its process limit is coloured by its critical
// alarm without a reload; the search filters; a page view makes the same
// requests with 1 node as with 3; no serious accessibility violation in
// light and dark mode.
func TestOverview(t *testing.T) {
	s := StartServer(t, ServerOptions{Nodes: 3, NodeOptions: nodeOpts("+P", "1024"), Family: "shop", Config: overviewAlarms})
	waitFigures(t, s, 3)
	tab := Tab(t)
	Login(t, tab, s.Base, "victor")
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(s.Base+"/ui/"),
		WaitJS(rowsWithFigures(3)),
		WaitJS(`document.querySelector('table.ov-nodes').dataset.sparks === 'drawn'`),
		WaitText("table.ov-summary", "shop"),
	))
	for _, n := range s.Nodes {
		href := Eval[string](t, tab, fmt.Sprintf(`document.querySelector('tr.ov-node[data-node=%q] a').getAttribute('href')`, n.Name))
		require.Equal(t, "/ui/nodes/"+strings.ReplaceAll(n.Name, "@", "%40"), href)
	}
	fetches := Eval[[]string](t, tab, apiFetches)
	require.ElementsMatch(t, []string{"/api/v1/session", "/api/v1/overview"}, fetches, "one overview request for the whole page")

	// Fill the first node's process table: its row turns critical.
	ctx := context.Background()
	c, err := dist.Dial(ctx, s.Nodes[0].Name, dist.Options{Cookie: s.Nodes[0].Cookie})
	require.NoError(t, err)
	defer c.Close()
	_, err = inspect.EvalWith(ctx, c, `[spawn(timer, sleep, [infinity]) || _ <- lists:seq(1, 1000 - erlang:system_info(process_count))], ok.`, nil)
	require.NoError(t, err)
	critical := fmt.Sprintf(`tr.ov-node.sev-critical[data-node=%q]`, s.Nodes[0].Name)
	require.NoError(t, chromedp.Do(tab, WaitJS(fmt.Sprintf(`!!document.querySelector(%q)`, critical))))
	bg := Eval[string](t, tab, fmt.Sprintf(`getComputedStyle(document.querySelector(%q)).backgroundColor`, critical))
	want := Eval[string](t, tab, `(() => { const e = document.createElement('span'); e.className = 'sev-critical'; document.body.append(e);
  const c = getComputedStyle(e).backgroundColor; e.remove(); return c; })()`)
	require.Equal(t, want, bg, "the row has the critical colour")
	require.Contains(t, Eval[string](t, tab, `document.querySelector('table.ov-summary tr.ov-cluster').textContent`), "critical")
	require.Equal(t, 3, Eval[int](t, tab, `document.querySelectorAll('tr.ov-node').length`), "the refresh keeps every node")

	// Search and filter, client-side.
	other := s.Nodes[1].Name
	require.NoError(t, chromedp.Do(tab,
		chromedp.SendKeys(chromedp.CSS(`#ov-search`), strings.Split(other, "@")[0]),
		WaitJS(fmt.Sprintf(`(() => { const r = document.querySelectorAll('tr.ov-node'); return r.length === 1 && r[0].dataset.node === %q; })()`, other)),
		WaitText("#ov-count", "1 of 3 nodes"),
	))
	require.Contains(t, Eval[string](t, tab, `location.search`), "q=")
	require.NoError(t, chromedp.Do(tab,
		chromedp.Evaluate[chromedp.Void](`(() => { const e = document.getElementById('ov-search'); e.value = ''; e.dispatchEvent(new Event('input')); })()`),
		WaitJS(`document.querySelectorAll('tr.ov-node').length === 3`),
		chromedp.SetValue(chromedp.CSS(`#ov-severity`), "critical"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('ov-severity').dispatchEvent(new Event('change'))`),
		WaitJS(fmt.Sprintf(`(() => { const r = document.querySelectorAll('tr.ov-node'); return r.length === 1 && r[0].dataset.node === %q; })()`, s.Nodes[0].Name)),
	))

	// The sparklines once two points a minute apart are stored (a sparkline
	// needs two).
	require.NoError(t, chromedp.Do(tab,
		chromedp.Evaluate[chromedp.Void](`(() => { const e = document.getElementById('ov-severity'); e.selectedIndex = 0; e.dispatchEvent(new Event('change')); })()`),
		waitLong(sparksDrawn(3)),
		chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`),
	))
	require.NoError(t, chromedp.Do(tab, WaitJS(rowsWithFigures(3))))
	Axe(t, tab)
	Screenshot(t, tab, "overview")

	// Dark mode.
	require.NoError(t, chromedp.Do(tab,
		chromedp.Evaluate[chromedp.Void](`localStorage.setItem('beamctl-theme', 'dark')`),
		chromedp.Navigate(s.Base+"/ui/"),
		WaitJS(rowsWithFigures(3)),
		WaitJS(sparksDrawn(3)),
	))
	Axe(t, tab)
	Screenshot(t, tab, "overview-dark")

	// The same page view with one node makes the same requests.
	one := StartServer(t, ServerOptions{Nodes: 1})
	waitFigures(t, one, 1)
	tab1 := Tab(t)
	Login(t, tab1, one.Base, "victor")
	require.NoError(t, chromedp.Do(tab1,
		chromedp.Navigate(one.Base+"/ui/"),
		WaitJS(rowsWithFigures(1)),
		WaitJS(`document.querySelector('table.ov-nodes').dataset.sparks === 'drawn'`),
	))
	require.ElementsMatch(t, fetches, Eval[[]string](t, tab1, apiFetches), "requests with 1 node and with 3")
}

// waitFigures waits until the overview's figures of the server's n nodes
// are stored, so that the page's first request finds them (each node's
// collection starts at its own offset within the first tick; a page
// loaded before refetches at its next refresh).
func waitFigures(t *testing.T, s *Server, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, q := range []string{`erlang_vm_memory_bytes{kind="total"}`, `erlang_vm_processes`,
			`erlang_vm_scheduler_type_utilization_ratio{type="normal"}`, `sum by (node) (erlang_vm_statistics_run_queue_length)`} {
			res, err := s.App.Query(context.Background(), q)
			if err != nil || len(res.Series) != n {
				return false
			}
		}
		return true
	}, time.Minute, 100*time.Millisecond, "the nodes' figures stored")
}

// nodeOpts are the test nodes' options with extra erl arguments.
func nodeOpts(args ...string) (o testnode.Options) {
	o.Args = args
	o.StartTimeout = 2 * time.Minute
	return o
}
