package uitest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/testnode"
	"github.com/beamctl/beamctl/internal/web"
)

// loadPatch compiles and loads a tiny module whose code names the node it
// runs on: every node of the family runs its own version (a hand patch, as
// in the AXD301 story), before the server's first reading.
const loadPatch = `Forms = [begin {ok, T, _} = erl_scan:string(S), {ok, F} = erl_parse:parse_form(T), F end
  || S <- ["-module(beamctl_ui_patch).", "-export([v/0]).", "v() -> '" ++ atom_to_list(node()) ++ "'."]],
{ok, M, Bin} = compile:forms(Forms, [binary]),
{module, M} = code:load_binary(M, "beamctl_ui_patch.erl", Bin)`

// get reads an API answer's data as user (basic authentication).
func get[T any](t *testing.T, base, path, user string) (int, T, string) {
	t.Helper()
	req, err := http.NewRequest("GET", base+path, nil)
	require.NoError(t, err)
	req.SetBasicAuth(user, Password)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		Data  T      `json:"data"`
		Error string `json:"error"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body.Data, body.Error
}

// TestFamilies: two nodes of one family, a module loaded in a different
// version on each and an application running on one only; the API's
// comparison names them, and the page's matrices show them with the
// differing cells highlighted.
func TestFamilies(t *testing.T) {
	s := StartServer(t, ServerOptions{Nodes: 2, Family: "ui-fam", NodeOptions: testnode.Options{Eval: loadPatch}})
	a, b := s.Nodes[0].Name, s.Nodes[1].Name
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.Eventually(t, func() bool { // once the server knows a
		conn, err := s.App.Conn(ctx, a)
		if err != nil {
			return false
		}
		_, err = conn.Call(ctx, "application", "ensure_all_started", etf.Atom("sasl"))
		require.NoError(t, err)
		return true
	}, 30*time.Second, 100*time.Millisecond)

	// The API, as a viewer: the module, with one md5 per node.
	path := "/api/v1/families/test/ui-fam/code"
	var code web.FamilyCode
	require.Eventually(t, func() bool {
		status, c, _ := get[web.FamilyCode](t, s.Base, path, "victor")
		code = c
		if status != http.StatusOK || len(c.Modules) == 0 {
			return false
		}
		for _, ap := range c.Apps {
			if ap.Application == "sasl" && ap.Differs {
				return true
			}
		}
		return false
	}, 90*time.Second, 500*time.Millisecond, "%+v", code)
	require.Equal(t, []string{"beamctl_ui_patch"}, []string{code.Modules[0].Module}, "only the patched module differs: %+v", code.Modules)
	require.Len(t, code.Modules, 1)
	m := code.Modules[0]
	require.Equal(t, 2, m.Versions)
	require.Len(t, m.MD5[a], 32)
	require.Len(t, m.MD5[b], 32)
	require.NotEqual(t, m.MD5[a], m.MD5[b])
	require.Greater(t, code.ModulesSame, 100, "the rest of the code is the same")
	require.Equal(t, 2, code.NodesTotal)
	// A family name is one path segment, slashes included (a release
	// family is "Erlang/OTP 25").
	status, _, msg := get[any](t, s.Base, "/api/v1/families/test/"+url.PathEscape("Erlang/OTP 25")+"/code", "victor")
	require.Equal(t, http.StatusNotFound, status)
	require.Equal(t, `cluster "test" has no family "Erlang/OTP 25"`, msg)

	tab := Tab(t)
	Login(t, tab, s.Base, "victor")
	rowDiffs := `(() => { const row = [...document.querySelectorAll('table.matrix tbody tr')]
	  .find(r => r.querySelector('th').textContent === %q);
	  return row ? row.querySelectorAll('td.diff').length : -1; })()`
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(s.Base+"/ui/families"),
		WaitText("main section", "ui-fam"),
		WaitJS(fmt.Sprintf(rowDiffs, "beamctl_ui_patch")+" === 2"),
		WaitJS(fmt.Sprintf(rowDiffs, "sasl")+" === 1"), // running on a only: that cell differs
	))
	// The short md5s shown are the API's.
	cells := Eval[[]string](t, tab, `[...document.querySelectorAll('table.matrix tbody tr')].find(r => r.querySelector('th').textContent === 'beamctl_ui_patch')
	  .querySelectorAll('td span[title]').values().map(s => s.title).toArray()`)
	require.ElementsMatch(t, []string{m.MD5[a], m.MD5[b]}, cells)
	require.Contains(t, Eval[string](t, tab, `document.querySelector('main section').textContent`), "1 module differs between nodes")
	// The OTP release is the same on both: not highlighted.
	require.Equal(t, 0, Eval[int](t, tab, fmt.Sprintf(rowDiffs, "OTP release")))
	Axe(t, tab)
	Screenshot(t, tab, "families")

	_, err := chromedp.Run(tab, chromedp.Evaluate[any](`localStorage.setItem('beamctl-theme', 'dark')`))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(tab, chromedp.Reload(), WaitJS(fmt.Sprintf(rowDiffs, "beamctl_ui_patch")+" === 2")))
	Axe(t, tab)
	Screenshot(t, tab, "families-dark")
}
