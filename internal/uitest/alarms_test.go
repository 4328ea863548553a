package uitest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/testnode"
)

// TestAlarmsPage: an alarm raised on a real node (its process table
// filled to over 95% of +P 1024) appears on the open Alarms page without
// a reload, coloured by its severity; oscar (operator) acknowledges it
// and sees the state change; victor (viewer) has no buttons and the API
// refuses him even with the session's CSRF header; the Alarm page shows
// the history and the chart of process_limit's expression with data.
func TestAlarmsPage(t *testing.T) {
	s := StartServer(t, ServerOptions{
		NodeOptions: testnode.Options{Args: []string{"+P", "1024"}},
		Config:      "alarms:\n  interval: 1s\n  builtin:\n    process_limit: {for: 0s}\n",
	})
	node := s.Nodes[0].Name
	tab := Tab(t)
	Login(t, tab, s.Base, "oscar")
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(s.Base+"/ui/alarms?node="+node),
		WaitText("main h1", "Alarms"),
		WaitJS(`document.querySelector('.live-status').dataset.state === 'live'`),
		WaitText("#alarms-active", "No active alarm."),
	))
	require.Equal(t, node, Eval[string](t, tab, `document.getElementById('filter-node').value`), "the filter is read from the URL")
	Eval[bool](t, tab, `window.notReloaded = true`)

	// Fill the node's process table (limit 1024) to over 95%.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := dist.Dial(ctx, node, dist.Options{Cookie: s.Nodes[0].Cookie})
	require.NoError(t, err)
	defer c.Close()
	_, err = inspect.EvalWith(ctx, c, `[spawn(timer, sleep, [infinity]) || _ <- lists:seq(1, 1000 - erlang:system_info(process_count))], ok.`, nil)
	require.NoError(t, err)

	row := `#alarms-active tr.alarm-row`
	require.NoError(t, chromedp.Do(tab, WaitText(row, "process_limit")), "the alarm appears without a reload")
	require.True(t, Eval[bool](t, tab, `window.notReloaded === true`), "the page was not reloaded")
	require.Equal(t, "critical", Eval[string](t, tab, `document.querySelector('`+row+`').dataset.severity`))
	require.True(t, Eval[bool](t, tab, `document.querySelector('`+row+`').classList.contains('sev-critical-row') &&
		!!document.querySelector('`+row+` .badge.sev-critical')`), "coloured by severity")
	id := Eval[string](t, tab, `document.querySelector('`+row+`').dataset.alarmId`)
	Axe(t, tab)
	Screenshot(t, tab, "alarms")

	// oscar acknowledges it.
	// (Clicks in JavaScript: a live update may replace the row between
	// finding a button and clicking it.)
	click := func(sel string) chromedp.Action[chromedp.Void] {
		return WaitJS(`(() => { const b = document.querySelector('` + sel + `'); if (b) b.click(); return !!b; })()`)
	}
	require.NoError(t, chromedp.Do(tab,
		click(row+` button[data-action=ack]`),
		WaitText(row, "acknowledged"),
		WaitText(row, "by oscar"),
		chromedp.WaitVisible(chromedp.CSS(row+` button[data-action=unack]`)),
	))
	require.True(t, Eval[bool](t, tab, `window.notReloaded === true`))

	// And comments, in the dialog.
	require.NoError(t, chromedp.Do(tab,
		click(row+` button[data-action=comment]`),
		chromedp.WaitVisible(chromedp.CSS(`dialog.comment-dialog textarea`)),
		chromedp.SendKeys(chromedp.CSS(`dialog.comment-dialog textarea`), "spawning too much"),
	))
	Axe(t, tab)
	require.NoError(t, chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(`dialog.comment-dialog button[type=submit]`)),
		WaitJS(`!document.querySelector('dialog.comment-dialog')`),
	))

	// The Alarm page: its fields, history, and the chart around the raise.
	require.NoError(t, chromedp.Do(tab,
		click(row+` a[href="/ui/alarms/`+id+`"]`),
		WaitText("main h1", "Alarm #"+id+": process_limit"),
		WaitText("#alarm-history", "acked"),
		WaitText("#alarm-history", "spawning too much"),
		WaitJS(`Number((document.querySelector('#alarm-chart figure.chart') || {dataset: {}}).dataset.points) > 0`),
	))
	require.Contains(t, Eval[string](t, tab, `document.querySelector('#alarm-history').textContent`), "oscar")
	require.Equal(t, "1", Eval[string](t, tab, `document.querySelector('#alarm-chart figure.chart').dataset.series`), "the alarm's node's series only")
	require.True(t, Eval[bool](t, tab, `!!document.querySelector('#alarm-chart canvas')`), "drawn")
	// Zoomed in on the raise (the server has only run for seconds).
	require.NoError(t, chromedp.Do(tab,
		chromedp.SetValue(chromedp.CSS(`#alarm-around`), "1m"),
		WaitJS(`(() => { const s = document.getElementById('alarm-around'); s.dispatchEvent(new Event('change')); return true; })()`),
		WaitJS(`location.search === '?around=1m'`),
		WaitJS(`Number(document.querySelector('#alarm-chart figure.chart').dataset.points) > 0`),
	))
	Axe(t, tab)
	Screenshot(t, tab, "alarm")

	// victor (viewer): the alarm without buttons; the API refuses him.
	vtab := Tab(t)
	Login(t, vtab, s.Base, "victor")
	require.NoError(t, chromedp.Do(vtab,
		chromedp.Navigate(s.Base+"/ui/alarms"),
		WaitText(row, "process_limit"),
	))
	require.Equal(t, 0, Eval[int](t, vtab, `document.querySelectorAll('main button[data-action]').length`))
	status := Eval[int](t, vtab, fmt.Sprintf(`(async () => {
		const s = await (await fetch('/api/v1/session', {headers: {'X-Beamctl-UI': '1'}})).json();
		const r = await fetch('/api/v1/alarms/%s/ack', {method: 'POST', credentials: 'same-origin',
			headers: {'X-Beamctl-UI': '1', 'X-CSRF-Token': s.data.csrf_token}});
		return r.status;
	})()`, id))
	require.Equal(t, 403, status, "the role refuses, not the CSRF check")
	require.NoError(t, chromedp.Do(vtab, chromedp.Navigate(s.Base+"/ui/alarms/"+id), WaitText("#alarm-history", "acked")))
	require.Equal(t, 0, Eval[int](t, vtab, `document.querySelectorAll('main button[data-action]').length`))

	// The filters are the URL's query: a severity with no alarm, then any.
	setFilter := func(name, value string) {
		t.Helper()
		Eval[bool](t, tab, `(() => { const s = document.getElementById('filter-`+name+`'); s.value = '`+value+`';
			s.dispatchEvent(new Event('change')); return true; })()`)
	}
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(s.Base+"/ui/alarms"), WaitText(row, "process_limit")))
	setFilter("severity", "minor")
	require.NoError(t, chromedp.Do(tab, WaitText("#alarms-active", "No active alarm.")))
	require.Equal(t, "?severity=minor", Eval[string](t, tab, `location.search`))
	setFilter("severity", "")
	setFilter("rule", "process_limit")
	require.NoError(t, chromedp.Do(tab, WaitText(row, "process_limit")))
	require.Equal(t, "?rule=process_limit", Eval[string](t, tab, `location.search`))

	// Dark mode.
	Eval[bool](t, tab, `localStorage.setItem('beamctl-theme', 'dark'), true`)
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(s.Base+"/ui/alarms"),
		WaitText(row, "process_limit"),
	))
	Axe(t, tab)
	Screenshot(t, tab, "alarms-dark")

}
