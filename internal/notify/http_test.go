package notify

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		h    string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"-3", 0}, {"120", 2 * time.Minute}, {" 5 ", 5 * time.Second}, {"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	} {
		t.Run(c.h, func(t *testing.T) {
			require.Equal(t, c.want, retryAfter(c.h, now))
		})
	}
}

func TestRetryStatus(t *testing.T) {
	for code, want := range map[int]bool{500: true, 502: true, 503: true, 429: true, 400: false, 401: false, 404: false, 413: false, 302: false} {
		require.Equal(t, want, RetryStatus(code), code)
	}
}
