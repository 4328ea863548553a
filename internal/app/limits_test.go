package app

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/web"
)

// TestHTTPLimits checks that the server's http.Server has the limits'
// timeouts (a body trickled one byte a second is cut by a 1 s read
// timeout), that its rejections reach /metrics, and that an open
// notification stream does not hold up Stop.
func TestHTTPLimits(t *testing.T) {
	cfg, err := config.Parse([]byte(`
clusters:
  - name: none
    cookie: c
    nodes: [nobody@127.0.0.1]
`), t.TempDir())
	require.NoError(t, err)
	a, err := New(Options{Config: cfg, StoragePath: t.TempDir(), Listen: "127.0.0.1:0", HTTP: web.Limits{ReadTimeout: time.Second}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Stop() })
	require.NoError(t, a.Start(context.Background()))
	d := web.DefaultLimits()
	require.Equal(t, []time.Duration{time.Second, time.Second, d.WriteTimeout, d.IdleTimeout},
		[]time.Duration{a.srv.ReadHeaderTimeout, a.srv.ReadTimeout, a.srv.WriteTimeout, a.srv.IdleTimeout})

	conn, err := net.Dial("tcp", a.Addr())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /api/v1/query HTTP/1.1\r\nHost: "+a.Addr()+"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 60\r\n\r\nq")
	require.NoError(t, err)
	go func() {
		for range 59 {
			if _, err := conn.Write([]byte("1")); err != nil {
				return
			}
			time.Sleep(time.Second)
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusRequestTimeout, resp.StatusCode, "%s", b)
	require.Contains(t, string(b), "the request body was not read within 1s")

	metrics, err := http.Get("http://" + a.Addr() + "/metrics")
	require.NoError(t, err)
	b, err = io.ReadAll(metrics.Body)
	metrics.Body.Close()
	require.NoError(t, err)
	for _, line := range []string{`beamctl_http_requests_rejected_total{reason="read_timeout"} 1`,
		`beamctl_http_requests_rejected_total{reason="query_concurrency"} 0`,
		`beamctl_http_requests_rejected_total{reason="sse_subscribers"} 0`} {
		require.Contains(t, string(b), line)
	}

	stream, err := http.Get("http://" + a.Addr() + "/api/v1/notifications/stream")
	require.NoError(t, err)
	defer stream.Body.Close()
	require.Equal(t, http.StatusOK, stream.StatusCode)
	require.NoError(t, a.Stop(), "an open stream ends when the server stops")
	_, err = io.Copy(io.Discard, stream.Body)
	if err != nil {
		require.True(t, strings.Contains(err.Error(), "EOF") || strings.Contains(err.Error(), "reset"), "%v", err)
	}
}
