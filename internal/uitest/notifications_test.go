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
)

// TestNotificationsPage: a logger:error on a real node appears in the
// page's open stream, without a reload, within 2 s of being logged; a
// paused stream shows nothing new until resumed, then what came in
// between; the search (text and kind in the URL) finds it and it expands
// to its fields; the crash dumps section is there (no download link for a
// viewer). Light and dark, with no serious accessibility violation.
func TestNotificationsPage(t *testing.T) {
	s := StartServer(t, ServerOptions{})
	node := s.Nodes[0]
	ctx := context.Background()
	c, err := dist.Dial(ctx, node.Name, dist.Options{Cookie: node.Cookie})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	logError := func(marker string) {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := inspect.Eval(cctx, c, fmt.Sprintf(`logger:error("uitest ~s failed", [%q]).`, marker))
		require.NoError(t, err)
	}
	// The server's log handler is on the node once it is watched.
	require.Eventually(t, func() bool {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		r, err := c.Call(cctx, "logger", "get_handler_ids")
		return err == nil && strings.Contains(fmt.Sprint(r), "beamctl_")
	}, 60*time.Second, 200*time.Millisecond)

	tab := Tab(t)
	Login(t, tab, s.Base, "victor")
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(s.Base+"/ui/notifications"),
		WaitText("main h1", "Notifications"),
		WaitText(".live-status", "Live"),
		WaitText("main", "node_first_seen"),
	))

	// Live: logged now, shown within 2 s, the page not reloaded.
	Eval[bool](t, tab, `window.__sameDocument = true`)
	start := time.Now()
	logError("kumquat")
	wctx, cancel := context.WithTimeout(tab, 2*time.Second)
	err = chromedp.Do(wctx, WaitText("ul.notes li.note", "uitest kumquat failed"))
	cancel()
	took := time.Since(start)
	require.NoError(t, err, "the logger:error is not in the stream 2 s after it was logged")
	t.Logf("logger:error to the open stream: %v (bound 2 s)", took)
	require.True(t, Eval[bool](t, tab, `window.__sameDocument === true`), "the page was reloaded")
	require.Contains(t, Eval[string](t, tab, `document.querySelector('ul.notes li.note').textContent`), "error")

	// Paused: nothing new is shown; resumed: what came in between is.
	require.NoError(t, chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(`.live-bar button`)),
		WaitText(".live-status", "Paused"),
	))
	logError("persimmon")
	time.Sleep(time.Second) // a stream still open would show it by now
	require.NotContains(t, Eval[string](t, tab, `document.querySelector('ul.notes').textContent`), "persimmon")
	require.NoError(t, chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(`.live-bar button`)),
		WaitText("ul.notes li.note", "uitest persimmon failed"),
		WaitText(".live-status", "Live"),
	))

	// Search: the text and the kind, as URL parameters; a hit expands to
	// its fields.
	require.NoError(t, chromedp.Do(tab,
		chromedp.SendKeys(chromedp.CSS(`#nf-grep`), "kumquat"),
		chromedp.SetValue(chromedp.CSS(`#nf-kind`), "log"),
		chromedp.Click(chromedp.CSS(`form.filters button[type=submit]`)),
		WaitJS(`location.search.includes('grep=kumquat') && location.search.includes('kind=log')`),
		WaitText("ul.notes", "uitest kumquat failed"),
	))
	require.Equal(t, 1, Eval[int](t, tab, `document.querySelectorAll('ul.notes li.note').length`), "only the one that matches")
	require.NoError(t, chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(`ul.notes li.note summary`)),
		WaitJS(`document.querySelector('ul.notes li.note details').open`),
		WaitText("ul.notes dl.fields", node.Name),
	))
	require.Equal(t, "error", Eval[string](t, tab,
		`[...document.querySelectorAll('ul.notes dl.fields dt')].find(e => e.textContent === 'severity').nextElementSibling.textContent`))
	// A search for another word finds neither.
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(s.Base+"/ui/notifications?grep=nosuchwordanywhere"),
		WaitText("main", "No notification matches."),
		chromedp.Navigate(s.Base+"/ui/notifications?grep=kumquat&severity=critical"),
		WaitText("main", "No notification matches."),
	))

	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(s.Base+"/ui/notifications"),
		WaitText(".live-status", "Live"),
		WaitText("ul.notes", "uitest persimmon failed"),
		WaitText("main", "No crash dump was fetched."),
		chromedp.Click(chromedp.CSS(`ul.notes li.note summary`)),
	))
	require.Contains(t, Eval[string](t, tab, `document.querySelector('main').textContent`), "needs the admin role")
	Axe(t, tab)
	Screenshot(t, tab, "notifications")
	Eval[bool](t, tab, `localStorage.setItem('beamctl-theme', 'dark'), true`)
	require.NoError(t, chromedp.Do(tab,
		chromedp.Reload(),
		WaitText(".live-status", "Live"),
		WaitText("ul.notes", "uitest persimmon failed"),
		chromedp.Click(chromedp.CSS(`ul.notes li.note summary`)),
	))
	Axe(t, tab)
	Screenshot(t, tab, "notifications-dark")
}
