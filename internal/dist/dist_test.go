package dist

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/termtext"
	"github.com/beamctl/beamctl/internal/testnode"
)

func dial(t *testing.T, n *testnode.Node, opts Options) *Conn {
	t.Helper()
	if opts.Cookie == "" {
		opts.Cookie = n.Cookie
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, n.Name, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func call(t *testing.T, c *Conn, mod, fun string, args ...etf.Term) etf.Term {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := c.Call(ctx, mod, fun, args...)
	require.NoError(t, err)
	return r
}

func TestEpmd(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	ctx := context.Background()

	info, err := LookupPort(ctx, n.Host, n.Alive, 0)
	require.NoError(t, err)
	require.Equal(t, n.Alive, info.Name)
	require.NotZero(t, info.Port)
	require.GreaterOrEqual(t, info.HighestVers, 6)

	names, err := Names(ctx, n.Host, 0)
	require.NoError(t, err)
	require.Contains(t, names, EpmdName{Name: n.Alive, Port: info.Port})

	_, err = LookupPort(ctx, n.Host, "no_such_node_"+n.Alive, 0)
	require.ErrorIs(t, err, ErrNotRegistered)
	require.ErrorContains(t, err, "node not registered")
	require.ErrorContains(t, err, "(registered there: ", "the names epmd knows, to spot a typo")

	// A port where nothing listens stands for a host without epmd.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	_, err = LookupPort(ctx, "127.0.0.1", n.Alive, port)
	require.ErrorIs(t, err, ErrNoEpmd)
	require.ErrorContains(t, err, "no epmd on host 127.0.0.1 (port "+strconv.Itoa(port)+"): no node runs there, or epmd listens on another port (set ERL_EPMD_PORT)")
}

func TestHandshake(t *testing.T) {
	t.Parallel()
	otp25 := testnode.Start(t, testnode.Options{})
	long := testnode.Start(t, testnode.Options{LongName: true})
	otp26 := testnode.Start(t, testnode.Options{Args: testnode.OTP26Args(t)})

	tests := []struct {
		name    string
		node    *testnode.Node
		nodeArg string // overrides node.Name
		opts    Options
		wantErr error
	}{
		{name: "short name", node: otp25},
		{name: "long name", node: long},
		{name: "OTP 26 mandatory flags", node: otp26},
		{name: "wrong cookie", node: otp25, opts: Options{Cookie: "not-the-cookie"}, wantErr: ErrBadCookie},
		{name: "unknown node", node: otp25, nodeArg: "nosuchnode@" + otp25.Host, wantErr: ErrNotRegistered},
		{
			name: "OTP 25 refuses a missing OTP 25 flag", node: otp25,
			opts:    Options{Flags: DefaultFlags &^ (FlagBigCreation | FlagMandatory25Digest)},
			wantErr: ErrNotAllowed,
		},
		{
			name: "OTP 26 refuses a missing UNLINK_ID", node: otp26,
			opts:    Options{Flags: DefaultFlags &^ FlagUnlinkID},
			wantErr: ErrNotAllowed,
		},
		{
			name: "OTP 26 refuses a missing V4_NC", node: otp26,
			opts:    Options{Flags: DefaultFlags &^ FlagV4NC},
			wantErr: ErrNotAllowed,
		},
		{name: "OTP 25 accepts a missing UNLINK_ID", node: otp25, opts: Options{Flags: DefaultFlags &^ FlagUnlinkID}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := tc.opts
			if opts.Cookie == "" {
				opts.Cookie = tc.node.Cookie
			}
			node := tc.node.Name
			if tc.nodeArg != "" {
				node = tc.nodeArg
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := Dial(ctx, node, opts)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			defer c.Close()
			require.Equal(t, node, c.Node())
			require.Equal(t, etf.Atom(node), call(t, c, "erlang", "node"))
		})
	}
}

func TestNameClash(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	name := "beamctl_clash@" + n.Host
	first := dial(t, n, Options{Name: name})
	require.Equal(t, name, first.Self())
	_, err := Dial(context.Background(), n.Name, Options{Cookie: n.Cookie, Name: name})
	require.ErrorIs(t, err, ErrNameInUse)
	require.ErrorContains(t, err, "already has a connection from a node with our name")
	require.NoError(t, first.Err(), "the first connection survives")
}

func TestHidden(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	c := dial(t, n, Options{})
	require.Zero(t, c.Flags()&FlagPublished, "beamctl must not publish itself")

	hidden, err := etf.ToList(call(t, c, "erlang", "nodes", etf.Atom("hidden")))
	require.NoError(t, err)
	require.Contains(t, hidden, etf.Atom(c.Self()), "nodes(hidden) on the peer lists beamctl")
	visible := call(t, c, "erlang", "nodes")
	require.True(t, etf.Equal(visible, etf.List(nil)), "nodes() on the peer must not list beamctl, got %v", visible)
}

var rpcModes = []RPCMode{RPCSpawn, RPCRex}

func TestCall(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	for _, mode := range rpcModes {
		t.Run(mode.String(), func(t *testing.T) {
			c := dial(t, n, Options{RPC: mode})
			testCall(t, n, c)
		})
	}
}

func testCall(t *testing.T, n *testnode.Node, c *Conn) {
	t.Run("erlang:memory/0", func(t *testing.T) {
		total, ok := etf.PropGet(call(t, c, "erlang", "memory"), etf.Atom("total"))
		require.True(t, ok)
		v, err := etf.ToInt64(total)
		require.NoError(t, err)
		require.Greater(t, v, int64(1<<20))
	})
	t.Run("erlang:system_info/1", func(t *testing.T) {
		rel, err := etf.ToString(call(t, c, "erlang", "system_info", etf.Atom("otp_release")))
		require.NoError(t, err)
		require.Regexp(t, `^\d\d$`, rel)
		count, err := etf.ToInt64(call(t, c, "erlang", "system_info", etf.Atom("process_count")))
		require.NoError(t, err)
		require.Greater(t, count, int64(10))
	})
	t.Run("erlang:processes/0", func(t *testing.T) {
		procs, err := etf.ToList(call(t, c, "erlang", "processes"))
		require.NoError(t, err)
		require.Greater(t, len(procs), 10)
		for _, p := range procs {
			pid, ok := p.(etf.Pid)
			require.True(t, ok, "%T", p)
			require.Equal(t, etf.Atom(n.Name), pid.Node)
		}
		// The pids we got back are usable as arguments.
		info := call(t, c, "erlang", "process_info", procs[0], etf.Atom("registered_name"))
		require.True(t, etf.Equal(info, etf.Tuple{etf.Atom("registered_name"), etf.Atom("init")}), "%v", info)
	})
	t.Run("code:all_loaded/0", func(t *testing.T) {
		mods, err := etf.ToList(call(t, c, "code", "all_loaded"))
		require.NoError(t, err)
		found := false
		for _, m := range mods {
			tup, err := etf.ToTuple(m, 2)
			require.NoError(t, err)
			if tup[0] == etf.Atom("lists") {
				found = true
			}
		}
		require.True(t, found, "lists is loaded")
	})
	t.Run("a throw is returned, as rpc:call returns it", func(t *testing.T) {
		require.Equal(t, etf.Atom("thrown"), call(t, c, "erlang", "throw", etf.Atom("thrown")))
	})
	t.Run("badrpc for an exit", func(t *testing.T) {
		_, err := c.Call(context.Background(), "erlang", "exit", etf.Atom("bye"))
		var bad *BadRPCError
		require.ErrorAs(t, err, &bad)
		require.True(t, etf.Equal(etf.Tuple{etf.Atom("EXIT"), etf.Atom("bye")}, bad.Reason), "%v", bad.Reason)
	})
	t.Run("output stays on the node", func(t *testing.T) {
		require.Equal(t, etf.Atom("ok"), call(t, c, "io", "format", etf.String("hello from the node~n")))
	})
	t.Run("badrpc for an undefined function", func(t *testing.T) {
		_, err := c.Call(context.Background(), "no_such_module", "nofun", 1)
		var bad *BadRPCError
		require.ErrorAs(t, err, &bad)
		require.Equal(t, "no_such_module:nofun/1", bad.MFA)
		exit, err := etf.ToTuple(bad.Reason, 2)
		require.NoError(t, err)
		require.Equal(t, etf.Atom("EXIT"), exit[0])
		undef, err := etf.ToTuple(exit[1], 2)
		require.NoError(t, err)
		require.Equal(t, etf.Atom("undef"), undef[0])
		require.Equal(t, "rpc no_such_module:nofun/1 on "+c.Node()+": badrpc: "+
			termtext.FormatWith(bad.Reason, termtext.Options{LocalNode: etf.Atom(c.Node())}), bad.Error(),
			"dist formats the node's reason as the CLI does")
	})
	t.Run("maps with tuple, list and map keys", func(t *testing.T) {
		m := call(t, c, "maps", "from_list", etf.List{
			etf.Tuple{etf.Tuple{etf.Atom("k"), 1}, etf.Atom("tuplekey")},
			etf.Tuple{etf.List{etf.Atom("a")}, etf.Atom("listkey")},
			etf.Tuple{etf.Map{{Key: etf.Atom("x"), Value: 1}}, etf.Atom("mapkey")},
		})
		mm, ok := m.(etf.Map)
		require.True(t, ok, "%T", m)
		v, ok := mm.Get(etf.List{etf.Atom("a")})
		require.True(t, ok)
		require.Equal(t, etf.Atom("listkey"), v)
		v, ok = mm.Get(etf.Tuple{etf.Atom("k"), 1})
		require.True(t, ok)
		require.Equal(t, etf.Atom("tuplekey"), v)
	})
	t.Run("the atom cache is used", func(t *testing.T) {
		for range 3 {
			call(t, c, "erlang", "processes")
		}
		require.Positive(t, c.Stats().AtomCacheRefs)
	})
}

func TestCallDeadline(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	// A node is reachable before its boot has registered `user`; until then
	// spawn mode falls back to rex. Wait for a booted node.
	booted := dial(t, n, Options{})
	require.Eventually(t, func() bool {
		_, ok := call(t, booted, "erlang", "whereis", etf.Atom("user")).(etf.Pid)
		return ok
	}, 10*time.Second, 20*time.Millisecond)
	for _, mode := range rpcModes {
		t.Run(mode.String(), func(t *testing.T) {
			c := dial(t, n, Options{RPC: mode})
			// sleepers counts the node's processes sitting in timer:sleep/1,
			// in one rpc: lists:zipwith(fun erlang:process_info/2, Pids, Items).
			sleepers := func() int {
				pids, err := etf.ToList(call(t, c, "erlang", "processes"))
				require.NoError(t, err)
				items := make(etf.List, len(pids))
				for i := range items {
					items[i] = etf.Atom("current_function")
				}
				infos, err := etf.ToList(call(t, c, "lists", "zipwith",
					etf.Export{Module: "erlang", Function: "process_info", Arity: 2}, etf.List(pids), items))
				require.NoError(t, err)
				n := 0
				for _, info := range infos {
					if etf.Equal(info, etf.Tuple{etf.Atom("current_function"), etf.Tuple{etf.Atom("timer"), etf.Atom("sleep"), int64(1)}}) {
						n++
					}
				}
				return n
			}

			// In spawn mode the call would sleep far past the test unless it
			// is killed; rex cannot kill it, so there it sleeps briefly.
			sleep := 60_000
			if mode == RPCRex {
				sleep = 1500
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := c.Call(ctx, "timer", "sleep", sleep)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.Less(t, time.Since(start), 1200*time.Millisecond, "the deadline fires before the remote call returns")

			if mode == RPCSpawn {
				// The call's process is killed at the deadline instead of
				// sleeping for a minute.
				require.Eventually(t, func() bool { return sleepers() == 0 }, 5*time.Second, 20*time.Millisecond)
			} else {
				// rex cannot stop the call: its reply comes late and is dropped.
				require.Eventually(t, func() bool { return c.Stats().LateReplies == 1 }, 5*time.Second, 20*time.Millisecond)
			}
			c.mu.Lock()
			left := len(c.pending) + len(c.spawns) + len(c.spawnPids)
			c.mu.Unlock()
			require.Zero(t, left, "no call is left behind")

			// A call without a deadline gets Options.CallTimeout.
			short := dial(t, n, Options{RPC: mode, CallTimeout: 100 * time.Millisecond})
			_, err = short.Call(context.Background(), "timer", "sleep", 1000)
			require.ErrorIs(t, err, context.DeadlineExceeded)

			require.Equal(t, etf.Atom("ok"), call(t, c, "timer", "sleep", 1), "the connection still works")
		})
	}
}

func TestConcurrentCalls(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	for _, mode := range rpcModes {
		t.Run(mode.String(), func(t *testing.T) { testConcurrentCalls(t, dial(t, n, Options{RPC: mode})) })
	}
}

func testConcurrentCalls(t *testing.T, c *Conn) {

	const calls = 1000
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			r, err := c.Call(ctx, "erlang", "-", i)
			if err != nil {
				errs <- err
				return
			}
			if v, err := etf.ToInt64(r); err != nil || v != int64(-i) {
				errs <- fmt.Errorf("call %d: got %v", i, r)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// TestFramesPerCall: what a call costs in frames from the node. A spawned
// call is linked, not monitored, so its result comes once (with its
// SPAWN_REPLY before it), not once per signal.
func TestFramesPerCall(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	for _, tc := range []struct {
		mode RPCMode
		want uint64
	}{{RPCRex, 1}, {RPCSpawn, 2}} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			c := dial(t, n, Options{RPC: tc.mode})
			call(t, c, "erlang", "node") // the group leader's lookup
			before := c.Stats().FramesIn
			const calls = 20
			for range calls {
				require.Equal(t, etf.Atom(n.Name), call(t, c, "erlang", "node"))
			}
			require.Equal(t, tc.want*calls, c.Stats().FramesIn-before)
		})
	}
}

func TestMaxMessageSize(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	for _, mode := range rpcModes {
		t.Run(mode.String(), func(t *testing.T) {
			testMaxMessageSize(t, dial(t, n, Options{RPC: mode, MaxMessageSize: 1 << 20}))
		})
	}
}

func testMaxMessageSize(t *testing.T, c *Conn) {

	_, err := c.Call(context.Background(), "binary", "copy", []byte{'x'}, 2<<20)
	var tooLarge *MessageTooLargeError
	require.ErrorAs(t, err, &tooLarge)
	require.Equal(t, 1<<20, tooLarge.Limit)
	require.Greater(t, tooLarge.Size, 2<<20)
	require.ErrorContains(t, err, "exceeds the maximum message size of 1048576 bytes")

	// The connection survives and a reply under the limit still arrives.
	r := call(t, c, "binary", "copy", []byte{'x'}, 1000)
	require.Len(t, r, 1000)
	c.mu.Lock()
	left := len(c.pending) + len(c.spawns) + len(c.spawnPids)
	c.mu.Unlock()
	require.Zero(t, left, "no call is left behind")
}

func TestMonitor(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	c := dial(t, n, Options{})
	ctx := context.Background()

	pid := call(t, c, "erlang", "spawn", etf.Atom("timer"), etf.Atom("sleep"), etf.List{etf.Atom("infinity")})
	m, err := c.Monitor(ctx, pid)
	require.NoError(t, err)
	call(t, c, "erlang", "exit", pid, etf.Atom("kill"))
	select {
	case ev := <-m.Down():
		require.Equal(t, etf.Atom("killed"), ev.Reason)
		require.Equal(t, pid, ev.Target)
	case <-time.After(10 * time.Second):
		t.Fatal("no DOWN for a killed process")
	}

	gone, err := c.Monitor(ctx, etf.Atom("no_such_registered_name"))
	require.NoError(t, err)
	select {
	case ev := <-gone.Down():
		require.Equal(t, etf.Atom("noproc"), ev.Reason)
	case <-time.After(10 * time.Second):
		t.Fatal("no DOWN for a name that is not registered")
	}

	// Send reaches a registered name and a pid.
	sink := call(t, c, "erlang", "spawn", etf.Atom("timer"), etf.Atom("sleep"), etf.List{etf.Atom("infinity")})
	require.Equal(t, etf.True, call(t, c, "erlang", "register", etf.Atom("beamctl_test_sink"), sink))
	require.NoError(t, c.Send(ctx, etf.Atom("beamctl_test_sink"), etf.Tuple{etf.Atom("by_name"), 1}))
	require.NoError(t, c.Send(ctx, sink, etf.Tuple{etf.Atom("by_pid"), 2}))
	require.Eventually(t, func() bool {
		msgs := call(t, c, "erlang", "process_info", sink, etf.Atom("messages"))
		return etf.Equal(msgs, etf.Tuple{etf.Atom("messages"), etf.List{
			etf.Tuple{etf.Atom("by_name"), int64(1)}, etf.Tuple{etf.Atom("by_pid"), int64(2)},
		}})
	}, 5*time.Second, 20*time.Millisecond)

	// A mailbox receives what a node process sends it.
	mb := c.NewMailbox(4)
	call(t, c, "erlang", "send", mb.Pid, etf.Atom("hello"))
	select {
	case <-mb.Ready():
		msg, ok := mb.Next()
		require.True(t, ok)
		require.Equal(t, etf.Atom("hello"), msg.Msg)
	case <-time.After(10 * time.Second):
		t.Fatal("mailbox got nothing")
	}
}

// TestMailboxBound checks a mailbox's queue: in order, bounded (the rest
// dropped and counted), signalled while messages wait, reusable when
// drained.
func TestMailboxBound(t *testing.T) {
	mb := &Mailbox{ready: make(chan struct{}, 1), size: 3}
	for i := range 5 {
		mb.deliver(Message{Msg: int64(i)})
	}
	require.Equal(t, uint64(2), mb.Dropped())
	for want := range 3 {
		select {
		case <-mb.Ready():
		default:
			t.Fatalf("not ready with message %d waiting", want)
		}
		m, ok := mb.Next()
		require.True(t, ok)
		require.Equal(t, int64(want), m.Msg)
	}
	_, ok := mb.Next()
	require.False(t, ok)
	select {
	case <-mb.Ready():
		t.Fatal("ready with nothing waiting")
	default:
	}
	mb.deliver(Message{Msg: int64(9)})
	<-mb.Ready()
	m, ok := mb.Next()
	require.True(t, ok)
	require.Equal(t, int64(9), m.Msg)
}

func TestNodeDeath(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	pool := NewPool(PoolOptions{Options: Options{Cookie: n.Cookie}, MaxBackoff: 500 * time.Millisecond})
	defer pool.Close()
	events, cancel := pool.Subscribe(16)
	defer cancel()

	ctx := context.Background()
	_, err := pool.Call(ctx, n.Name, "erlang", "node")
	require.NoError(t, err)
	require.Equal(t, NodeUp, (<-events).Kind)

	callErr := make(chan error, 1)
	go func() {
		_, err := pool.Call(ctx, n.Name, "timer", "sleep", 60_000)
		callErr <- err
	}()
	time.Sleep(200 * time.Millisecond) // let the call reach the node
	n.Kill()
	select {
	case err := <-callErr:
		require.ErrorIs(t, err, ErrConnLost)
	case <-time.After(10 * time.Second):
		t.Fatal("a call in flight hangs after kill -9 of the node")
	}
	select {
	case ev := <-events:
		require.Equal(t, NodeDown, ev.Kind)
		require.Equal(t, n.Name, ev.Node)
		require.ErrorIs(t, ev.Err, ErrConnLost)
	case <-time.After(10 * time.Second):
		t.Fatal("no nodedown event")
	}
	_, err = pool.Call(ctx, n.Name, "erlang", "node")
	var unreachable *UnreachableError
	require.ErrorAs(t, err, &unreachable, "a call to a dead node fails fast")

	n.Restart()
	require.Eventually(t, func() bool {
		_, err := pool.Call(ctx, n.Name, "erlang", "node")
		return err == nil
	}, 30*time.Second, 100*time.Millisecond, "the pool reconnects after the node restarts")
	select {
	case ev := <-events:
		require.Equal(t, NodeUp, ev.Kind)
	case <-time.After(10 * time.Second):
		t.Fatal("no nodeup event after reconnect")
	}
}

func TestTickTime(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{Args: []string{"-kernel", "net_ticktime", "4"}})
	c := dial(t, n, Options{})
	require.Equal(t, 4*time.Second, c.TickTime())
	// Idle for longer than the tick time: without our ticks the node would
	// drop us, without its ticks we would drop it.
	time.Sleep(7 * time.Second)
	require.NoError(t, c.Err())
	require.Positive(t, c.Stats().TicksIn)
	require.Equal(t, etf.Atom("pong"), call(t, c, "net_adm", "ping", etf.Atom(n.Name)))
}

func TestTLS(t *testing.T) {
	t.Parallel()
	files := testnode.MakeTLS(t)
	n := testnode.Start(t, testnode.Options{Args: testnode.TLSDistArgs(t, files)})
	cfg, err := LoadTLS(TLSFiles{CertFile: files.ClientCert, KeyFile: files.ClientKey, CAFile: files.CACert})
	require.NoError(t, err)
	c := dial(t, n, Options{TLS: cfg})
	require.Equal(t, etf.Atom(n.Name), call(t, c, "erlang", "node"))

	// Plain TCP to a TLS-only node fails at once, with an error that says
	// the node speaks TLS and which flags to pass (it was "handshake
	// message of 5379 bytes exceeds 1024": 0x1503, the node's TLS alert).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = Dial(ctx, n.Name, Options{Cookie: n.Cookie})
	var he *HandshakeError
	require.ErrorAs(t, err, &he)
	require.ErrorIs(t, err, ErrTLSRequired)
	require.ErrorContains(t, err, "the node speaks TLS distribution (-proto_dist inet_tls) and beamctl connected without TLS: pass --tls.ca, --tls.cert and --tls.key")

	// Each TLS mistake names its fix.
	other := testnode.MakeTLS(t)
	plain := testnode.Start(t, testnode.Options{})
	tests := []struct {
		name    string
		node    *testnode.Node
		files   TLSFiles
		timeout time.Duration
		want    string
	}{
		{"no client certificate", n, TLSFiles{CAFile: files.CACert}, 10 * time.Second,
			"the node refused the TLS handshake and beamctl sent no client certificate: pass --tls.cert and --tls.key"},
		{"node certificate of another CA", n, TLSFiles{CAFile: other.CACert, CertFile: files.ClientCert, KeyFile: files.ClientKey}, 10 * time.Second,
			"the node's certificate is not signed by the CA of --tls.ca (the cluster's tls.ca_file)"},
		{"client certificate of another CA", n, TLSFiles{CAFile: files.CACert, CertFile: other.ClientCert, KeyFile: other.ClientKey}, 10 * time.Second,
			"is the certificate of --tls.cert (the cluster's tls.cert_file) signed by a CA the node trusts?"},
		// A plain node waits for the rest of what it takes for a long
		// handshake message: the dial ends at its deadline.
		{"TLS to a plain node", plain, TLSFiles{CAFile: files.CACert, CertFile: files.ClientCert, KeyFile: files.ClientKey}, time.Second,
			"is the node started with -proto_dist inet_tls? If not, connect without the --tls flags"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := LoadTLS(tc.files)
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			_, err = Dial(ctx, tc.node.Name, Options{Cookie: tc.node.Cookie, TLS: cfg})
			require.ErrorContains(t, err, tc.want)
		})
	}
}
