package uitest

import (
	"context"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/testnode"
)

func uiModule(t *testing.T, v int, bad bool) string {
	body := "ok"
	if bad {
		body = "erlang:error(bad_build)"
	}
	return testnode.Compile(t, "ui_work", fmt.Sprintf("-module(ui_work).\n-export([version/0, work/0]).\nversion() -> %d.\nwork() -> %s.\n", v, body))
}

// TestDeploysPage: as alice (admin), a deploy is planned from the Deploys
// page's form (the .beam file uploaded by the browser), reviewed on its
// page, started there, and followed until it succeeds: the nodes' md5s,
// read from the nodes, are the new one. A bad build's page shows the
// failed gate and its evidence. As victor (viewer) the pages show, without
// the form or the commands.
func TestDeploysPage(t *testing.T) {
	v1 := uiModule(t, 1, false)
	// The workload calls ui_work:work() in a fresh process 5 times a second.
	s := StartServer(t, ServerOptions{Nodes: 3, Family: "chat", NodeOptions: testnode.Options{Args: []string{"-pa", v1},
		Eval: `code:ensure_loaded(ui_work), spawn(fun() -> (fun W() -> timer:sleep(200), proc_lib:spawn(fun() -> ui_work:work() end), W() end)() end), ok.`}})
	md5s := func() []string {
		var out []string
		for _, n := range s.Nodes {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
			require.NoError(t, err)
			r, err := c.Call(ctx, "erlang", "get_module_info", etf.Atom("ui_work"), etf.Atom("md5"))
			require.NoError(t, err)
			b, _ := r.([]byte)
			out = append(out, hex.EncodeToString(b))
			c.Close()
			cancel()
		}
		return out
	}
	before := md5s()

	tab := Tab(t)
	Login(t, tab, s.Base, "alice")
	plan := func(dir, bake string) string {
		require.NoError(t, chromedp.Do(tab,
			chromedp.Navigate(s.Base+"/ui/deploys"),
			WaitText("main h1", "Deploys"),
			WaitJS(`[...document.querySelectorAll('#dp-family option')].some(o => o.value === 'chat')`),
		))
		Screenshot(t, tab, "deploys") // the list and the plan form, light
		require.NoError(t, chromedp.Do(tab,
			chromedp.SetUploadFiles(`#dp-beams`, []string{filepath.Join(dir, "ui_work.beam")}),
			chromedp.SetValue(`#dp-bake`, bake),
			chromedp.SetValue(`#dp-every`, "250ms"),
			chromedp.Click(`form.plan-form button[type=submit]`),
			WaitText("main h1", "Deploy "),
			WaitText("main", "Waves"),
		))
		// Confirmations are answered yes (the page was loaded anew).
		Eval[bool](t, tab, `window.confirm = m => { window.__asked = m; return true; }, true`)
		return Eval[string](t, tab, `location.pathname.split('/').pop()`)
	}

	// A good build: the plan, then Start.
	id := plan(uiModule(t, 2, false), "2s")
	require.Equal(t, "planned", Eval[string](t, tab, `document.querySelector('.page-head .state').dataset.state`))
	require.Equal(t, 3, Eval[int](t, tab, `document.querySelectorAll('main section[aria-label=Nodes] tbody tr').length`))
	require.Equal(t, before, md5s(), "a plan changes nothing")
	Axe(t, tab)
	Screenshot(t, tab, "deploy-plan")
	require.NoError(t, chromedp.Do(tab,
		chromedp.Click(`button[data-action=start]`),
		WaitJS(`['running', 'succeeded'].includes(document.querySelector('.page-head .state').dataset.state)`),
	))
	require.Contains(t, Eval[string](t, tab, `window.__asked`), "Start deploy "+id)
	Screenshot(t, tab, "deploy-running")
	require.NoError(t, chromedp.Do(tab, WaitJS(`document.querySelector('.page-head .state').dataset.state === 'succeeded'`)))
	after := md5s()
	require.NotEqual(t, before[0], after[0])
	require.Equal(t, []string{after[0], after[0], after[0]}, after, "every node has the new build")
	require.Contains(t, Eval[string](t, tab, `document.querySelector('main section[aria-label=Events]').textContent`), "Every wave passed")
	Screenshot(t, tab, "deploy-succeeded")

	// A bad build fails its canary's gate; the page shows the evidence.
	plan(uiModule(t, 3, true), "1m")
	require.NoError(t, chromedp.Do(tab,
		chromedp.Click(`button[data-action=start]`),
		WaitJS(`document.querySelector('.page-head .state').dataset.state === 'failed'`),
		WaitText(".card.failure", "Gate errors failed in wave 1"),
	))
	require.Contains(t, Eval[string](t, tab, `document.querySelector('.card.failure').textContent`), "control (2 nodes not yet deployed")
	require.Equal(t, after, md5s(), "rolled back")
	Axe(t, tab)
	Screenshot(t, tab, "deploy-failed")
	// Narrow (a phone): the page reflows, nothing wider than the screen.
	require.NoError(t, chromedp.Do(tab, chromedp.EmulateViewport(390, 844)))
	require.LessOrEqual(t, Eval[int](t, tab, `document.documentElement.scrollWidth`), 390+1, "no horizontal scroll but in tables' own wrappers")
	Screenshot(t, tab, "deploy-failed-narrow")
	require.NoError(t, chromedp.Do(tab, chromedp.EmulateViewport(1280, 900)))

	Eval[bool](t, tab, `localStorage.setItem('beamctl-theme', 'dark'), true`)
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(s.Base+"/ui/deploys/"+id),
		WaitText(".page-head", "succeeded"),
	))
	Axe(t, tab)
	Screenshot(t, tab, "deploy-dark")
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(s.Base+"/ui/deploys"),
		WaitText("main table", id),
	))
	Axe(t, tab)
	Screenshot(t, tab, "deploys-dark")
	Eval[bool](t, tab, `localStorage.removeItem('beamctl-theme'), true`)

	// A viewer follows deploys but has neither the form nor the commands.
	viewer := Tab(t)
	Login(t, viewer, s.Base, "victor")
	require.NoError(t, chromedp.Do(viewer,
		chromedp.Navigate(s.Base+"/ui/deploys"),
		WaitText("main table", id),
	))
	require.Zero(t, Eval[int](t, viewer, `document.querySelectorAll('form.plan-form').length`))
	Screenshot(t, viewer, "deploys-viewer")
	require.NoError(t, chromedp.Do(viewer,
		chromedp.Navigate(s.Base+"/ui/deploys/"+id),
		WaitText(".page-head", "succeeded"),
	))
	require.Zero(t, Eval[int](t, viewer, `document.querySelectorAll('.page-head button').length`))
}
