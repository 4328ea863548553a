package uitest

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestShell: a page's URL without a session leads to the login page and
// back to that page after logging in; the page lists the node; the back
// button returns to the previous page; no serious accessibility violation.
func TestShell(t *testing.T) {
	s := StartServer(t, ServerOptions{})
	tab := Tab(t)
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(s.Base+"/ui/families"),
		chromedp.WaitVisible(chromedp.CSS(`#login-user`)),
	))
	Axe(t, tab)
	Screenshot(t, tab, "login")
	require.NoError(t, chromedp.Do(tab,
		chromedp.SendKeys(chromedp.CSS(`#login-user`), "victor"),
		chromedp.SendKeys(chromedp.CSS(`#login-password`), Password),
		chromedp.Click(chromedp.CSS(`form.login button[type=submit]`)),
	))
	require.NoError(t, chromedp.Do(tab, WaitText("main h1", "Families")))
	require.Equal(t, "/ui/families", Eval[string](t, tab, `location.pathname`))
	require.NoError(t, chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(`header.top nav a[href="/ui/"]`)),
		WaitText("main", s.Nodes[0].Name),
	))
	require.NoError(t, chromedp.Do(tab, chromedp.NavigateBack(), WaitText("main h1", "Families")))
	require.NoError(t, chromedp.Do(tab, chromedp.NavigateForward(), WaitText("main", s.Nodes[0].Name)))
	Axe(t, tab)
	// A viewer is not offered the admin pages.
	require.Equal(t, 0, Eval[int](t, tab, `document.querySelectorAll('header nav a[href="/ui/audit"]').length`))
	Screenshot(t, tab, "shell")
}
