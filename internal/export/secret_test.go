package export

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/journal"
)

// syncBuffer is a log destination the test reads while the target writes.
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

// TestOTLPSecretNotShown exports to an OTLP URL whose path and query are
// tokens, on a loopback port where nothing listens: the target's name (a
// metric label) and its logged errors show the URL as scheme and host
// only, and no header value. (Before: the name was the whole URL, and
// Go's *url.Error put it in every logged error.)
func TestOTLPSecretNotShown(t *testing.T) {
	const token, key, header = "T0KEN-in-the-path", "k3y-in-the-query", "Bearer h3ader"
	port := freePort(t, "tcp")
	u := fmt.Sprintf("http://127.0.0.1:%d/v1/logs/%s?key=%s", port, token, key)
	tg, err := New(Options{Format: "otlp", URL: u, Headers: map[string]string{"Authorization": header}})
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("otlp http://127.0.0.1:%d", port), tg.Name)

	sendErr := tg.s.send(t.Context(), sample)
	require.Error(t, sendErr)
	require.Contains(t, sendErr.Error(), fmt.Sprintf("otlp: post to http://127.0.0.1:%d: ", port))

	// The same through Run, as serve runs it, with its log.
	var logs syncBuffer
	st, err := journal.Open(t.TempDir(), journal.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	rec := journal.NewRecorder(st, nil, journal.RecorderOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); tg.Run(ctx, rec, slog.New(slog.NewTextHandler(&logs, nil))) }()
	t.Cleanup(func() { cancel(); <-done })
	require.Eventually(t, func() bool { return rec.Subscribers() == 1 }, 10*time.Second, time.Millisecond)
	require.NoError(t, rec.Record(context.Background(), sample...))
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "Export failed") }, 30*time.Second, 10*time.Millisecond)
	for name, text := range map[string]string{"name": tg.Name, "error": sendErr.Error(), "logs": logs.String()} {
		for _, secret := range []string{token, key, header, u} {
			require.NotContains(t, text, secret, name)
		}
	}
}
