package uitest

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/testnode"
)

// TestElixirNames opens a real Elixir node (Debian's elixir runtime): the
// Processes tab, the Process page and the Supervision trees tab spell its
// names, functions and pids as Elixir does (auto), and as Erlang does when
// the header's syntax choice says so.
func TestElixirNames(t *testing.T) {
	s := StartServer(t, ServerOptions{NodeOptions: testnode.Options{Args: testnode.ElixirArgs(t), Eval: testnode.ElixirEval(testnode.ElixirFloodedWorker(500))}})
	node := s.Nodes[0].Name
	nodePath := s.Base + "/ui/nodes/" + encodeURIComponent(node)
	tab := Tab(t)
	Login(t, tab, s.Base, "oscar")
	row := `[...document.querySelectorAll('#panel-processes tbody tr')].find(r => r.textContent.includes('MyApp.Worker'))`
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(nodePath+"?tab=processes"),
		chromedp.SetValue(`#panel-processes select[name=by]`, "message_queue_len"),
		chromedp.Click(`#panel-processes button[type=submit]`),
		WaitJS(`!!(`+row+`)`),
	))
	first := Eval[string](t, tab, row+`.textContent`)
	require.Contains(t, first, "#PID<")
	require.Contains(t, first, "Process.sleep/1")
	require.NotContains(t, first, "Elixir.")
	Axe(t, tab)
	Screenshot(t, tab, "elixir-processes")

	// The process page, opened from the row.
	require.NoError(t, chromedp.Do(tab,
		chromedp.Click(`#panel-processes tbody a`),
		WaitText(`main section h2`, "(MyApp.Worker)"),
	))
	page := Eval[string](t, tab, `document.querySelector('#pi').textContent`)
	require.Contains(t, page, "Process #PID<")
	require.Contains(t, page, "MyApp.Worker.init/1")
	require.Contains(t, page, "Process.sleep/1")
	require.Contains(t, page, "{MyApp.Worker, :init, 1}", "the dictionary's terms in Elixir's syntax")
	Screenshot(t, tab, "elixir-process")
	// Narrow (a phone): the header with its syntax choice and the page fit.
	require.NoError(t, chromedp.Do(tab, chromedp.EmulateViewport(390, 844),
		WaitJS(`document.documentElement.scrollWidth <= 391`)), "no horizontal scroll at 390 px")
	Screenshot(t, tab, "elixir-process-narrow")
	require.NoError(t, chromedp.Do(tab, chromedp.EmulateViewport(1280, 900)))
	// Dark.
	Eval[bool](t, tab, `localStorage.setItem('beamctl-theme', 'dark'), true`)
	require.NoError(t, chromedp.Do(tab, chromedp.Reload(), WaitText(`main section h2`, "(MyApp.Worker)")))
	Axe(t, tab)
	Screenshot(t, tab, "elixir-process-dark")
	Eval[bool](t, tab, `localStorage.removeItem('beamctl-theme'), true`)

	// The supervision tree of Elixir's logger application.
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(nodePath+"?tab=suptree&app=logger"),
		WaitJS(`!!document.querySelector('#panel-suptree .st-tree')`),
	))
	tree := Eval[string](t, tab, `document.querySelector('#panel-suptree .st-tree').textContent`)
	require.Contains(t, tree, "Logger.")
	require.NotContains(t, tree, "Elixir.")
	Axe(t, tab)
	Screenshot(t, tab, "elixir-suptree")

	// Erlang's spelling on request (kept across pages).
	Eval[bool](t, tab, `(s => { s.value = 'erlang'; return s.dispatchEvent(new Event('change')); })(document.querySelector('#syntax'))`)
	require.NoError(t, chromedp.Do(tab,
		WaitJS(`localStorage.getItem('beamctl-syntax') === 'erlang'`),
		chromedp.Navigate(nodePath+"?tab=suptree&app=logger"),
		WaitJS(`!!document.querySelector('#panel-suptree .st-tree')`),
	))
	require.Contains(t, Eval[string](t, tab, `document.querySelector('#panel-suptree .st-tree').textContent`), "Elixir.Logger")
	Eval[bool](t, tab, `localStorage.removeItem('beamctl-syntax'), true`)
	require.False(t, strings.Contains(Eval[string](t, tab, `document.querySelector('header').textContent`), "undefined"))
}
