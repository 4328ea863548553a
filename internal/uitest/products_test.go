package uitest

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/testnode"
)

// TestProductTabs opens the Node page of Debian's RabbitMQ (started by the
// test): its RabbitMQ tab ranks the queues, its Mnesia tab lists RabbitMQ's
// tables; a plain OTP node has neither tab.
func TestProductTabs(t *testing.T) {
	rmq := testnode.StartRabbitMQ(t, testnode.RabbitMQOptions{})
	rmq.Publish(t, "orders", 20_000)
	rmq.Publish(t, "audit", 300)
	rmq.Consume(t, "audit", 10)
	s := StartServer(t, ServerOptions{Clusters: fmt.Sprintf("  - name: rabbit\n    cookie: %s\n    nodes: [%s]", rmq.Cookie, rmq.Name)})
	tab := Tab(t)
	Login(t, tab, s.Base, "oscar")
	page := s.Base + "/ui/nodes/" + encodeURIComponent(rmq.Name)
	// The tabs appear once the collectors have stored the product's series.
	var err error
	for range 4 { // each wait gives up after 30 s
		if err = chromedp.Do(tab, chromedp.Navigate(page+"?tab=rabbitmq"), WaitText(`#panel-rabbitmq table`, "orders")); err == nil {
			break
		}
	}
	require.NoError(t, err, "the RabbitMQ tab with its queues")
	first := Eval[string](t, tab, `document.querySelector('#panel-rabbitmq tbody tr').textContent`)
	require.Contains(t, first, "orders")
	require.Contains(t, first, "20.0k")
	facts := Eval[string](t, tab, `document.querySelector('#panel-rabbitmq dl.node-facts').textContent`)
	require.Contains(t, facts, "Resource alarmsnone")
	require.Contains(t, facts, "Connections1") // the consumer's; the publishers' are closed
	Axe(t, tab)
	Screenshot(t, tab, "node-rabbitmq")

	// By consumers: the queue with one consumer first.
	require.NoError(t, chromedp.Do(tab,
		chromedp.SetValue(`#panel-rabbitmq select[name=by]`, "consumers"),
		chromedp.Click(`#panel-rabbitmq button[type=submit]`),
		WaitText(`#panel-rabbitmq caption`, "by consumers"),
	))
	require.Contains(t, Eval[string](t, tab, `document.querySelector('#panel-rabbitmq tbody tr').textContent`), "audit")

	require.NoError(t, chromedp.Do(tab, chromedp.Click(`#tab-mnesia`), WaitText(`#panel-mnesia table`, "rabbit_queue")))
	Axe(t, tab)
	Screenshot(t, tab, "node-mnesia")

	// Narrow and dark.
	// The charts redraw at the new width on the window's resize event.
	require.NoError(t, chromedp.Do(tab, chromedp.EmulateViewport(390, 844), chromedp.Click(`#tab-rabbitmq`),
		WaitJS(`document.documentElement.scrollWidth <= 391`)), "no horizontal scroll but in tables' own wrappers")
	Screenshot(t, tab, "node-rabbitmq-narrow")
	require.NoError(t, chromedp.Do(tab, chromedp.EmulateViewport(1280, 900)))
	Eval[bool](t, tab, `localStorage.setItem('beamctl-theme', 'dark'), true`)
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(page+"?tab=rabbitmq"), WaitText(`#panel-rabbitmq table`, "orders")))
	Axe(t, tab)
	Screenshot(t, tab, "node-rabbitmq-dark")
	Eval[bool](t, tab, `localStorage.removeItem('beamctl-theme'), true`)

	// A plain node has no product tab.
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(s.Base+"/ui/nodes/"+encodeURIComponent(s.Nodes[0].Name)),
		chromedp.WaitVisible(`#tab-notifications`),
	))
	require.Zero(t, Eval[int](t, tab, `document.querySelectorAll('#tab-rabbitmq, #tab-mnesia, #tab-ejabberd').length`))
}
