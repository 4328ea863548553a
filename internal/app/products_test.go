package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/alarm"
	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/testnode"
)

// TestProducts runs serve against Debian's RabbitMQ and ejabberd, each
// started by the test with its own cookie: the largest queue, the
// connection and channel counts, a Mnesia table with its size, RabbitMQ's
// memory alarm raised and cleared as a beamctl alarm, ejabberd's sessions
// and registered users, and the product views of the API.
func TestProducts(t *testing.T) {
	t.Parallel()
	rmq := testnode.StartRabbitMQ(t, testnode.RabbitMQOptions{})
	ejd := testnode.StartEjabberd(t)
	rmq.Publish(t, "orders", 200_000)
	rmq.Publish(t, "small", 10)
	rmq.Publish(t, "work", 50)
	rmq.Consume(t, "work", 5)

	const evalInterval = 5 * time.Second
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 2s, discover_interval: 1s, collect_timeout: 2s}
alarms: {interval: %s}
clusters:
  - name: rabbit
    cookie: %s
    nodes: [%s]
  - name: xmpp
    cookie: %s
    nodes: [%s]
`, evalInterval, rmq.Cookie, rmq.Name, ejd.Cookie, ejd.Name)), t.TempDir())
	require.NoError(t, err)
	srv := startApp(t, cfg, t.TempDir())
	base := "http://" + srv.Addr()

	value := func(query string) (float64, map[string]string, bool) {
		r := get(t, base, "/api/v1/query", url.Values{"query": {query}})
		require.Equal(t, "success", r.Status, r.Error)
		var v vector
		require.NoError(t, json.Unmarshal(r.Data, &v))
		if len(v.Result) == 0 {
			return 0, nil, false
		}
		f, err := strconv.ParseFloat(v.Result[0].Value[1].(string), 64)
		require.NoError(t, err)
		return f, v.Result[0].Metric, true
	}
	waitValue := func(query string, ok func(float64, map[string]string) bool) {
		t.Helper()
		var last float64
		var lbl map[string]string
		require.Eventually(t, func() bool {
			v, l, found := value(query)
			last, lbl = v, l
			return found && ok(v, l)
		}, time.Minute, 200*time.Millisecond, "%s: last %v %v", query, last, lbl)
	}

	// RabbitMQ: the queue with 200,000 messages is the top queue.
	waitValue(`topk(1, rabbitmq_detailed_queue_messages{node="`+rmq.Name+`"})`, func(v float64, l map[string]string) bool {
		return l["queue"] == "orders" && l["vhost"] == "/" && v == 200_000
	})
	waitValue(`rabbitmq_detailed_queue_messages_unacked{queue="work"}`, func(v float64, _ map[string]string) bool { return v == 5 })
	waitValue(`rabbitmq_detailed_queue_consumers{queue="work"}`, func(v float64, _ map[string]string) bool { return v == 1 })
	waitValue(`rabbitmq_queue_messages{node="`+rmq.Name+`"}`, func(v float64, _ map[string]string) bool { return v == 200_060 })
	waitValue(`rabbitmq_connections{node="`+rmq.Name+`"}`, func(v float64, _ map[string]string) bool { return v == 1 })
	waitValue(`rabbitmq_channels{node="`+rmq.Name+`"}`, func(v float64, _ map[string]string) bool { return v == 1 })
	waitValue(`rabbitmq_queues{node="`+rmq.Name+`"}`, func(v float64, _ map[string]string) bool { return v == 3 })
	// Mnesia: RabbitMQ's queue table, one record per queue.
	waitValue(`erlang_mnesia_tablewise_size{node="`+rmq.Name+`",table="rabbit_queue"}`, func(v float64, l map[string]string) bool {
		return v == 3 && l["replicas"] == rmq.Name
	})

	// The API's view, by the number of messages and by consumers.
	var view struct {
		Connections int64 `json:"connections"`
		Scan        struct {
			Source string `json:"source"`
			Top    []struct {
				Name      string `json:"name"`
				Ready     int64  `json:"messages_ready"`
				Consumers int64  `json:"consumers"`
			} `json:"top"`
		} `json:"queue_scan"`
	}
	r := get(t, base, "/api/v1/nodes/"+rmq.Name+"/rabbitmq", url.Values{"n": {"2"}})
	require.Equal(t, "success", r.Status, r.Error)
	require.NoError(t, json.Unmarshal(r.Data, &view))
	require.Equal(t, "calls", view.Scan.Source, "Debian's broker without plugins collects no statistics")
	require.Len(t, view.Scan.Top, 2)
	require.Equal(t, "orders", view.Scan.Top[0].Name)
	require.Equal(t, int64(200_000), view.Scan.Top[0].Ready)
	r = get(t, base, "/api/v1/nodes/"+rmq.Name+"/rabbitmq", url.Values{"by": {"consumers"}, "n": {"1"}})
	require.NoError(t, json.Unmarshal(r.Data, &view))
	require.Equal(t, "work", view.Scan.Top[0].Name)
	r = get(t, base, "/api/v1/nodes/"+ejd.Name+"/rabbitmq", nil)
	require.Equal(t, "error", r.Status)
	require.Contains(t, r.Error, "RabbitMQ is not running on this node")

	// RabbitMQ's memory alarm (rabbit_alarm, not OTP's alarm_handler)
	// becomes a beamctl alarm within two evaluation intervals of being set,
	// and clears when the watermark is back.
	c, err := dist.Dial(t.Context(), rmq.Name, dist.Options{Cookie: rmq.Cookie})
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Call(t.Context(), "vm_memory_monitor", "set_vm_memory_high_watermark", 0.0001)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		a, err := c.Call(t.Context(), "rabbit_alarm", "get_local_alarms")
		return err == nil && fmt.Sprint(a) != "[]"
	}, 30*time.Second, 50*time.Millisecond, "RabbitMQ set no alarm")
	set := time.Now()
	// Two evaluation intervals, plus a collection round (interval and
	// timeout) for the reading to reach the store.
	waitSeverityWithin(t, base, "rabbitmq_resource_alarm", rmq.Name, alarm.Critical, 2*evalInterval+4*time.Second)
	t.Logf("rabbitmq_resource_alarm raised %s after RabbitMQ set its memory alarm (evaluation interval %s)", time.Since(set).Round(time.Millisecond), evalInterval)
	raised := activeAlarm(t, base, "rabbitmq_resource_alarm")
	require.Equal(t, "memory", raised.Subject)
	require.Contains(t, raised.Description, "memory alarm is set on "+rmq.Name)
	_, err = c.Call(t.Context(), "vm_memory_monitor", "set_vm_memory_high_watermark", 0.4)
	require.NoError(t, err)
	waitSeverityWithin(t, base, "rabbitmq_resource_alarm", rmq.Name, alarm.None, time.Minute)

	// ejabberd: no session (a reading of 0, with a registered user), then
	// one after a real XMPP login, as ejabberd's own connected_users_number
	// counts it, and none once the client has gone.
	e, err := dist.Dial(t.Context(), ejd.Name, dist.Options{Cookie: ejd.Cookie})
	require.NoError(t, err)
	defer e.Close()
	_, err = e.Call(t.Context(), "ejabberd_auth", "try_register", []byte("alice"), []byte("localhost"), []byte("secret-pw"))
	require.NoError(t, err)
	waitValue(`ejabberd_registered_users{node="`+ejd.Name+`",host="localhost"}`, func(v float64, _ map[string]string) bool { return v == 1 })
	waitValue(`ejabberd_sessions{node="`+ejd.Name+`"}`, func(v float64, _ map[string]string) bool { return v == 0 })
	login := ejd.Login(t, "alice", "secret-pw")
	waitValue(`ejabberd_sessions{node="`+ejd.Name+`"}`, func(v float64, _ map[string]string) bool { return v == 1 })
	login.Close()
	waitValue(`ejabberd_sessions{node="`+ejd.Name+`"}`, func(v float64, _ map[string]string) bool { return v == 0 })
	// ejabberd's Mnesia: its passwd table holds alice.
	waitValue(`erlang_mnesia_tablewise_size{node="`+ejd.Name+`",table="passwd"}`, func(v float64, _ map[string]string) bool { return v == 1 })
	r = get(t, base, "/api/v1/nodes/"+ejd.Name+"/mnesia", nil)
	require.Equal(t, "success", r.Status, r.Error)
	require.Contains(t, string(r.Data), `"name":"passwd","storage_type":"disc_only_copies","size":1`)
}

// TestMnesiaAlarms makes a real Mnesia partition between two nodes sharing
// a table (a disconnection, writes on one side, a reconnection: Mnesia
// reports an inconsistent database and keeps both copies) and a real lock
// queue (a transaction holding a table's write lock while others wait):
// mnesia_replica_size_mismatch names the smaller copy's node and the table,
// mnesia_lock_queue the node with the queue, and both clear.
func TestMnesiaAlarms(t *testing.T) {
	t.Parallel()
	a := testnode.Start(t, testnode.Options{})
	b := testnode.Start(t, testnode.Options{Cookie: a.Cookie})
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 1s, collect_timeout: 1s, discover_interval: 1s}
clusters:
  - name: mn
    cookie: %s
    nodes: [%s, %s]
    notifications: {code_interval: 10m}
alarms:
  interval: 1s
  builtin:
    mnesia_replica_size_mismatch: {for: 0s, window: 5s}
    mnesia_lock_queue: {window: 3s}
    mnesia_inconsistent: {window: 10s}
`, a.Cookie, a.Name, b.Name)), t.TempDir())
	require.NoError(t, err)
	srv := startApp(t, cfg, t.TempDir())
	base := "http://" + srv.Addr()
	ca, cb := dialNode(t, a), dialNode(t, b)

	// A table with a copy on each node (Mnesia in RAM), five records.
	evalOn(t, cb, `ok = mnesia:start().`)
	evalOn(t, ca, fmt.Sprintf(`ok = mnesia:start(), {ok, _} = mnesia:change_config(extra_db_nodes, ['%s']),
		{atomic, ok} = mnesia:create_table(kv, [{ram_copies, [node(), '%s']}]),
		[{atomic, ok} = mnesia:transaction(fun() -> mnesia:write({kv, K, K}) end) || K <- lists:seq(1, 5)], ok.`, b.Name, b.Name))
	query := func(q string) vector {
		r := get(t, base, "/api/v1/query", url.Values{"query": {q}})
		require.Equal(t, "success", r.Status, r.Error)
		var v vector
		require.NoError(t, json.Unmarshal(r.Data, &v))
		return v
	}
	require.Eventually(t, func() bool {
		return len(query(`erlang_mnesia_tablewise_size{table="kv"} == 5`).Result) == 2
	}, time.Minute, 200*time.Millisecond, "both copies with 5 records")

	// The lock queue: twelve transactions start (they read another table),
	// then a younger one takes kv's write lock and holds it for 30 s, then
	// the twelve ask for kv. Mnesia queues a lock request only when the
	// requester is older than the holder (wait-die: a younger one restarts),
	// so the twelve wait in the queue on node a.
	evalOn(t, ca, `{atomic, ok} = mnesia:create_table(other, []),
		[spawn(fun() -> mnesia:transaction(fun() -> mnesia:read(other, x), timer:sleep(500), mnesia:write({kv, 100 + K, K}) end) end) || K <- lists:seq(1, 12)],
		timer:sleep(100),
		register(beamctl_test_holder, spawn(fun() -> mnesia:transaction(fun() -> mnesia:write_lock_table(kv), timer:sleep(30000) end) end)), ok.`)
	waitSeverityWithin(t, base, "mnesia_lock_queue", a.Name, alarm.Minor, time.Minute)
	evalOn(t, ca, `exit(whereis(beamctl_test_holder), kill), ok.`)
	waitSeverityWithin(t, base, "mnesia_lock_queue", a.Name, alarm.None, time.Minute)
	require.Eventually(t, func() bool {
		return len(query(`erlang_mnesia_tablewise_size{table="kv"} == 17`).Result) == 2
	}, time.Minute, 200*time.Millisecond, "the waiting writes went through on both copies")

	// beamctl subscribes to mnesia's events at its first code poll of a
	// node if mnesia runs then, else when a collection round finds it
	// running (the next code poll is 10 minutes away here): the partition
	// waits until the watcher has subscribed on both nodes (mnesia's own
	// mnesia_event is the other subscriber), or the event would be missed.
	for _, c := range []*dist.Conn{ca, cb} {
		require.Eventually(t, func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			v, err := inspect.EvalWith(ctx, c, `length(mnesia:system_info(subscribers)).`, nil)
			if err != nil {
				return false
			}
			n, err := etf.ToInt64(v)
			return err == nil && n == 2
		}, time.Minute, 200*time.Millisecond, "beamctl subscribed to mnesia's system events on %s", c.Node())
	}

	// The partition: a drops its connection to b, writes three records
	// that only its copy gets, and connects again.
	evalOn(t, ca, fmt.Sprintf(`true = erlang:disconnect_node('%s'), timer:sleep(500),
		[{atomic, ok} = mnesia:transaction(fun() -> mnesia:write({kv, 200 + K, K}) end) || K <- lists:seq(1, 3)],
		true = net_kernel:connect_node('%s'), ok.`, b.Name, b.Name))
	waitSeverityWithin(t, base, "mnesia_replica_size_mismatch", b.Name, alarm.Major, time.Minute)
	found := activeAlarm(t, base, "mnesia_replica_size_mismatch")
	require.Equal(t, "kv", found.Subject)
	require.Equal(t, b.Name, found.Node, "the smaller copy's node")
	require.Equal(t, 3.0, found.Value)
	// Mnesia's own word for it, from its system event.
	waitSeverityWithin(t, base, "mnesia_inconsistent", "", alarm.Critical, time.Minute)

	// Repaired by hand (the three records written on b too): cleared.
	evalOn(t, cb, `[ok = mnesia:dirty_write({kv, 200 + K, K}) || K <- lists:seq(1, 3)], ok.`)
	waitSeverityWithin(t, base, "mnesia_replica_size_mismatch", b.Name, alarm.None, time.Minute)
}

// activeAlarm returns the active alarm of rule, failing the test if none is.
func activeAlarm(t *testing.T, base, rule string) *alarm.Alarm {
	t.Helper()
	for _, x := range alarms(t, base, url.Values{"active": {"true"}}) {
		if x.Rule == rule {
			return &x
		}
	}
	t.Fatalf("no active %s alarm", rule)
	return nil
}

// TestRabbitMQPartition clusters two of Debian's brokers (rabbitmqctl
// join_cluster), then partitions them for real: one drops its connection
// to the other and connects again, and RabbitMQ (cluster_partition_handling
// = ignore, its default) records the partition on both. rabbitmq_partitioned
// is raised for both nodes; restarting one broker's application heals the
// partition, and the alarm clears.
func TestRabbitMQPartition(t *testing.T) {
	t.Parallel()
	a := testnode.StartRabbitMQ(t, testnode.RabbitMQOptions{})
	b := testnode.StartRabbitMQ(t, testnode.RabbitMQOptions{Cookie: a.Cookie})
	b.Ctl(t, "stop_app")
	b.Ctl(t, "join_cluster", a.Name)
	b.Ctl(t, "start_app")
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 1s, collect_timeout: 1s, discover_interval: 1s}
alarms: {interval: 1s}
clusters:
  - name: rabbit
    cookie: %s
    nodes: [%s, %s]
`, a.Cookie, a.Name, b.Name)), t.TempDir())
	require.NoError(t, err)
	srv := startApp(t, cfg, t.TempDir())
	base := "http://" + srv.Addr()
	require.Eventually(t, func() bool {
		r := get(t, base, "/api/v1/query", url.Values{"query": {`rabbitmq_identity_info`}})
		var v vector
		require.NoError(t, json.Unmarshal(r.Data, &v))
		return len(v.Result) == 2
	}, time.Minute, 200*time.Millisecond, "both brokers collected")
	require.Contains(t, a.Ctl(t, "cluster_status"), b.Name, "one RabbitMQ cluster")
	require.Equal(t, alarm.None, activeSeverity(t, base, "rabbitmq_partitioned", ""))

	c, err := dist.Dial(t.Context(), a.Name, dist.Options{Cookie: a.Cookie})
	require.NoError(t, err)
	defer c.Close()
	_, err = inspect.EvalWith(t.Context(), c, fmt.Sprintf(`true = erlang:disconnect_node('%s'), timer:sleep(1000),
		true = net_kernel:connect_node('%s'), ok.`, b.Name, b.Name), nil)
	require.NoError(t, err)
	waitSeverityWithin(t, base, "rabbitmq_partitioned", a.Name, alarm.Critical, time.Minute)
	waitSeverityWithin(t, base, "rabbitmq_partitioned", b.Name, alarm.Critical, time.Minute)
	require.NotContains(t, b.Ctl(t, "cluster_status", "--formatter", "json"), `"partitions":{}`, "RabbitMQ's own view agrees")

	// RabbitMQ's documented recovery: restart the application of the
	// nodes on one side.
	b.Ctl(t, "stop_app")
	b.Ctl(t, "start_app")
	waitSeverityWithin(t, base, "rabbitmq_partitioned", a.Name, alarm.None, 2*time.Minute)
	waitSeverityWithin(t, base, "rabbitmq_partitioned", b.Name, alarm.None, 2*time.Minute)
}
