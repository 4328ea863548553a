package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestServeLimitFlags checks the HTTP limit flags: a bad value is a usage
// error naming the flag, and a good one reaches the running server.
func TestServeLimitFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ flag, err string }{
		{"--web.max-streams=0", `--web.max-streams must be a whole number of 1 or more, not "0"`},
		{"--query.max-concurrency=-1", `--query.max-concurrency must be a whole number of 1 or more, not "-1"`},
		{"--query.max-series=1e999", `--query.max-series must be a whole number of 1 or more, not "1e999"`},
		{"--web.max-inspections=x", `--web.max-inspections must be a whole number of 1 or more, not "x"`},
		{"--web.max-inspections-per-node=0", `--web.max-inspections-per-node must be a whole number of 1 or more, not "0"`},
	} {
		code, _, stderr := run(t, "serve", "--config.file=nosuch.yml", tc.flag)
		require.Equal(t, 2, code, stderr)
		require.Contains(t, stderr, tc.err)
	}

	dir := t.TempDir()
	cfg := filepath.Join(dir, "beamctl.yml")
	require.NoError(t, os.WriteFile(cfg, []byte("clusters:\n  - name: none\n    cookie: c\n    nodes: [nobody@127.0.0.1]\n"), 0o600))
	ctx, cancel := context.WithCancel(context.Background())
	out, w := io.Pipe()
	done := make(chan int)
	go func() {
		done <- Run(ctx, []string{"serve", "--config.file=" + cfg, "--storage.path=" + filepath.Join(dir, "data"),
			"--web.listen-address=127.0.0.1:0", "--web.max-streams=1"}, w, io.Discard)
		w.Close()
	}()
	defer func() {
		cancel()
		go io.Copy(io.Discard, out) //nolint:errcheck // drain until serve ends
		require.Equal(t, 0, <-done)
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	_, rest, ok := strings.Cut(line, "API on ")
	require.True(t, ok, line)
	base, _, _ := strings.Cut(rest, " ")

	sctx, stop := context.WithTimeout(ctx, time.Minute)
	defer stop()
	req, err := http.NewRequestWithContext(sctx, http.MethodGet, base+"/api/v1/notifications/stream", nil)
	require.NoError(t, err)
	first, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer first.Body.Close()
	require.Equal(t, http.StatusOK, first.StatusCode)
	second, err := http.Get(base + "/api/v1/notifications/stream")
	require.NoError(t, err)
	defer second.Body.Close()
	var body struct{ Error string }
	require.NoError(t, json.NewDecoder(second.Body).Decode(&body))
	require.Equal(t, http.StatusServiceUnavailable, second.StatusCode)
	require.Equal(t, "too many notification streams open (1, --web.max-streams); retry later", body.Error)
}
