package uitest

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"
)

// chartsWithData counts the Node page's charts that drew points on a canvas.
const chartsWithData = `[...document.querySelectorAll('figure.chart')].filter(f => Number(f.dataset.points) > 0 && f.querySelector('canvas')).length`

// encodeURIComponent escapes as JavaScript's function of that name does
// (for these names: node names and pids).
func encodeURIComponent(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// TestNodePage: an operator opens a node from the overview and finds its
// charts drawn with data, switches the range (kept in the URL), moves
// between the tool tabs with the keyboard, runs top in the Processes tab and
// follows a process's link to the Process page; a viewer is told the tools
// need the operator role, and the API refuses them; no serious
// accessibility violation, in light and dark mode.
func TestNodePage(t *testing.T) {
	s := StartServer(t, ServerOptions{})
	node := s.Nodes[0].Name
	nodePath := "/ui/nodes/" + encodeURIComponent(node)
	tab := Tab(t)
	Login(t, tab, s.Base, "oscar")
	require.NoError(t, chromedp.Do(tab,
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`main a[href=%q]`, nodePath))),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`main a[href=%q]`, nodePath))),
		WaitText("main h1", node),
		WaitText("dl.node-facts", "Active alarms"),
	))
	require.Equal(t, nodePath, Eval[string](t, tab, `location.pathname`))
	// Several charts with points (the collection runs every second here).
	require.NoError(t, chromedp.Do(tab, WaitJS(chartsWithData+` >= 6`)), "charts with data")
	total := Eval[int](t, tab, `document.querySelectorAll('figure.chart').length`)
	require.GreaterOrEqual(t, total, 10)
	// The header names the node's state and OTP release.
	facts := Eval[string](t, tab, `document.querySelector('dl.node-facts').textContent`)
	require.Contains(t, facts, "up")
	require.Contains(t, facts, "test") // the cluster
	Axe(t, tab)

	// Another range: the URL keeps it and the charts are drawn again (the
	// screenshot waits for some 40 s of memory readings in it).
	require.NoError(t, chromedp.Do(tab, chromedp.SetValue(chromedp.CSS(`.chart-bar select`), "5m")))
	Eval[bool](t, tab, `document.querySelector('.chart-bar select').dispatchEvent(new Event('change'))`)
	require.NoError(t, chromedp.Do(tab,
		WaitJS(`new URL(location.href).searchParams.get('range') === '5m'`),
		WaitJS(chartsWithData+` >= 6`),
	))
	var err error
	for range 4 { // each wait gives up after 30 s
		if err = chromedp.Do(tab, WaitJS(`Number(document.querySelector('figure.chart').dataset.points) >= 48`)); err == nil {
			break
		}
	}
	require.NoError(t, err, "40 s of memory readings")
	Screenshot(t, tab, "node")

	// The tabs: the keyboard moves between them; Enter opens one.
	require.Equal(t, "true", Eval[string](t, tab, `document.querySelector('#tab-notifications').getAttribute('aria-selected')`))
	require.NoError(t, chromedp.Do(tab,
		chromedp.Focus(chromedp.CSS(`#tab-notifications`)),
		chromedp.KeyEvent(kb.ArrowRight),
		WaitJS(`document.activeElement.id === 'tab-alarms'`),
		chromedp.KeyEvent(kb.ArrowLeft),
		chromedp.KeyEvent(kb.ArrowLeft),
		WaitJS(`document.activeElement.id === 'tab-leaks'`),
		chromedp.KeyEvent(kb.Home),
		WaitJS(`document.activeElement.id === 'tab-notifications'`),
		chromedp.KeyEvent(kb.End),
		chromedp.KeyEvent(kb.Enter),
		WaitJS(`new URL(location.href).searchParams.get('tab') === 'leaks'`),
		WaitText(`#panel-leaks`, "needs the admin role"),
	))

	// Every other tab renders its result (or says why it cannot run).
	for _, id := range []string{"alarms", "apps", "suptree", "ports", "ets", "alloc", "msacc"} {
		require.NoError(t, chromedp.Do(tab,
			chromedp.Click(chromedp.CSS(`#tab-`+id)),
			WaitJS(fmt.Sprintf(`!!document.querySelector('#panel-%s .tab-body').querySelector('table, .empty, .tool-off, .error, .st-tree')`, id)),
		), "tab %s", id)
		require.Equal(t, 0, Eval[int](t, tab, fmt.Sprintf(`document.querySelectorAll('#panel-%s .error').length`, id)), "tab %s: %s",
			id, Eval[string](t, tab, fmt.Sprintf(`document.querySelector('#panel-%s').textContent`, id)))
	}
	require.NoError(t, chromedp.Do(tab,
		WaitText("#panel-apps", "kernel"),
		WaitText("#panel-ets", "ac_tab"),
		WaitText("#panel-alloc", "binary_alloc"),
		WaitText("#panel-ports", "tcp_inet"),
	))

	// Processes: top runs once the tab is opened; a row opens the process.
	require.NoError(t, chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(`#tab-processes`)),
		WaitJS(`document.querySelectorAll('#panel-processes tbody a').length > 0`),
	))
	require.Equal(t, "processes", Eval[string](t, tab, `new URL(location.href).searchParams.get('tab')`))
	require.False(t, Eval[bool](t, tab, `document.querySelector('#panel-notifications').checkVisibility()`))
	Axe(t, tab)
	Screenshot(t, tab, "node-processes")
	pid := Eval[string](t, tab, `document.querySelector('#panel-processes tbody a').textContent`)
	require.True(t, strings.HasPrefix(pid, "<"), pid)
	require.NoError(t, chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(`#panel-processes tbody a`)),
		WaitJS(`location.pathname.includes('/processes/')`),
		WaitJS(`!!document.querySelector('main h1') && document.querySelector('main h1').textContent.length > 0`),
	))
	require.Equal(t, nodePath+"/processes/"+encodeURIComponent(pid), Eval[string](t, tab, `location.pathname`))

	// Dark mode.
	Eval[bool](t, tab, `localStorage.setItem('beamctl-theme', 'dark'), true`)
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(s.Base+nodePath+"?range=15m"),
		WaitText("main h1", node),
		WaitJS(chartsWithData+` >= 6`),
	))
	require.Equal(t, "dark", Eval[string](t, tab, `document.documentElement.dataset.theme`))
	Axe(t, tab)
	Screenshot(t, tab, "node-dark")

	// A viewer sees the charts and is told the tools need operator; the
	// API refuses them.
	viewer := Tab(t)
	Login(t, viewer, s.Base, "victor")
	require.NoError(t, chromedp.Do(viewer,
		chromedp.Navigate(s.Base+nodePath+"?tab=processes"),
		WaitText("#panel-processes", "needs the operator role"),
	))
	require.Equal(t, 0, Eval[int](t, viewer, `document.querySelectorAll('#panel-processes table, #panel-processes form').length`))
	status := Eval[int](t, viewer, fmt.Sprintf(`fetch(%q, {headers: {'X-Beamctl-UI': '1'}}).then(r => r.status)`,
		"/api/v1/nodes/"+encodeURIComponent(node)+"/top"))
	require.Equal(t, 403, status)
	Axe(t, viewer)

	// An admin runs msacc and leaks (POST, audited): their tables show.
	admin := Tab(t)
	Login(t, admin, s.Base, "alice")
	require.NoError(t, chromedp.Do(admin,
		chromedp.Navigate(s.Base+nodePath+"?tab=msacc"),
		WaitText("#panel-msacc table", "scheduler"),
		chromedp.Click(chromedp.CSS(`#tab-leaks`)),
		WaitJS(`!!document.querySelector('#panel-leaks table')`),
	))
	require.Equal(t, 0, Eval[int](t, admin, `document.querySelectorAll('#panel-msacc .error, #panel-leaks .error').length`))
	Screenshot(t, admin, "node-msacc")
}
