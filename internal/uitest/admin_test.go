package uitest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
)

// TestAdminPages: as alice (admin), a token created on the Tokens page
// has its secret shown once (it works as a bearer token), and revoked
// after a confirmation (it no longer works); the users are listed with
// their roles; a crash dump of a real node is listed with its triage and
// downloaded; the Audit page lists token.create, token.revoke and
// crashdump.download, filters by action and checks the links of the
// chain. As victor (viewer) the Audit and Tokens pages say the admin role
// is needed, the API refuses, and the notifications page offers no
// download.
func TestAdminPages(t *testing.T) {
	s := StartServer(t, ServerOptions{})
	node := s.Nodes[0]
	ctx := context.Background()

	// A crash dump: erlang:halt/1 writes one; the server fetches it once
	// the node is back.
	require.Eventually(t, func() bool { // watched: the server's handler is on the node
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		c, err := dist.Dial(cctx, node.Name, dist.Options{Cookie: node.Cookie})
		if err != nil {
			return false
		}
		defer c.Close()
		r, err := c.Call(cctx, "logger", "get_handler_ids")
		return err == nil && strings.Contains(fmt.Sprint(r), "beamctl_")
	}, 60*time.Second, 200*time.Millisecond)
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c, err := dist.Dial(hctx, node.Name, dist.Options{Cookie: node.Cookie})
	require.NoError(t, err)
	_, _ = c.Call(hctx, "erlang", "halt", etf.String("uitest boom"))
	c.Close()
	cancel()
	node.Restart()

	tab := Tab(t)
	Login(t, tab, s.Base, "alice")

	// Tokens: create, the secret once.
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(s.Base+"/ui/tokens"),
		WaitText("main h1", "Tokens"),
		WaitText("main", "No API token."),
		WaitText("main", "oscar"),
		chromedp.SendKeys(chromedp.CSS(`#tk-name`), "ci-robot"),
		chromedp.SetValue(chromedp.CSS(`#tk-role`), "operator"),
		chromedp.Click(chromedp.CSS(`form.create-token button[type=submit]`)),
		WaitJS(`!!document.querySelector('#token-secret') && document.querySelector('#token-secret').value.length > 20`),
		WaitText("main table", "ci-robot"),
	))
	secret := Eval[string](t, tab, `document.querySelector('#token-secret').value`)
	require.Contains(t, Eval[string](t, tab, `document.querySelector('.secret-box').textContent`), "shown only this once")
	require.Equal(t, http.StatusOK, bearer(t, s.Base, secret), "the new token works")
	users := Eval[string](t, tab, `[...document.querySelectorAll('main section[aria-label=Users] tbody tr')].map(r => r.textContent).join(',')`)
	require.Equal(t, "aliceadmin,oscaroperator,victorviewer", users)
	Axe(t, tab)
	Screenshot(t, tab, "tokens")

	// Shown once: not after a reload, nor anywhere in the list.
	require.NoError(t, chromedp.Do(tab, chromedp.Reload(), WaitText("main table", "ci-robot")))
	require.Zero(t, Eval[int](t, tab, `document.querySelectorAll('#token-secret').length`))
	require.NotContains(t, Eval[string](t, tab, `document.body.textContent`), secret)

	// Revoke, after a confirmation.
	Eval[bool](t, tab, `window.confirm = m => { window.__asked = m; return true; }, true`)
	require.NoError(t, chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(`tr[data-token="ci-robot"] button.danger`)),
		WaitText("main", "revoked"),
		WaitText("main", "No API token."),
	))
	require.Contains(t, Eval[string](t, tab, `window.__asked`), "Revoke the token “ci-robot”")
	require.Equal(t, http.StatusUnauthorized, bearer(t, s.Base, secret), "the revoked token is refused")

	// The crash dump, with its triage and the admin's download link.
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(s.Base+"/ui/notifications?kind=crash_dump"),
		WaitText(".live-status", "Live"),
	))
	wctx, wcancel := context.WithTimeout(tab, 60*time.Second)
	err = chromedp.Do(wctx, WaitText("ul.notes", "uitest boom")) // it arrives live
	wcancel()
	require.NoError(t, err, "the crash dump's notification")
	require.NoError(t, chromedp.Do(tab,
		chromedp.Reload(),
		WaitText("main section[aria-label='Crash dumps'] table", "uitest boom"),
	))
	row := Eval[string](t, tab, `document.querySelector('main section[aria-label="Crash dumps"] tbody tr').textContent`)
	require.Contains(t, row, node.Name)
	require.Contains(t, row, "words", "the top processes by memory, from its notification")
	type download struct {
		Status int    `json:"status"`
		Type   string `json:"type"`
		Size   int    `json:"size"`
	}
	d := Eval[download](t, tab, `(async () => {
		const a = document.querySelector('main section[aria-label="Crash dumps"] a[download]');
		const r = await fetch(a.href);
		const b = await r.arrayBuffer();
		return {status: r.status, type: r.headers.get('content-type'), size: b.byteLength};
	})()`)
	Axe(t, tab)
	Screenshot(t, tab, "crashdumps")
	require.Equal(t, 200, d.Status)
	require.Equal(t, "application/octet-stream", d.Type)
	require.Positive(t, d.Size)

	// Audit: the token's creation and revocation, the download.
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(s.Base+"/ui/audit"),
		WaitText("main h1", "Audit"),
		WaitText("main table", "token.create"),
		WaitText("main table", "token.revoke"),
		WaitText("main table", "crashdump.download"),
		WaitText("#audit-links", "consistent"),
		WaitText("#audit-links", "the newest is the head"),
	))
	require.Contains(t, Eval[string](t, tab, `[...document.querySelectorAll('tr[data-action="token.create"]')].map(r => r.textContent).join()`),
		"name=ci-robot", "the started record holds the arguments")
	Axe(t, tab)
	Screenshot(t, tab, "audit")
	require.NoError(t, chromedp.Do(tab,
		chromedp.SendKeys(chromedp.CSS(`#af-action`), "token"),
		chromedp.Click(chromedp.CSS(`form.filters button[type=submit]`)),
		WaitJS(`location.search === '?action=token'`),
		WaitText("main table", "token.revoke"),
	))
	actions := Eval[[]string](t, tab, `[...new Set([...document.querySelectorAll('main tbody tr')].map(r => r.dataset.action))]`)
	require.ElementsMatch(t, []string{"token.create", "token.revoke"}, actions)
	Eval[bool](t, tab, `localStorage.setItem('beamctl-theme', 'dark'), true`)
	require.NoError(t, chromedp.Do(tab, chromedp.Reload(), WaitText("main table", "token.revoke")))
	Axe(t, tab)
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(s.Base+"/ui/tokens"), WaitText("main", "No API token."), WaitText("main", "oscar")))
	Axe(t, tab)
	Eval[bool](t, tab, `localStorage.removeItem('beamctl-theme'), true`)

	// Paged: the older page goes on where the first ended.
	seqs := `[...document.querySelectorAll('main tbody tr td:first-child')].map(e => +e.textContent)`
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(s.Base+"/ui/audit?limit=4"),
		WaitText("main .pager", "4 records"),
	))
	first := Eval[[]int](t, tab, seqs)
	require.Len(t, first, 4)
	require.NoError(t, chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(`main .pager a[rel=next]`)),
		WaitJS(`location.search.includes('until=')`),
		WaitText("main .pager", "Newest"),
	))
	second := Eval[[]int](t, tab, seqs)
	require.NotEmpty(t, second)
	require.Equal(t, first[3]-1, second[0], "the older page starts after the first's last: %v then %v", first, second)

	// As victor: the pages say admin is needed, the API refuses.
	vtab := Tab(t)
	Login(t, vtab, s.Base, "victor")
	for _, page := range []string{"audit", "tokens"} {
		require.NoError(t, chromedp.Do(vtab,
			chromedp.Navigate(s.Base+"/ui/"+page),
			WaitText("main .error", "This page needs the admin role; you have viewer."),
		), page)
		require.Zero(t, Eval[int](t, vtab, `document.querySelectorAll('main table, main form').length`), page)
	}
	Axe(t, vtab)
	for _, path := range []string{"/api/v1/audit", "/api/v1/tokens", "/api/v1/users"} {
		status := Eval[int](t, vtab, `fetch('`+path+`', {headers: {'X-Beamctl-UI': '1'}}).then(r => r.status)`)
		require.Equal(t, http.StatusForbidden, status, path)
	}
	require.NoError(t, chromedp.Do(vtab,
		chromedp.Navigate(s.Base+"/ui/notifications"),
		WaitText("main section[aria-label='Crash dumps'] table", "uitest boom"),
	))
	require.Zero(t, Eval[int](t, vtab, `document.querySelectorAll('a[download]').length`), "no download link for a viewer")
}

// bearer returns the status of GET /api/v1/session with token.
func bearer(t *testing.T, base, token string) int {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/api/v1/session", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}
