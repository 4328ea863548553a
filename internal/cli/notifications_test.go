package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/testnode"
)

// TestMain lets a test run this package's CLI as a separate process (to
// kill it with SIGKILL): the test binary runs Run when BEAMCTL_CLI_MAIN is
// set.
func TestMain(m *testing.M) {
	if os.Getenv("BEAMCTL_CLI_MAIN") == "1" {
		os.Exit(Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	// Commands run over direct connections write the local audit log: a
	// temporary one, not the user's.
	state, err := os.MkdirTemp("", "beamctl-state")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_STATE_HOME", state)
	code := m.Run()
	_ = os.RemoveAll(state)
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe runs beamctl serve as a child process.
func startServe(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), "BEAMCTL_CLI_MAIN=1")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

func fetchNotes(base string, q url.Values) ([]journal.Notification, error) {
	resp, err := http.Get(base + "/api/v1/notifications?" + q.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Data []journal.Notification `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	return body.Data, nil
}

// TestNotificationsSurviveKill kills beamctl serve with SIGKILL during a
// burst of log events: every notification the API had shown before is
// still there after a restart. Then the CLI reads them back.
func TestNotificationsSurviveKill(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "beamctl.yml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(fmt.Sprintf(`
global: {collect_interval: 1s, discover_interval: 1s, collect_timeout: 1s}
clusters:
  - name: kill
    cookie: %s
    nodes: [%s]
`, n.Cookie, n.Name)), 0o600))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	base := "http://" + addr
	args := []string{"--config.file", cfgFile, "--storage.path", filepath.Join(dir, "data"), "--web.listen-address", addr}
	srv := startServe(t, args...)
	require.Eventually(t, func() bool {
		ns, err := fetchNotes(base, url.Values{"kind": {"node_first_seen"}})
		return err == nil && len(ns) == 1
	}, 20*time.Second, 50*time.Millisecond)
	ctx := context.Background()
	c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	defer c.Close()
	require.Eventually(t, func() bool { // the log handler is in place
		r, err := c.Call(ctx, "logger", "get_handler_ids")
		return err == nil && strings.Contains(fmt.Sprint(r), "beamctl_")
	}, 10*time.Second, 50*time.Millisecond)

	// A burst that goes on while the server is killed.
	_, err = inspect.EvalWith(ctx, c, `spawn(fun() -> [begin logger:error("burst ~p", [I]), timer:sleep(1) end || I <- lists:seq(1, 3000)] end), ok.`, nil)
	require.NoError(t, err)
	seen := map[int64]string{}
	deadline := time.Now().Add(30 * time.Second)
	for bursts := 0; bursts < 50; { // kill once the burst is well under way
		require.True(t, time.Now().Before(deadline), "only %d burst notifications recorded", bursts)
		ns, err := fetchNotes(base, url.Values{"limit": {"10000"}})
		require.NoError(t, err)
		bursts = 0
		for _, x := range ns {
			seen[x.ID] = x.Text
			if strings.HasPrefix(x.Text, "burst ") {
				bursts++
			}
		}
	}
	require.NoError(t, srv.Process.Signal(syscall.SIGKILL))
	_, _ = srv.Process.Wait()

	startServe(t, args...)
	var after []journal.Notification
	require.Eventually(t, func() bool {
		after, err = fetchNotes(base, url.Values{"limit": {"10000"}})
		return err == nil
	}, 20*time.Second, 50*time.Millisecond)
	kept := map[int64]string{}
	for _, x := range after {
		kept[x.ID] = x.Text
	}
	for id, text := range seen {
		require.Equal(t, text, kept[id], "notification %d, acknowledged before the kill", id)
	}

	// The CLI reads them through the server.
	code, out, errOut := run(t, "--server", base, "notifications", "--node", n.Name, "--grep", "burst", "--limit", "5")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, 5, strings.Count(out, "\n"), out)
	require.Contains(t, out, "burst ")
	code, out, errOut = run(t, "--server", base, "-o", "json", "notifications", "--kind", "node_first_seen")
	require.Equal(t, 0, code, errOut)
	var ns []journal.Notification
	require.NoError(t, json.Unmarshal([]byte(out), &ns))
	require.Len(t, ns, 1)
	require.Equal(t, n.Name, ns[0].Node)
	// --follow prints what is recorded from then on, as JSON lines.
	var follow syncBuffer
	fctx, stop := context.WithCancel(ctx)
	followed := make(chan int)
	go func() {
		followed <- Run(fctx, []string{"--server", base, "-o", "json", "notifications", "--follow", "--kind", "log", "--limit", "1"}, &follow, &follow)
	}()
	// The follower subscribes some time after it starts: the event is
	// logged again until the follower prints it (an event before the
	// subscription is, rightly, not followed).
	require.Eventually(t, func() bool {
		_, err := c.Call(ctx, "logger", "warning", etf.String("followed event"))
		require.NoError(t, err)
		return strings.Contains(follow.String(), `"text":"followed event"`)
	}, 30*time.Second, 500*time.Millisecond)
	stop()
	require.Equal(t, 0, <-followed, follow.String())

	code, _, errOut = run(t, "notifications")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "give its URL with --server")
}
