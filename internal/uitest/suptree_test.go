package uitest

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/testnode"
)

// wideSup is a simple_one_for_one supervisor's callback module.
const wideSup = `-module(wide_sup).
-behaviour(supervisor).
-export([init/1, worker/0]).
worker() -> {ok, spawn_link(fun() -> receive stop -> ok end end)}.
init([]) -> {ok, {#{strategy => simple_one_for_one}, [#{id => w, start => {?MODULE, worker, []}}]}}.
`

// TestSuptree: the Node page's Supervision trees tab shows kernel's tree
// with a supervisor of 2,000 workers hung under kernel_safe_sup, cut at 50
// with its marker; supervisors fold with the keyboard; the application
// picker narrows the walk and keeps it in the URL; a pid opens its process.
func TestSuptree(t *testing.T) {
	dir := testnode.Compile(t, "wide_sup", wideSup)
	s := StartServer(t, ServerOptions{NodeOptions: testnode.Options{Args: []string{"-pa", dir},
		Eval: `{ok, _} = supervisor:start_child(kernel_safe_sup,
			#{id => wide, start => {supervisor, start_link, [{local, wide_sup}, wide_sup, []]}, type => supervisor}),
			[{ok, _} = supervisor:start_child(wide_sup, []) || _ <- lists:seq(1, 2000)]`}})
	node := s.Nodes[0].Name
	tab := Tab(t)
	Login(t, tab, s.Base, "oscar")
	page := s.Base + "/ui/nodes/" + url.PathEscape(node) + "?tab=suptree"
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(page),
		WaitText(".suptree .st-tree", "kernel_sup"),
		WaitText(".suptree .st-tree", "1950 more children not shown"),
	))
	require.Contains(t, Eval[string](t, tab, `document.querySelector('.suptree .st-status').textContent`), "nodes shown")
	// Each pid is a link to its process.
	href := Eval[string](t, tab, `document.querySelector('.suptree a.st-pid').getAttribute('href')`)
	require.True(t, strings.HasPrefix(href, "/ui/nodes/"+url.QueryEscape(node)+"/processes/%3C0."), href)
	// A library application has no tree; the picker lists the running applications.
	require.Contains(t, Eval[string](t, tab, `document.querySelector('.suptree .st-tree').textContent`), "stdlib (no supervisor)")
	require.NoError(t, chromedp.Do(tab, WaitJS(`[...document.querySelectorAll('#st-app option')].some(o => o.value === 'kernel')`)))
	Axe(t, tab)
	showCut(t, tab)
	Axe(t, tab)
	screenshotOf(t, tab, "#panel-suptree", "suptree")

	// The keyboard folds a supervisor: focus its button, press Enter, then Space.
	const safe = `[...document.querySelectorAll('.suptree button.st-toggle')].find(b => b.textContent === 'kernel_safe_sup')`
	isOpen := `(() => { const b = ` + safe + `; return b.getAttribute('aria-expanded') === 'true' && !b.parentElement.nextElementSibling.hidden; })()`
	require.True(t, Eval[bool](t, tab, isOpen))
	Eval[bool](t, tab, `(`+safe+`).focus(), true`)
	require.NoError(t, chromedp.Do(tab, chromedp.KeyEvent(kb.Enter)))
	require.False(t, Eval[bool](t, tab, isOpen))
	require.NoError(t, chromedp.Do(tab, chromedp.KeyEvent(" ")))
	require.True(t, Eval[bool](t, tab, isOpen))

	// Dark mode.
	Eval[bool](t, tab, `localStorage.setItem('beamctl-theme', 'dark'), true`)
	require.NoError(t, chromedp.Do(tab,
		chromedp.Reload(),
		WaitText(".suptree .st-tree", "kernel_sup"),
	))
	showCut(t, tab)
	Axe(t, tab)
	screenshotOf(t, tab, "#panel-suptree", "suptree-dark")
	Eval[bool](t, tab, `localStorage.removeItem('beamctl-theme'), true`)

	// The picker narrows the walk to one application, and the URL keeps it.
	require.NoError(t, chromedp.Do(tab, chromedp.SetValue(chromedp.CSS(`#st-app`), "kernel")))
	Eval[bool](t, tab, `document.querySelector('#st-app').dispatchEvent(new Event('change')), true`)
	require.NoError(t, chromedp.Do(tab,
		WaitJS(`!document.querySelector('.suptree .st-tree').textContent.includes('stdlib')`),
		WaitText(".suptree .st-tree", "kernel_sup"),
	))
	require.Equal(t, "kernel", Eval[string](t, tab, `new URL(location.href).searchParams.get('app')`))

	// A page opened on one application walks only it; the picker still
	// lists the others (from apps).
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(page+"&app=kernel"),
		WaitText(".suptree .st-tree", "kernel_sup"),
		WaitJS(`[...document.querySelectorAll('#st-app option')].some(o => o.value === 'stdlib')`),
	))
	require.Equal(t, "kernel", Eval[string](t, tab, `document.querySelector('#st-app').value`))
	require.NotContains(t, Eval[string](t, tab, `document.querySelector('.suptree .st-tree').textContent`), "stdlib")

	// A pid opens its process's page.
	require.NoError(t, chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(`.suptree a.st-pid`)),
		WaitJS(`location.pathname.includes('/processes/')`),
	))
	require.True(t, strings.HasPrefix(Eval[string](t, tab, `location.pathname`), "/ui/nodes/"+url.QueryEscape(node)+"/processes/%3C0."))
}

// showCut asks for 8 children per supervisor and opens wide_sup, whose
// other 1,992 workers are counted in a marker.
func showCut(t *testing.T, tab context.Context) {
	t.Helper()
	require.NoError(t, chromedp.Do(tab, chromedp.SetValue(chromedp.CSS(`#st-n`), "8"),
		chromedp.Click(chromedp.CSS(`.st-controls button[type=submit]`)),
		WaitText(".suptree .st-tree", "1992 more children not shown (max children)"),
	))
	Eval[bool](t, tab, `[...document.querySelectorAll('.suptree button.st-toggle')].find(b => b.textContent === 'wide').click(), true`)
	require.True(t, Eval[bool](t, tab, `[...document.querySelectorAll('.suptree .st-more')].some(m => m.textContent.startsWith('1992') && m.offsetParent !== null)`),
		"the marker is visible")
}

// screenshotOf saves the element sel as name.png beside Screenshot's: the
// tab, not the Node page's charts above it.
func screenshotOf(t *testing.T, tab context.Context, sel, name string) {
	t.Helper()
	png, err := chromedp.Run(tab, chromedp.Screenshot(chromedp.CSS(sel)))
	require.NoError(t, err)
	dir := ScreenshotDir()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	p := filepath.Join(dir, name+".png")
	require.NoError(t, os.WriteFile(p, png, 0o644))
	t.Logf("screenshot %s", p)
}
