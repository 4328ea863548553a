package collector

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/testnode"
)

func find(samples []Sample, name string, labels ...Label) (Sample, bool) {
	for _, s := range samples {
		if s.Name != name {
			continue
		}
		match := true
		for _, l := range labels {
			found := false
			for _, sl := range s.Labels {
				found = found || sl == l
			}
			match = match && found
		}
		if match {
			return s, true
		}
	}
	return Sample{}, false
}

func TestCollectors(t *testing.T) {
	t.Parallel()
	a := testnode.Start(t, testnode.Options{})
	b := testnode.Start(t, testnode.Options{Cookie: a.Cookie})
	ctx := context.Background()
	c, err := dist.Dial(ctx, a.Name, dist.Options{Cookie: a.Cookie})
	require.NoError(t, err)
	defer c.Close()
	r, err := c.Call(ctx, "net_kernel", "connect_node", etf.Atom(b.Name))
	require.NoError(t, err)
	require.Equal(t, etf.True, r)
	// A big table that outlives the rpc process creating it (init inherits it).
	initPid, err := c.Call(ctx, "erlang", "whereis", etf.Atom("init"))
	require.NoError(t, err)
	_, err = c.Call(ctx, "ets", "new", etf.Atom("collector_test_tab"),
		etf.List{etf.Atom("named_table"), etf.Atom("public"), etf.Tuple{etf.Atom("heir"), initPid, etf.Atom("none")}})
	require.NoError(t, err)
	rows := make(etf.List, 10000)
	for i := range rows {
		rows[i] = etf.Tuple{i, i}
	}
	_, err = c.Call(ctx, "ets", "insert", etf.Atom("collector_test_tab"), rows)
	require.NoError(t, err)

	// A process with a long message queue, registered so that its name shows.
	pid, err := c.Call(ctx, "erlang", "spawn", etf.Atom("timer"), etf.Atom("sleep"), etf.List{etf.Atom("infinity")})
	require.NoError(t, err)
	_, err = c.Call(ctx, "erlang", "register", etf.Atom("collector_test_mq"), pid)
	require.NoError(t, err)
	pids, msgs := make(etf.List, 700), make(etf.List, 700)
	for i := range pids {
		pids[i], msgs[i] = pid, int64(i)
	}
	_, err = c.Call(ctx, "lists", "zipwith", etf.Export{Module: "erlang", Function: "send", Arity: 2}, pids, msgs)
	require.NoError(t, err)
	defer c.Call(ctx, "erlang", "exit", pid, etf.Atom("kill")) //nolint:errcheck // the node goes away with the test anyway

	_, err = inspect.EnsureAgent(ctx, c)
	require.NoError(t, err)
	set, err := NewSet(nil, SetOptions{})
	require.NoError(t, err)
	samples := set.Collect(ctx, WithAgent(c)) // installs the log counter
	_, err = c.Call(ctx, "logger", "error", etf.String("collector test error"))
	require.NoError(t, err)
	samples = set.Collect(ctx, WithAgent(c))
	require.GreaterOrEqual(t, len(samples), 100, "a node yields 100+ series")
	holder, err := c.Call(ctx, "erlang", "whereis", etf.Atom("beamctl_swt"))
	require.NoError(t, err)
	require.IsType(t, etf.Pid{}, holder, "the agent holds scheduler_wall_time on between rounds")

	for name := range Names() {
		s, ok := find(samples, "beamctl_collector_success", Label{"collector", name})
		require.True(t, ok, name)
		require.Equal(t, 1.0, s.Value, "collector %s failed", name)
	}

	procs, err := c.Call(ctx, "erlang", "system_info", etf.Atom("process_count"))
	require.NoError(t, err)
	want, _ := etf.ToInt64(procs)
	s, ok := find(samples, "erlang_vm_processes")
	require.True(t, ok)
	require.InDelta(t, float64(want), s.Value, 5, "process count as the node reports it")

	checks := []struct {
		name   string
		labels []Label
		min    float64
	}{
		{"erlang_vm_memory_bytes", []Label{{"kind", "total"}}, 1 << 20},
		{"erlang_vm_memory_bytes", []Label{{"kind", "ets"}}, 1},
		{"erlang_vm_process_limit", nil, 1000},
		{"erlang_vm_atoms", nil, 1000},
		{"erlang_vm_schedulers", nil, 1},
		{"erlang_vm_statistics_reductions_total", nil, 1},
		{"erlang_vm_statistics_run_queue_length", []Label{{"run_queue", "1"}}, 0},
		{"erlang_vm_uptime_seconds", nil, 0},
		{"erlang_vm_dist_connection_info", []Label{{"peer", b.Name}, {"type", "normal"}, {"state", "up"}}, 1},
		{"erlang_vm_dist_connection_info", []Label{{"peer", c.Self()}, {"type", "hidden"}}, 1},
		{"erlang_vm_dist_recv_bytes_total", []Label{{"peer", b.Name}}, 1},
		{"erlang_vm_ets_table_size", []Label{{"table", "collector_test_tab"}}, 10000},
		{"erlang_vm_ets_tables", nil, 10},
		{"erlang_vm_ports_by_driver", []Label{{"driver", "tcp_inet"}}, 1},
		{"erlang_vm_application_info", []Label{{"application", "kernel"}, {"state", "running"}}, 1},
		{"erlang_vm_info", []Label{{"otp_release", "25"}}, 1},
		{"erlang_vm_release_info", []Label{{"release", "Erlang/OTP"}, {"version", "25"}}, 1},
		{"erlang_vm_os_resident_memory_bytes", nil, 1 << 20},
		{"erlang_vm_os_open_fds", nil, 3},
		{"erlang_vm_os_max_fds", nil, 64},
		{"erlang_vm_os_load1", nil, 0},
		{"erlang_vm_scheduler_type_utilization_ratio", []Label{{"type", "normal"}}, 0},
		{"erlang_vm_scheduler_utilization_ratio", []Label{{"type", "normal"}, {"scheduler", "1"}}, 0},
		{"erlang_vm_scheduler_utilization_ratio", []Label{{"type", "dirty_cpu"}}, 0},
		{"erlang_vm_message_queue_max_length", nil, 700},
		{"erlang_vm_message_queue_messages", nil, 700},
		{"erlang_vm_message_queue_nonempty", nil, 1},
		{"erlang_vm_message_queue_scanned_processes", nil, 20},
		{"erlang_vm_message_queue_longest_info", []Label{{"name", "collector_test_mq"}}, 1},
		{"erlang_vm_allocator_carriers_bytes", []Label{{"alloc", "binary_alloc"}}, 1},
		{"erlang_vm_allocator_blocks_bytes", []Label{{"alloc", "eheap_alloc"}}, 1},
		{"erlang_vm_allocator_blocks", []Label{{"alloc", "eheap_alloc"}}, 1},
		{"erlang_vm_logger_events_total", []Label{{"level", "error"}}, 1},
		{"erlang_vm_clock_offset_uncertainty_seconds", nil, 0},
	}
	for _, tc := range checks {
		s, ok := find(samples, tc.name, tc.labels...)
		require.True(t, ok, "%s %v", tc.name, tc.labels)
		require.GreaterOrEqual(t, s.Value, tc.min, "%s %v", tc.name, tc.labels)
	}
	for _, s := range samples {
		if strings.HasSuffix(s.Name, "_ratio") {
			require.LessOrEqual(t, s.Value, 1.0, "%s %v", s.Name, s.Labels)
		}
	}
	off, ok := find(samples, "erlang_vm_clock_offset_seconds")
	require.True(t, ok)
	unc, _ := find(samples, "erlang_vm_clock_offset_uncertainty_seconds")
	require.LessOrEqual(t, math.Abs(off.Value), unc.Value+0.01, "the node runs on this host: the same clock")
	_, ok = find(samples, "erlang_vm_utc_offset_seconds")
	require.True(t, ok)
	s, _ = find(samples, "erlang_vm_logger_events_total", Label{"level", "error"})
	require.Equal(t, 1.0, s.Value, "the one error logged since the counter was installed")

	var buf bytes.Buffer
	require.NoError(t, WriteText(&buf, samples, Label{"node", a.Name}))
	out := buf.String()
	require.Contains(t, out, "# TYPE erlang_vm_statistics_reductions_total counter\n")
	require.Contains(t, out, `erlang_vm_memory_bytes{node="`+a.Name+`",kind="total"} `)
	require.Equal(t, strings.Count(out, "# TYPE erlang_vm_memory_bytes "), 1, "one HELP/TYPE per family")
}

// TestSchedulerFlag checks that the scheduler collector leaves
// scheduler_wall_time as it found it: without the agent, off after each
// window unless someone else had turned it on; with the agent, on between
// rounds and off again once rounds stop for the hold time.
func TestSchedulerFlag(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	ctx := context.Background()
	c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	defer c.Close()
	flag := func() etf.Term {
		swt, err := c.Call(ctx, "erlang", "statistics", etf.Atom("scheduler_wall_time"))
		require.NoError(t, err)
		return swt
	}
	run := func(col Collector, conn Conn) []Sample {
		out := &Samples{}
		require.NoError(t, col.Update(ctx, conn, out))
		return out.List()
	}
	window := &schedulerCollector{window: 50 * time.Millisecond, last: map[string]wallTimeReading{}}
	samples := run(window, c)
	_, ok := find(samples, "erlang_vm_scheduler_type_utilization_ratio", Label{"type", "normal"})
	require.True(t, ok)
	require.Equal(t, etf.Atom("undefined"), flag(), "off again after the window")

	_, err = inspect.EnsureAgent(ctx, c)
	require.NoError(t, err)
	initPid, err := c.Call(ctx, "erlang", "whereis", etf.Atom("init"))
	require.NoError(t, err)
	other, err := c.Call(ctx, inspect.AgentModule, "hold_swt", initPid, int64(60000)) // another user's measurement
	require.NoError(t, err)
	run(window, c)
	require.IsType(t, etf.List{}, flag(), "still on for its other user")
	_, err = c.Call(ctx, "erlang", "send", other, etf.Atom("stop"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return flag() == etf.Atom("undefined") }, 5*time.Second, 20*time.Millisecond)

	held := &schedulerCollector{hold: 300 * time.Millisecond, last: map[string]wallTimeReading{}}
	samples = run(held, WithAgent(c)) // the first round: two readings 100ms apart
	_, ok = find(samples, "erlang_vm_scheduler_utilization_ratio", Label{"scheduler", "1"})
	require.True(t, ok)
	time.Sleep(100 * time.Millisecond)
	samples = run(held, WithAgent(c))
	s, ok := find(samples, "erlang_vm_scheduler_utilization_ratio", Label{"scheduler", "1"})
	require.True(t, ok)
	require.True(t, s.Value >= 0 && s.Value <= 1, "%v", s.Value)
	require.IsType(t, etf.List{}, flag(), "held between rounds")
	require.Eventually(t, func() bool { return flag() == etf.Atom("undefined") }, 5*time.Second, 20*time.Millisecond,
		"off again once rounds stop for the hold time")
}

func TestNewSet(t *testing.T) {
	_, err := NewSet(nil, SetOptions{Overrides: map[string]Override{"nosuch": {}}})
	require.EqualError(t, err, `unknown collector "nosuch"`)
	off := false
	s, err := NewSet(nil, SetOptions{Overrides: map[string]Override{"os": {Enabled: &off}, "ets": {Interval: time.Minute}}})
	require.NoError(t, err)
	require.NotContains(t, s.Names(), "os")
	require.Equal(t, time.Minute, s.Interval("ets"))
	require.Equal(t, time.Second, s.Interval("memory"), "fast set")
	require.Equal(t, 10*time.Second, s.Interval("applications"))
	require.Equal(t, time.Second, s.Tick())
}

// TestSchedule runs a schedule over a minute of 1s ticks (with jitter) and
// counts how often each collector was due.
func TestSchedule(t *testing.T) {
	s, err := NewSet(nil, SetOptions{Overrides: map[string]Override{"ets": {Interval: 30 * time.Second}}})
	require.NoError(t, err)
	sched := s.NewSchedule()
	runs := map[string]int{}
	t0 := time.Unix(1000, 0)
	for i := range 60 {
		jitter := time.Duration(i%3-1) * 20 * time.Millisecond
		for _, n := range sched.Due(t0.Add(time.Duration(i)*time.Second + jitter)) {
			runs[n]++
		}
	}
	tests := []struct {
		name string
		runs int
	}{
		{"memory", 60}, {"statistics", 60}, {"scheduler", 60}, {"applications", 6}, {"os", 6}, {"ets", 2},
	}
	for _, tc := range tests {
		require.Equal(t, tc.runs, runs[tc.name], tc.name)
	}
}

// TestAgentModule checks that collector calls the module inspect loads.
func TestAgentModule(t *testing.T) {
	require.Equal(t, inspect.AgentModule, agentModule)
}

func TestWriteTextEscapes(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteText(&buf, []Sample{{Name: "x", Help: "a\\b\nc", Labels: []Label{{"l", "q\"\\\n"}}, Value: 1.5}}))
	require.Equal(t, "# HELP x a\\\\b\\nc\n# TYPE x gauge\nx{l=\"q\\\"\\\\\\n\"} 1.5\n", buf.String())
}

// TestPromtoolLint lints a real node's exposition with Prometheus's own
// promtool (Debian package prometheus, installed by make test).
func TestPromtoolLint(t *testing.T) {
	t.Parallel()
	promtool, err := exec.LookPath("promtool")
	require.NoError(t, err, "promtool not found: install the prometheus package (make test does)")
	n, c := agentNode(t)
	ctx := context.Background()
	set, err := NewSet(nil, SetOptions{})
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, WriteText(&buf, set.Collect(ctx, WithAgent(c)), Label{"node", n.Name}))
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = &buf
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "promtool check metrics:\n%s", out)
}

// TestClockOffset reads a real node's clock with beamctl's clock set five
// seconds back: the offset shows it.
func TestClockOffset(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	ctx := context.Background()
	c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	defer c.Close()
	skewed := clockCollector{now: func() time.Time { return time.Now().Add(-5 * time.Second) }}
	dst := &Samples{}
	require.NoError(t, skewed.Update(ctx, c, dst))
	for _, s := range dst.List() {
		if s.Name == "erlang_vm_clock_offset_seconds" {
			require.InDelta(t, 5, s.Value, 0.1)
			return
		}
	}
	t.Fatal("no offset")
}

// TestShellMemory types a command that keeps a large list in a remote
// shell and finds that shell among the processes holding memory.
func TestShellMemory(t *testing.T) {
	t.Parallel()
	n, c := agentNode(t)
	ctx := context.Background()
	sh := testnode.RemoteShell(t, n, "memsh")
	sh.Type(t, "Big = lists:seq(1, 1000000), ok.\n")
	require.Eventually(t, func() bool {
		dst := &Samples{}
		require.NoError(t, shellsCollector{}.Update(ctx, WithAgent(c), dst))
		for _, s := range dst.List() {
			if label(s, "from_node") == sh.Client && s.Value >= 8<<20 {
				return true
			}
		}
		return false
	}, 20*time.Second, 100*time.Millisecond)
}

// recordingConn is a real connection that notes each call it makes.
type recordingConn struct {
	Conn
	mu    sync.Mutex
	calls []string
}

func (r *recordingConn) Call(ctx context.Context, module, function string, args ...etf.Term) (etf.Term, error) {
	r.mu.Lock()
	r.calls = append(r.calls, module+":"+function)
	r.mu.Unlock()
	return r.Conn.Call(ctx, module, function, args...)
}

func (r *recordingConn) AgentLoaded() bool { return true }

// TestSharedProcessScan runs the message_queues and shells collectors in
// one round against a real node: the batch sends their identical walk of
// the process table once, and both collectors read it.
func TestSharedProcessScan(t *testing.T) {
	t.Parallel()
	n, c := agentNode(t)
	ctx := context.Background()
	sh := testnode.RemoteShell(t, n, "scansh")
	sh.Type(t, "Big = lists:seq(1, 1000000), ok.\n")
	set, err := NewSet(nil, SetOptions{})
	require.NoError(t, err)
	tests := []struct {
		name       string
		collectors []string
		calls      []string
	}{
		{"both in one round", []string{"message_queues", "shells"}, []string{"beamctl_agent:proc_scan"}},
		{"message_queues alone", []string{"message_queues"}, []string{"beamctl_agent:proc_scan"}},
		{"shells alone", []string{"shells"}, []string{"beamctl_agent:proc_scan"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := &recordingConn{Conn: c}
			var samples []Sample
			require.Eventually(t, func() bool { // the shell's list may still be building
				rc.calls = nil
				samples = set.CollectOnly(ctx, rc, tc.collectors)
				_, found := find(samples, "erlang_vm_shell_process_memory_bytes", Label{"from_node", sh.Client})
				return found || !slices.Contains(tc.collectors, "shells")
			}, 20*time.Second, 100*time.Millisecond)
			require.Equal(t, tc.calls, rc.calls)
			for _, name := range tc.collectors {
				s, ok := find(samples, "beamctl_collector_success", Label{"collector", name})
				require.True(t, ok, name)
				require.Equal(t, 1.0, s.Value, name)
			}
			if slices.Contains(tc.collectors, "message_queues") {
				s, ok := find(samples, "erlang_vm_message_queue_scanned_processes")
				require.True(t, ok)
				require.Greater(t, s.Value, 20.0)
			}
		})
	}
}

// TestPortsBothWays counts a real node's ports on the node (the agent)
// and here (no agent): the same drivers and counts, with a socket holding
// queued output seen both ways.
func TestPortsBothWays(t *testing.T) {
	t.Parallel()
	_, c := agentNode(t)
	ctx := context.Background()
	// A listening socket and three UDP sockets, owned by a process that stays.
	_, err := inspect.EvalWith(ctx, c, `spawn(fun() -> {ok, _} = gen_tcp:listen(0, []),
		[{ok, _} = gen_udp:open(0) || _ <- [1, 2, 3]], register(ports_test_owner, self()), receive stop -> ok end end), ok.`, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		r, err := c.Call(ctx, "erlang", "whereis", etf.Atom("ports_test_owner"))
		return err == nil && r != etf.Atom("undefined")
	}, 10*time.Second, 50*time.Millisecond)
	onNode, err := portsOnNode(ctx, c)
	require.NoError(t, err)
	listed, err := portsListed(ctx, c)
	require.NoError(t, err)
	require.Equal(t, listed, onNode)
	require.Equal(t, 3.0, onNode["udp_inet"].count)
	require.GreaterOrEqual(t, onNode["tcp_inet"].count, 2.0, "the listener and the connection to beamctl")
}

// agentNode starts a real node and connects to it with beamctl_agent
// loaded; both end with the test.
func agentNode(t *testing.T) (*testnode.Node, *dist.Conn) {
	t.Helper()
	n := testnode.Start(t, testnode.Options{})
	c, err := dist.Dial(context.Background(), n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	_, err = inspect.EnsureAgent(context.Background(), c)
	require.NoError(t, err)
	return n, c
}

func label(s Sample, name string) string {
	for _, l := range s.Labels {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

func TestParseDF(t *testing.T) {
	tests := []struct {
		name, out string
		want      []disk
	}{
		{"empty", "", nil},
		{"header only", "Filesystem 1024-blocks Used Available Capacity Mounted on\n", nil},
		{"two", "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda 1000 250 750 25% /\ntmpfs 16384 15360 1024 94% /mnt/my disk\n",
			[]disk{{"/dev/vda", "/", 1000 * 1024, 750 * 1024}, {"tmpfs", "/mnt/my disk", 16384 * 1024, 1024 * 1024}}},
		{"garbage and zero size skipped", "Filesystem 1024-blocks Used Available Capacity Mounted on\nsh: 1: df: not found\nproc 0 0 0 - /proc\nx y z w 5% /a\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, parseDF(tc.out))
		})
	}
}

func TestKBField(t *testing.T) {
	const meminfo = "MemTotal:       24576000 kB\nMemFree:         1000 kB\nMemAvailable:   20000000 kB\nHugePages_Total:       0\n"
	const status = "Name:\tbeam.smp\nVmSize:\t 3000000 kB\nVmRSS:\t   120000 kB\nThreads:\t29\n"
	tests := []struct {
		in, key string
		want    float64
		ok      bool
	}{
		{meminfo, "MemTotal", 24576000 * 1024, true},
		{meminfo, "MemAvailable", 20000000 * 1024, true},
		{meminfo, "HugePages_Total", 0, true},
		{meminfo, "Mem", 0, false}, // a prefix of a key is not the key
		{status, "VmRSS", 120000 * 1024, true},
		{status, "Threads", 29, true},
		{status, "Name", 0, false}, // not a number
		{"", "VmRSS", 0, false},
	}
	for _, tt := range tests {
		v, ok := kbField(tt.in, tt.key)
		require.Equal(t, tt.ok, ok, tt.key)
		require.Equal(t, tt.want, v, tt.key)
	}
}

// TestETSAndDistBothWays reads a real node's tables and distribution
// connections with the agent (one round trip each) and without it (two):
// the same series, the same table sizes, and counters that only grow.
func TestETSAndDistBothWays(t *testing.T) {
	t.Parallel()
	_, c := agentNode(t)
	ctx := context.Background()
	_, err := inspect.EvalWith(ctx, c, `spawn(fun() -> ets:new(both_ways_tab, [named_table, public]),
		ets:insert(both_ways_tab, [{I, I} || I <- lists:seq(1, 20000)]), receive stop -> ok end end), ok.`, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		r, err := c.Call(ctx, "ets", "info", etf.Atom("both_ways_tab"), etf.Atom("size"))
		return err == nil && r == etf.Term(int64(20000))
	}, 10*time.Second, 50*time.Millisecond)
	for _, col := range []Collector{etsCollector{top: 10}, distCollector{}} {
		var without, with Samples
		plain, agent := &callCounter{Conn: c}, &callCounter{Conn: c}
		require.NoError(t, col.Update(ctx, plain, &without))
		require.NoError(t, col.Update(ctx, WithAgent(agent), &with))
		require.Equal(t, 2, plain.calls, "%T without the agent: round trips", col)
		require.Equal(t, 1, agent.calls, "%T with the agent: round trips", col)
		key := func(s Sample) string { return s.Name + fmt.Sprint(s.Labels) }
		require.Equal(t, slices.Sorted(slices.Values(mapKeys(without.List(), key))), slices.Sorted(slices.Values(mapKeys(with.List(), key))))
		for _, s := range without.List() {
			w, ok := find(with.List(), s.Name, s.Labels...)
			require.True(t, ok, s.Name)
			switch {
			case s.Type == Counter:
				require.GreaterOrEqual(t, w.Value, s.Value, "%s %v", s.Name, s.Labels)
			case s.Name == "erlang_vm_ets_tables" || s.Name == "erlang_vm_ets_table_size" || s.Name == "erlang_vm_dist_connections":
				require.Equal(t, s.Value, w.Value, "%s %v", s.Name, s.Labels)
			}
		}
	}
	var got Samples
	require.NoError(t, etsCollector{top: 10}.Update(ctx, WithAgent(c), &got))
	s, ok := find(got.List(), "erlang_vm_ets_table_size", Label{"table", "both_ways_tab"})
	require.True(t, ok, "the test's table is among the largest")
	require.Equal(t, 20000.0, s.Value)
	got = Samples{}
	require.NoError(t, distCollector{}.Update(ctx, WithAgent(c), &got))
	_, ok = find(got.List(), "erlang_vm_dist_recv_bytes_total", Label{"peer", c.Self()})
	require.True(t, ok, "beamctl's own connection is read with getstat")
}

// TestOSBothWays: the os collector reads the same series with the agent
// (only the lines it parses and the descriptors' count cross the network)
// as without it (whole files and every descriptor's name), from a real
// node that holds 200 extra descriptors.
func TestOSBothWays(t *testing.T) {
	t.Parallel()
	_, c := agentNode(t)
	ctx := context.Background()
	_, err := inspect.EvalWith(ctx, c, `spawn(fun() -> Ps = [element(2, file:open("/dev/null", [read])) || _ <- lists:seq(1, 200)],
		register(os_both_ways, self()), receive stop -> Ps end end), ok.`, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		r, err := c.Call(ctx, "erlang", "whereis", etf.Atom("os_both_ways"))
		return err == nil && r != etf.Atom("undefined")
	}, 10*time.Second, 50*time.Millisecond)
	var without, with Samples
	plain, agent := &replyBytes{Conn: c}, &replyBytes{Conn: c}
	require.NoError(t, osCollector{}.Update(ctx, plain, &without))
	require.NoError(t, osCollector{}.Update(ctx, WithAgent(agent), &with))
	require.Equal(t, 1, plain.calls)
	require.Equal(t, 1, agent.calls)
	key := func(s Sample) string { return s.Name + fmt.Sprint(s.Labels) }
	require.Equal(t, slices.Sorted(slices.Values(mapKeys(without.List(), key))), slices.Sorted(slices.Values(mapKeys(with.List(), key))))
	require.Len(t, with.List(), 20, "load 3, memory 5, descriptors 2, TCP 10")
	for _, s := range without.List() {
		w, _ := find(with.List(), s.Name)
		switch s.Name {
		case "erlang_vm_os_max_fds", "erlang_vm_os_memory_total_bytes":
			require.Equal(t, s.Value, w.Value, s.Name)
		case "erlang_vm_os_open_fds":
			require.Greater(t, s.Value, 200.0)
			require.InDelta(t, s.Value, w.Value, 5, "descriptors counted on the node")
		}
	}
	require.Less(t, 4*agent.bytes, plain.bytes, "reply bytes with the agent (%d) against without (%d)", agent.bytes, plain.bytes)
	t.Logf("reply %d bytes with the agent, %d without", agent.bytes, plain.bytes)
}

// replyBytes counts a connection's calls and the bytes of their replies
// (as ETF).
type replyBytes struct {
	Conn
	calls, bytes int
}

func (c *replyBytes) Call(ctx context.Context, module, function string, args ...etf.Term) (etf.Term, error) {
	c.calls++
	r, err := c.Conn.Call(ctx, module, function, args...)
	if b, encErr := etf.Encode(r); err == nil && encErr == nil {
		c.bytes += len(b)
	}
	return r, err
}

// callCounter counts a connection's calls.
type callCounter struct {
	Conn
	calls int
}

func (c *callCounter) Call(ctx context.Context, module, function string, args ...etf.Term) (etf.Term, error) {
	c.calls++
	return c.Conn.Call(ctx, module, function, args...)
}

func mapKeys(samples []Sample, key func(Sample) string) []string {
	out := make([]string, len(samples))
	for i, s := range samples {
		out[i] = key(s)
	}
	return out
}
