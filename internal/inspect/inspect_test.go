package inspect

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/testnode"
)

func TestParsePid(t *testing.T) {
	const node = "a@h"
	tests := []struct {
		in      string
		want    etf.Term
		wantErr string
	}{
		{in: "<0.54.0>", want: etf.Pid{Node: node, ID: 54}},
		{in: "0.54.0", want: etf.Pid{Node: node, ID: 54}},
		{in: "54", want: etf.Pid{Node: node, ID: 54}},
		{in: "code_server", want: RegName("code_server")},
		{in: "'My Name'", want: RegName("My Name")},
		{in: "<'a@h'.54.0>", want: etf.Pid{Node: node, ID: 54}},
		{in: "<'new_atom@elsewhere'.54.0>", wantErr: "is not a process of a@h"},
		{in: "<0.54>", wantErr: "bad pid"},
		{in: "{a}", wantErr: "neither a pid nor a registered name"},
		{in: "", wantErr: "empty process"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePid(tc.in, node)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func dial(t *testing.T, n *testnode.Node) *dist.Conn {
	t.Helper()
	c, err := dist.Dial(context.Background(), n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// flagOff reports whether a system flag is off, leaving it off.
func flagOff(t *testing.T, c *dist.Conn, flag string) bool {
	t.Helper()
	r, err := c.Call(context.Background(), "erlang", "system_flag", etf.Atom(flag), etf.False)
	require.NoError(t, err)
	return r == etf.False
}

// TestFlagsRestoredOnInterrupt checks that msacc and stat leave no VM flag
// on when they are interrupted: msacc through its deferred restore, stat
// through the holder process that ends when beamctl's connection does.
func TestFlagsRestoredOnInterrupt(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	observer := dial(t, n)

	c := dial(t, n)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(200 * time.Millisecond); cancel() }() // Ctrl-C
	start := time.Now()
	_, err := Msacc(ctx, c, time.Hour)
	t.Logf("msacc returned after %s", time.Since(start))
	require.ErrorIs(t, err, context.Canceled)
	require.True(t, flagOff(t, observer, "microstate_accounting"), "msacc put the flag back")

	s, err := NewStat(context.Background(), c, false)
	require.NoError(t, err)
	_, err = s.Next(context.Background())
	require.NoError(t, err)
	// beamctl dies without Close: the holder sees the connection go and ends.
	start = time.Now()
	require.NoError(t, c.Close())
	defer func() { t.Logf("flag off %s after the connection closed", time.Since(start)) }()
	require.Eventually(t, func() bool {
		// Setting the flag from a short-lived rpc process and reading the
		// old value does not leave it on: the VM counts it per process.
		r, err := observer.Call(context.Background(), "erlang", "system_flag", etf.Atom("scheduler_wall_time"), etf.False)
		return err == nil && r == etf.False
	}, 10*time.Second, 50*time.Millisecond, "scheduler_wall_time went back off")
}

// TestAgentBeamUpToDate checks that the embedded precompiled agent is the
// agent source compiled by this OTP (run `go generate ./internal/inspect`
// after changing beamctl_agent.erl).
func TestAgentBeamUpToDate(t *testing.T) {
	dir := testnode.Compile(t, AgentModule, agentSource, "+deterministic")
	fresh, err := os.ReadFile(filepath.Join(dir, AgentModule+".beam"))
	require.NoError(t, err)
	require.Equal(t, fresh, agentBeam, "beamctl_agent.beam is stale: run go generate ./internal/inspect")
}

// TestAgentLoadPaths loads the agent both ways: the embedded .beam (the
// default, kernel only) and compiled on the node from source.
func TestAgentLoadPaths(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	c := dial(t, n)
	ctx := context.Background()
	for name, load := range map[string]func() error{
		"embedded beam": func() error { return loadAgentBeam(ctx, c, agentBeam) },
		"from source":   func() error { return loadAgentFromSource(ctx, c) },
	} {
		t.Run(name, func(t *testing.T) {
			_, err := RemoveAgent(ctx, c)
			require.NoError(t, err)
			require.NoError(t, load())
			v, err := c.Call(ctx, AgentModule, "version")
			require.NoError(t, err)
			require.Equal(t, int64(agentVersion), v)
		})
	}
}
