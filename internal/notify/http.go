package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beamctl/beamctl/internal/redact"
)

// HTTPError is a receiver's answer other than 2xx.
type HTTPError struct {
	StatusCode int
	Body       string // the answer's first 4 KiB
	// RetryAfter is the answer's Retry-After (429 and 503), zero if none.
	RetryAfter time.Duration
}

func (e *HTTPError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("HTTP %d", e.StatusCode)
	}
	return fmt.Sprintf("HTTP %d: %s", e.StatusCode, e.Body)
}

// RetryStatus tells whether an HTTP status is worth trying again: a 5xx
// (the receiver is down or overloaded) or 429 (rate-limited). Any other
// 4xx is the receiver rejecting the message, which will not change.
func RetryStatus(code int) bool {
	return code/100 == 5 || code == http.StatusTooManyRequests
}

// PostTimeout bounds one post.
const PostTimeout = 10 * time.Second

// Post posts body to u with its content type, using client
// (http.DefaultClient if nil), for PostTimeout at most. It returns nil on
// a 2xx answer, an *HTTPError otherwise, and whether trying again may
// help (RetryStatus, or any failure to get an answer). The error names
// neither u nor any of secrets (u is one).
func Post(ctx context.Context, client *http.Client, u, contentType string, body []byte, secrets ...string) (retry bool, err error) {
	secrets = append(slices.Clip(secrets), redact.URLSecrets(u)...)
	if client == nil {
		client = http.DefaultClient
	}
	ctx, cancel := context.WithTimeout(ctx, PostTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return false, errors.New("cannot make the request (a malformed URL?)")
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "beamctl")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // "Post "URL": cause": the URL is the secret
			err = fmt.Errorf("post: %w", ue.Err)
		}
		return true, Redact(err, secrets...)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 == 2 {
		return false, nil
	}
	herr := &HTTPError{StatusCode: resp.StatusCode, Body: RedactString(strings.TrimSpace(string(b)), secrets...)}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		herr.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return RetryStatus(resp.StatusCode), herr
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
