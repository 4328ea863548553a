package uitest

import (
	"net/url"
	"regexp"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestProcessPage: a process opened by its registered name and by its
// pid shows ectl's pi fields, its stack and dictionary; its group leader
// is a link that opens the group leader's page; Refresh reads it again; a
// viewer is told that the page needs the operator role.
func TestProcessPage(t *testing.T) {
	s := StartServer(t, ServerOptions{})
	node := s.Nodes[0].Name
	nodePath := s.Base + "/ui/nodes/" + url.PathEscape(node) + "/processes/"
	tab := Tab(t)
	Login(t, tab, s.Base, "oscar")

	// By registered name.
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(nodePath+"code_server"),
		WaitText("#pi", "Initial call"),
	))
	text := Eval[string](t, tab, `document.getElementById('pi').textContent`)
	for _, want := range []string{"(code_server)", "Current function", "Status", "Message queue length", "Process size",
		"Reductions", "Group leader", "Links", "Monitored by", "Current stack depth is", "Dictionary"} {
		require.Contains(t, text, want)
	}
	pid := regexp.MustCompile(`Process (<0\.\d+\.\d+>) \(code_server\)`).FindStringSubmatch(text)
	require.NotNil(t, pid, text)
	Axe(t, tab)

	// Refresh reads it again.
	before := Eval[string](t, tab, `document.querySelector('[aria-live=polite]').textContent`)
	require.Contains(t, before, "Read at")
	require.NoError(t, chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(`#pi-refresh`)),
		WaitJS(`!document.getElementById('pi-refresh').disabled`),
		WaitText("#pi", "(code_server)"),
	))

	// The group leader is a link to its own page.
	gl := Eval[string](t, tab, `(() => {
		const dt = [...document.querySelectorAll('#pi dt')].find(d => d.textContent === 'Group leader');
		const a = dt.nextElementSibling.querySelector('a');
		return a ? a.textContent : '';
	})()`)
	require.Regexp(t, `^<0\.\d+\.\d+>$`, gl)
	require.NoError(t, chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(`#pi a[href$="`+url.PathEscape(gl)+`"]`)),
		WaitText("main h1", gl),
		WaitText("#pi", "Process "+gl),
	))
	// The page's links are encodeURIComponent's (url.QueryEscape's, for a node name and a pid).
	require.Equal(t, "/ui/nodes/"+url.QueryEscape(node)+"/processes/"+url.QueryEscape(gl), Eval[string](t, tab, `location.pathname`))

	// By pid, typed in the URL.
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(nodePath+url.PathEscape(pid[1])),
		WaitText("#pi", "Process "+pid[1]+" (code_server)"),
	))

	// A supervisor: links and a dictionary (proc_lib's '$ancestors').
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(nodePath+"kernel_sup"),
		WaitText("#pi", "(kernel_sup)"),
		WaitText("#pi table", "$ancestors"),
	))
	require.Greater(t, Eval[int](t, tab, `[...document.querySelectorAll('#pi dt')].find(d => d.textContent === 'Links').nextElementSibling.querySelectorAll('a').length`), 1)
	Axe(t, tab)
	Screenshot(t, tab, "process")

	// A process that is not there: the node's answer, said plainly.
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(nodePath+url.PathEscape("<0.9999.0>")),
		WaitText("#pi .error", "is not alive"),
	))

	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(nodePath+"beamctl_no_such_name"),
		WaitText("#pi .error", "no process is registered as beamctl_no_such_name"),
	))

	// A viewer is told why there is nothing.
	vtab := Tab(t)
	Login(t, vtab, s.Base, "victor")
	require.NoError(t, chromedp.Do(vtab,
		chromedp.Navigate(nodePath+"code_server"),
		WaitText("#pi .error", "needs the operator role"),
	))
	Axe(t, vtab)
}
