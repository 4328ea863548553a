package uitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/config"
)

// TestQuery: on the query page, erlang_vm_processes (run with Ctrl+Enter)
// draws a chart with a series per node and, in the Table tab, a row per
// node; the view is in the URL; a bad expression shows the API's error; the
// "Open in Grafana" link carries the same query, and is absent once the
// configuration has no Grafana URL.
func TestQuery(t *testing.T) {
	s := StartServer(t, ServerOptions{Nodes: 2, Web: "grafana_url: http://grafana.example:3000/\ngrafana_datasource: beamctl"})
	const expr = "erlang_vm_processes"
	require.Eventually(t, func() bool { // both nodes collected
		status, d, _ := get[struct {
			Result []any `json:"result"`
		}](t, s.Base, "/api/v1/query?query="+url.QueryEscape(expr), "victor")
		return status == http.StatusOK && len(d.Result) == 2
	}, 60*time.Second, 250*time.Millisecond)

	tab := Tab(t)
	Login(t, tab, s.Base, "victor")
	require.NoError(t, chromedp.Do(tab,
		// 5m: a step of 5s, so that the young store has points to draw.
		chromedp.Navigate(s.Base+"/ui/query?range=5m"),
		chromedp.WaitVisible(chromedp.CSS(`#query-expr`)),
		chromedp.SendKeys(chromedp.CSS(`#query-expr`), expr),
		chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		WaitJS(`document.querySelector('figure.chart').dataset.series === '2'`),
	))
	// Run again until the young store has 3 points per node at least.
	require.Eventually(t, func() bool {
		return Eval[bool](t, tab, `(() => { const n = Number(document.querySelector('figure.chart').dataset.points);
		  document.querySelector('form.query-form button[type=submit]').click(); return n >= 6; })()`)
	}, 60*time.Second, time.Second)
	require.Equal(t, "2", Eval[string](t, tab, `document.querySelector('figure.chart').dataset.series`))
	require.Equal(t, 1, Eval[int](t, tab, `document.querySelectorAll('figure.chart canvas').length`))
	require.Equal(t, expr, Eval[string](t, tab, `new URL(location.href).searchParams.get('expr')`))

	// Grafana's Explore, the same query and range, the configured data source.
	href := Eval[string](t, tab, `document.querySelector('.grafana-link a').href`)
	prefix := "http://grafana.example:3000/explore?left="
	require.True(t, strings.HasPrefix(href, prefix), href)
	left, err := url.QueryUnescape(strings.TrimPrefix(href, prefix))
	require.NoError(t, err)
	var pane struct {
		Datasource string `json:"datasource"`
		Queries    []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"queries"`
		Range struct{ From, To string } `json:"range"`
	}
	require.NoError(t, json.Unmarshal([]byte(left), &pane), left)
	require.Equal(t, "beamctl", pane.Datasource)
	require.Len(t, pane.Queries, 1)
	require.Equal(t, expr, pane.Queries[0].Expr)
	require.Equal(t, "now-5m", pane.Range.From)
	Axe(t, tab)
	Screenshot(t, tab, "query")

	// The Table tab: a row per node, the values the API answers.
	require.NoError(t, chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(`#query-tab-table`)),
		WaitJS(`document.querySelectorAll('#query-panel-table tbody tr').length === 2`),
	))
	require.Equal(t, "table", Eval[string](t, tab, `new URL(location.href).searchParams.get('tab')`))
	rows := Eval[[]string](t, tab, `[...document.querySelectorAll('#query-panel-table tbody tr')].map(r => r.textContent)`)
	for _, n := range s.Nodes {
		require.True(t, strings.Contains(rows[0], n.Name) || strings.Contains(rows[1], n.Name), "row of %s in %v", n.Name, rows)
	}
	vals := Eval[[]float64](t, tab, `[...document.querySelectorAll('#query-panel-table tbody td.num')].map(td => Number(td.textContent))`)
	for _, v := range vals {
		require.Greater(t, v, 10.0, "a node runs more than 10 processes")
	}
	Axe(t, tab)

	// A view is linkable: the URL alone brings it back, in dark mode too.
	view := s.Base + "/ui/query?" + url.Values{"expr": {expr}, "range": {"5m"}}.Encode()
	_, err = chromedp.Run(tab, chromedp.Evaluate[any](`localStorage.setItem('beamctl-theme', 'dark')`))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(view),
		WaitJS(`Number(document.querySelector('figure.chart')?.dataset.points) > 0`),
	))
	require.Equal(t, "5m", Eval[string](t, tab, `document.querySelector('.picker select').value`))
	require.Equal(t, expr, Eval[string](t, tab, `document.querySelector('#query-expr').value`))
	Axe(t, tab)
	Screenshot(t, tab, "query-dark")
	_, err = chromedp.Run(tab, chromedp.Evaluate[any](`localStorage.removeItem('beamctl-theme')`))
	require.NoError(t, err)

	// A bad expression: the API's error, as it gives it.
	const bad = "sum(erlang_vm_processes"
	_, _, apiErr := get[any](t, s.Base, "/api/v1/query?query="+url.QueryEscape(bad), "victor")
	require.NotEmpty(t, apiErr)
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(s.Base+"/ui/query?tab=table&expr="+url.QueryEscape(bad)),
		chromedp.WaitVisible(chromedp.CSS(`.query-status .error`)),
	))
	require.Equal(t, apiErr, Eval[string](t, tab, `document.querySelector('.query-status .error').textContent`))

	// Without a Grafana URL (after a reload of the configuration), no link.
	cfg, err := config.Parse([]byte(fmt.Sprintf(
		"global: {collect_interval: 1s, discover_interval: 1s}\nclusters:\n  - name: test\n    cookie: %s\n    nodes: [%s, %s]\n",
		s.Nodes[0].Cookie, s.Nodes[0].Name, s.Nodes[1].Name)), t.TempDir())
	require.NoError(t, err)
	require.NoError(t, s.App.Reload(cfg))
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(view),
		WaitJS(`Number(document.querySelector('figure.chart')?.dataset.points) > 0`),
	))
	require.Equal(t, 0, Eval[int](t, tab, `document.querySelectorAll('.grafana-link a').length`))
}
