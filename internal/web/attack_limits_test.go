package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/alarm"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/store"
	"github.com/beamctl/beamctl/internal/testnode"
)

// limited is a server under test with its limits: a real listener whose
// http.Server has the limits' timeouts, as internal/app builds it.
type limited struct {
	*httptest.Server
	reg *prometheus.Registry
	m   model
	h   *handler
}

// newLimited serves m over q (nil: a fresh store) with lim.
func newLimited(t *testing.T, q Querier, m model, lim Limits) *limited {
	t.Helper()
	if q == nil {
		db, err := store.Open(t.TempDir(), nil, nil, nil)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		q = db
	}
	ns, err := journal.Open(t.TempDir(), journal.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { ns.Close() })
	ae, err := alarm.Open(context.Background(), alarm.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { ae.Close() })
	m.rec, m.alarms = journal.NewRecorder(ns, nil, journal.RecorderOptions{}), ae
	l := &limited{reg: prometheus.NewRegistry(), m: m}
	lim = lim.WithDefaults()
	l.Server = httptest.NewUnstartedServer(New(q, m, nil, nil, nil, WithLimits(lim, l.reg), func(h *handler) { l.h = h }))
	c := l.Config
	c.ReadHeaderTimeout, c.ReadTimeout, c.WriteTimeout, c.IdleTimeout = lim.ReadHeaderTimeout, lim.ReadTimeout, lim.WriteTimeout, lim.IdleTimeout
	l.Start()
	t.Cleanup(l.Close)
	return l
}

// rejected reads beamctl_http_requests_rejected_total{reason}.
func (l *limited) rejected(t *testing.T, reason string) int {
	t.Helper()
	mfs, err := l.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "beamctl_http_requests_rejected_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == reason {
				return int(m.GetCounter().GetValue())
			}
		}
	}
	t.Fatalf("no beamctl_http_requests_rejected_total{reason=%q}", reason)
	return 0
}

// client makes a new connection per request, so that every attempt is
// one connection and none is left idle.
func client() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

// answer is a response's status, Retry-After and error sentence.
type answer struct {
	status     int
	retryAfter string
	err        string
	warnings   []string
	data       json.RawMessage
}

func fetch(ctx context.Context, c *http.Client, u string) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return answer{}, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	a := answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
	var body struct {
		Error    string          `json:"error"`
		Warnings []string        `json:"warnings"`
		Data     json.RawMessage `json:"data"`
	}
	if json.Unmarshal(b, &body) == nil {
		a.err, a.warnings, a.data = body.Error, body.Warnings, body.Data
	}
	return a, nil
}

// TestAttackSlowBody trickles a request one byte a second: the read
// timeout cuts it, the body with 408 and a sentence (counted), the headers
// with net/http's 400, and the server does not wait for the rest. (A byte
// trickled after the server closed resets the connection, which may drop
// the answer on the way: the reset is the same outcome.)
func TestAttackSlowBody(t *testing.T) {
	t.Parallel()
	l := newLimited(t, nil, model{}, Limits{ReadTimeout: time.Second})
	body := "query=" + strings.Repeat("1", 54)             // 60 bytes: a minute at this pace
	host := "Host: " + l.Listener.Addr().String() + "\r\n" // the Host allowlist's loopback address
	tests := []struct {
		name    string
		head    string // sent at once
		trickle string // one byte a second
		status  int
		errSub  string
		counted bool // a handler ran and counted it
	}{
		{"body", "POST /api/v1/query HTTP/1.1\r\n" + host + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 60\r\n\r\n",
			body, http.StatusRequestTimeout, "the request body was not read within 1s", true},
		{"headers", "GET /api/v1/query?query=up HTTP/1.1\r\n", host + "X-Slow: " + strings.Repeat("a", 40) + "\r\n\r\n",
			http.StatusBadRequest, "400 Bad Request", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := l.rejected(t, rejectReadTimeout)
			conn, err := net.Dial("tcp", l.Listener.Addr().String())
			require.NoError(t, err)
			defer conn.Close()
			_, err = io.WriteString(conn, tc.head)
			require.NoError(t, err)
			var sent atomic.Int64
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := 0; i < len(tc.trickle); i++ {
					if _, err := conn.Write([]byte{tc.trickle[i]}); err != nil {
						return
					}
					sent.Add(1)
					time.Sleep(time.Second)
				}
			}()
			raw, err := io.ReadAll(conn) // until the server closes the connection
			if err != nil {
				require.ErrorIs(t, err, syscall.ECONNRESET)
				t.Logf("%s: the connection was reset after %q", tc.name, raw)
			} else {
				resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
				require.NoError(t, err, "%q", raw)
				b, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				require.Equal(t, tc.status, resp.StatusCode, "%s", b)
				require.Contains(t, string(b), tc.errSub)
			}
			if tc.counted {
				require.Equal(t, before+1, l.rejected(t, rejectReadTimeout))
			}
			require.Less(t, sent.Load(), int64(len(tc.trickle)), "cut before the whole request was sent")
			t.Logf("%s: cut after %d of %d trickled bytes", tc.name, sent.Load(), len(tc.trickle))
			conn.Close()
			<-done
		})
	}
}

// TestAttackStreamOutlivesTimeouts keeps a notification stream open well
// past the server's read and write timeouts: it still delivers.
func TestAttackStreamOutlivesTimeouts(t *testing.T) {
	t.Parallel()
	lim := Limits{ReadTimeout: time.Second, WriteTimeout: time.Second, StreamKeepalive: 200 * time.Millisecond}
	l := newLimited(t, nil, model{}, lim)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.URL+"/api/v1/notifications/stream", nil)
	require.NoError(t, err)
	resp, err := client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	opened := time.Now()
	sc := bufio.NewScanner(resp.Body)
	// Keepalives go on after both timeouts have passed three times over.
	keepalives := 0
	for time.Since(opened) < 3*time.Duration(max(lim.ReadTimeout, lim.WriteTimeout)) {
		require.True(t, sc.Scan(), "the stream ended after %s (%d keepalives): %v", time.Since(opened), keepalives, sc.Err())
		if sc.Text() == ": keepalive" {
			keepalives++
		}
	}
	require.NoError(t, l.m.rec.Record(ctx, journal.Notification{Time: time.Now(), Cluster: "c", Node: "a@h", Kind: "log",
		Severity: journal.Info, Text: "still here"}))
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			require.Contains(t, data, "still here")
			t.Logf("the stream delivered after %s, %d keepalives, with read and write timeouts of %s", time.Since(opened), keepalives, lim.ReadTimeout)
			return
		}
	}
	t.Fatalf("the stream ended without the notification: %v", sc.Err())
}

// blockingQuerier is a store whose every call blocks until release is
// closed (or sleeps hold), and records how many ran at once.
type blockingQuerier struct {
	release chan struct{}
	hold    time.Duration
	running atomic.Int64
	peak    atomic.Int64
	calls   atomic.Int64
}

func (q *blockingQuerier) run(ctx context.Context) error {
	n := q.running.Add(1)
	defer q.running.Add(-1)
	q.calls.Add(1)
	for p := q.peak.Load(); n > p && !q.peak.CompareAndSwap(p, n); p = q.peak.Load() {
	}
	if q.hold > 0 {
		time.Sleep(q.hold)
		return nil
	}
	select {
	case <-q.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (q *blockingQuerier) Query(ctx context.Context, _ string, ts time.Time) (*store.Result, error) {
	return &store.Result{Type: "vector"}, q.run(ctx)
}

func (q *blockingQuerier) QueryRange(ctx context.Context, _ string, _, _ time.Time, _ time.Duration) (*store.Result, error) {
	return &store.Result{Type: "matrix"}, q.run(ctx)
}

func (q *blockingQuerier) LabelNames(ctx context.Context, _, _ time.Time) ([]string, error) {
	return []string{"__name__"}, q.run(ctx)
}

func (q *blockingQuerier) LabelValues(ctx context.Context, _ string, _, _ time.Time) ([]string, error) {
	return []string{"x"}, q.run(ctx)
}

func (q *blockingQuerier) Series(ctx context.Context, _ []string, _, _ time.Time) ([]map[string]string, error) {
	return []map[string]string{{"__name__": "x"}}, q.run(ctx)
}

// TestAttackConcurrentQueries sends 1,000 queries at once, over every
// route that queries the store: at most --query.max-concurrency run at
// once; the others wait for a slot or get 503 with a sentence and
// Retry-After, counted; none fails otherwise.
func TestAttackConcurrentQueries(t *testing.T) {
	t.Parallel()
	const attempts, maxQueries = 1000, 20
	paths := []string{"/api/v1/query?query=up", "/api/v1/query_range?query=up&start=0&end=60&step=15",
		"/api/v1/series?match[]=up", "/api/v1/labels", "/api/v1/label/job/values", "/federate?match[]=up"}
	tests := []struct {
		name string
		// blocked: the first queries hold their slots until every other
		// request is answered; else each query takes a few milliseconds and
		// the others wait long enough for a slot.
		blocked bool
		wait    time.Duration
	}{
		{"slots held: the rest rejected", true, 100 * time.Millisecond},
		{"slots freed: the rest wait", false, time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := &blockingQuerier{release: make(chan struct{})}
			if !tc.blocked {
				q.hold = 5 * time.Millisecond
			}
			l := newLimited(t, q, model{}, Limits{MaxQueries: maxQueries, QueryWait: tc.wait})
			c := client()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			answers := make(chan answer, attempts)
			var wg sync.WaitGroup
			for i := range attempts {
				wg.Go(func() {
					a, err := fetch(ctx, c, l.URL+paths[i%len(paths)])
					if err != nil {
						a.err = err.Error()
					}
					answers <- a
				})
			}
			if tc.blocked {
				// Every request but the running ones is answered while those hold.
				require.Eventually(t, func() bool { return len(answers) == attempts-maxQueries }, time.Minute, 10*time.Millisecond)
				require.Equal(t, int64(maxQueries), q.running.Load())
				close(q.release)
			}
			wg.Wait()
			close(answers)
			counts := map[int]int{}
			for a := range answers {
				counts[a.status]++
				switch a.status {
				case http.StatusOK:
				case http.StatusServiceUnavailable:
					require.Equal(t, "too many concurrent queries (20, --query.max-concurrency); retry later", a.err)
					require.Equal(t, "1", a.retryAfter)
				default:
					t.Fatalf("unexpected answer %+v", a)
				}
			}
			t.Logf("%d queries: peak %d running at once, answers by status %v", attempts, q.peak.Load(), counts)
			require.LessOrEqual(t, q.peak.Load(), int64(maxQueries))
			require.Equal(t, q.calls.Load(), int64(counts[http.StatusOK]), "every query that ran was answered 200")
			require.Equal(t, counts[http.StatusServiceUnavailable], l.rejected(t, rejectQueries))
			if tc.blocked {
				require.Equal(t, map[int]int{200: maxQueries, 503: attempts - maxQueries}, counts)
				require.Equal(t, int64(maxQueries), q.peak.Load())
			} else {
				require.Equal(t, map[int]int{200: attempts}, counts)
			}
			resp, err := c.Get(l.URL + "/-/healthy")
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
		})
	}
}

// raiseFileLimit raises the soft limit of open files to the hard one and
// returns it.
func raiseFileLimit(t *testing.T) uint64 {
	t.Helper()
	var rl syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl))
	if rl.Cur < rl.Max {
		old := rl.Cur
		rl.Cur = rl.Max
		require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl))
		t.Logf("raised the open files limit from %d to %d", old, rl.Cur)
	}
	return rl.Cur
}

// TestAttackStreams opens the most notification streams the server allows,
// then attempts 10,000 more: each gets 503 with a sentence, counted; the
// server still answers /-/healthy; when the clients go their slots free.
func TestAttackStreams(t *testing.T) {
	t.Parallel()
	const maxStreams, attempts = 100, 10000
	// Each open connection costs two descriptors in this process (client
	// and server end); the attempts run this many at a time.
	files := raiseFileLimit(t)
	parallel := min(1000, (int(files)-1000)/2-maxStreams)
	require.Positive(t, parallel, "open files limit %d is too low for %d streams", files, maxStreams)
	t.Logf("open files limit %d: %d attempts at a time", files, parallel)
	l := newLimited(t, nil, model{}, Limits{MaxStreams: maxStreams})
	c := client()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	sctx, closeStreams := context.WithCancel(ctx)
	var streams []*http.Response
	for range maxStreams {
		req, err := http.NewRequestWithContext(sctx, http.MethodGet, l.URL+"/api/v1/notifications/stream", nil)
		require.NoError(t, err)
		resp, err := c.Do(req)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		streams = append(streams, resp)
	}

	// The attempts stop at the first that is not refused (it would hold
	// its connection: without the cap, every attempt is served).
	actx, stopAttempts := context.WithCancel(ctx)
	defer stopAttempts()
	counts := map[int]int{}
	var errs []string
	var mu sync.Mutex
	next := make(chan int)
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for range next {
				rctx, cancel := context.WithTimeout(actx, 30*time.Second)
				a, err := fetch(rctx, c, l.URL+"/api/v1/notifications/stream")
				cancel()
				mu.Lock()
				if err != nil {
					errs = append(errs, err.Error())
					stopAttempts()
				} else {
					counts[a.status]++
					if a.status != http.StatusServiceUnavailable || a.retryAfter != "1" ||
						a.err != "too many notification streams open (100, --web.max-streams); retry later" {
						errs = append(errs, fmt.Sprintf("%+v", a))
						stopAttempts()
					}
				}
				mu.Unlock()
			}
		})
	}
	for i := range attempts {
		next <- i
	}
	close(next)
	wg.Wait()
	t.Logf("%d streams open, %d more attempted: answers by status %v, %d errors", maxStreams, attempts, counts, len(errs))
	require.Empty(t, errs[:min(len(errs), 3)], "%d attempts failed", len(errs))
	require.Equal(t, map[int]int{http.StatusServiceUnavailable: attempts}, counts)
	require.Equal(t, attempts, l.rejected(t, rejectStreams))

	resp, err := c.Get(l.URL + "/-/healthy")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// The open streams still deliver.
	require.NoError(t, l.m.rec.Record(ctx, journal.Notification{Time: time.Now(), Cluster: "c", Node: "a@h", Kind: "log",
		Severity: journal.Info, Text: "to all"}))
	sc := bufio.NewScanner(streams[maxStreams-1].Body)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "data: ") {
	}
	require.Contains(t, sc.Text(), "to all")

	// The clients go: their slots free, a new stream is served.
	closeStreams()
	for _, s := range streams {
		s.Body.Close()
	}
	require.Eventually(t, func() bool {
		l.h.lim.mu.Lock()
		defer l.h.lim.mu.Unlock()
		return l.h.lim.streams == 0
	}, time.Minute, 10*time.Millisecond)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.URL+"/api/v1/notifications/stream", nil)
	require.NoError(t, err)
	resp, err = c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestAttackOversizedParams sends out-of-range numbers and times: each gets
// 400 with a sentence, before any query runs.
func TestAttackOversizedParams(t *testing.T) {
	t.Parallel()
	q := &blockingQuerier{hold: time.Millisecond}
	l := newLimited(t, q, model{}, Limits{})
	tests := []struct {
		name, path, errSub string
	}{
		{"series limit 1e999", "/api/v1/series?match[]=up&limit=1e999", `limit must be a whole number, 0 (no limit) or more, not "1e999"`},
		{"series limit above int64", "/api/v1/series?match[]=up&limit=99999999999999999999", "limit must be a whole number"},
		{"series negative limit", "/api/v1/series?match[]=up&limit=-1", "limit must be a whole number"},
		{"labels limit 1e999", "/api/v1/labels?limit=1e999", "limit must be a whole number"},
		{"label values limit 1e999", "/api/v1/label/job/values?limit=1e999", "limit must be a whole number"},
		{"notifications limit 1e999", "/api/v1/notifications?limit=1e999", "limit must be a whole number from 0 to 10000"},
		{"notifications limit above its bound", "/api/v1/notifications?limit=10001", "limit must be a whole number from 0 to 10000"},
		{"notifications after_id 1e999", "/api/v1/notifications?after_id=1e999", "after_id must be a whole number"},
		{"stream after_id above int64", "/api/v1/notifications/stream?after_id=9223372036854775808", "after_id must be a whole number"},
		{"alarms limit 1e999", "/api/v1/alarms?limit=1e999", "limit must be a whole number from 1 to 10000"},
		{"step 1e-300", "/api/v1/query_range?query=up&start=0&end=60&step=1e-300", `step "1e-300" is not a positive duration of at least 1ms`},
		{"step 1e300", "/api/v1/query_range?query=up&start=0&end=60&step=1e300", "it is out of range"},
		{"step 1e999", "/api/v1/query_range?query=up&start=0&end=60&step=1e999", `cannot parse "1e999" to a valid duration`},
		{"step NaN", "/api/v1/query_range?query=up&start=0&end=60&step=NaN", "invalid parameter step"},
		{"step 0", "/api/v1/query_range?query=up&start=0&end=60&step=0", "not a positive duration"},
		{"start 1e300", "/api/v1/query_range?query=up&start=1e300&end=60&step=1", `invalid parameter start`},
		{"end 1e300", "/api/v1/query_range?query=up&start=0&end=1e300&step=1", `invalid parameter end`},
		{"range over 11,000 points", "/api/v1/query_range?query=up&start=0&end=11001&step=1", "exceeds 11,000 points per series"},
		{"widest range", "/api/v1/query_range?query=up&start=-9223372036&end=9223372036&step=1", "exceeds 11,000 points per series"},
		{"time 1e300", "/api/v1/query?query=up&time=1e300", `timestamp "1e300" is out of range`},
		{"time -1e300", "/api/v1/query?query=up&time=-1e300", "is out of range"},
		{"time 1e999", "/api/v1/query?query=up&time=1e999", `cannot parse "1e999" to a valid timestamp`},
		{"series start 1e300", "/api/v1/series?match[]=up&start=1e300", "invalid parameter start"},
		{"labels end -1e300", "/api/v1/labels?end=-1e300", "invalid parameter end"},
		{"top n 1e999", "/api/v1/nodes/a@h/top?n=1e999", "n must be a whole number from 1 to 1000"},
		{"top window 1e999h", "/api/v1/nodes/a@h/top?window=1e999h", "window must be a duration"},
		{"top scan-limit above int64", "/api/v1/nodes/a@h/top?scan-limit=99999999999999999999", "scan-limit must be a whole number"},
	}
	c := client()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := fetch(context.Background(), c, l.URL+tc.path)
			require.NoError(t, err)
			require.Equal(t, http.StatusBadRequest, a.status, a.err)
			require.Contains(t, a.err, tc.errSub)
		})
	}
	require.Zero(t, q.calls.Load(), "no query ran")
	// At the bounds, the same requests run.
	for _, path := range []string{"/api/v1/query_range?query=up&start=0&end=11000&step=1", "/api/v1/query?query=up&time=9223309901",
		"/api/v1/series?match[]=up&limit=0", "/api/v1/query_range?query=up&start=0&end=10&step=0.001"} {
		a, err := fetch(context.Background(), c, l.URL+path)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, a.status, "%s: %s", path, a.err)
	}
}

// TestAttackResultSize asks for more series, label names and label values
// than --query.max-series: an error naming the limit, counted; with limit=
// the answer is truncated with Prometheus' warning.
func TestAttackResultSize(t *testing.T) {
	t.Parallel()
	db, err := store.Open(t.TempDir(), nil, nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	const maxSeries, n = 5, 8
	now := time.Now()
	var samples []store.Sample
	for i := range n {
		samples = append(samples, store.Sample{Time: now, Value: 1, Labels: []store.Label{{Name: "__name__", Value: "beam_x"},
			{Name: "id", Value: strconv.Itoa(i)}, {Name: fmt.Sprintf("l%d", i), Value: "v"}}})
	}
	require.NoError(t, db.Append(context.Background(), samples))
	l := newLimited(t, db, model{}, Limits{MaxSeries: maxSeries})
	tests := []struct {
		name, path string
		status     int
		entries    int
		errSub     string
		warning    bool
	}{
		{"series above the cap", "/api/v1/series?match[]=beam_x", 422, 0, "the answer has 8 series, more than 5 (--query.max-series); narrow the request or pass limit=", false},
		{"series with a limit", "/api/v1/series?match[]=beam_x&limit=3", 200, 3, "", true},
		{"series with a limit above the count", "/api/v1/series?match[]=beam_x&limit=100", 422, 0, "more than 5 (--query.max-series)", false},
		{"series within the cap", "/api/v1/series?match[]=" + url.QueryEscape(`beam_x{id=~"[0-4]"}`), 200, 5, "", false},
		{"label names above the cap", "/api/v1/labels", 422, 0, "the answer has 10 label names, more than 5", false},
		{"label names with a limit", "/api/v1/labels?limit=5", 200, 5, "", true},
		{"label values above the cap", "/api/v1/label/id/values", 422, 0, "the answer has 8 label values, more than 5", false},
		{"label values with a limit", "/api/v1/label/id/values?limit=2", 200, 2, "", true},
		{"label values within a limit", "/api/v1/label/__name__/values?limit=2", 200, 1, "", false},
	}
	c := client()
	rejected := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := fetch(context.Background(), c, l.URL+tc.path)
			require.NoError(t, err)
			require.Equal(t, tc.status, a.status, a.err)
			if tc.status != 200 {
				rejected++
				require.Contains(t, a.err, tc.errSub)
				require.Equal(t, rejected, l.rejected(t, rejectResultSize))
				return
			}
			var entries []any
			require.NoError(t, json.Unmarshal(a.data, &entries))
			require.Len(t, entries, tc.entries)
			if tc.warning {
				require.Equal(t, []string{"results truncated due to limit"}, a.warnings)
			} else {
				require.Empty(t, a.warnings)
			}
		})
	}
}

// TestAttackInspections runs long inspections on a real node: past
// --web.max-inspections-per-node the node's next call gets 429, past
// --web.max-inspections any call gets 503, each with a sentence, counted;
// when the calls end their slots free.
func TestAttackInspections(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	defer conn.Close()
	tests := []struct {
		name            string
		perNode, global int
		held            int // calls running before the one that is refused
		status          int
		reason, errMsg  string
	}{
		{"per node", 2, 16, 2, http.StatusTooManyRequests, rejectNode,
			"too many inspections of node " + n.Name + " at once (2, --web.max-inspections-per-node); retry when one ends"},
		{"all nodes", 2, 1, 1, http.StatusServiceUnavailable, rejectInspections,
			"too many inspections at once (1, --web.max-inspections); retry later"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimited(t, nil, model{conns: map[string]inspect.Conn{n.Name: conn}},
				Limits{MaxInspectionsPerNode: tc.perNode, MaxInspections: tc.global})
			base := l.URL + "/api/v1/nodes/" + url.PathEscape(n.Name) + "/"
			c := client()
			hctx, stop := context.WithCancel(ctx)
			var wg sync.WaitGroup
			for range tc.held {
				wg.Go(func() { _, _ = fetch(hctx, c, base+"top?window=1m") })
			}
			running := func() int {
				l.h.lim.mu.Lock()
				defer l.h.lim.mu.Unlock()
				return l.h.lim.perNode[n.Name]
			}
			require.Eventually(t, func() bool { return running() == tc.held }, time.Minute, 10*time.Millisecond)
			a, err := fetch(ctx, c, base+"memory")
			require.NoError(t, err)
			require.Equal(t, tc.status, a.status, a.err)
			require.Equal(t, tc.errMsg, a.err)
			require.Equal(t, "1", a.retryAfter)
			require.Equal(t, 1, l.rejected(t, tc.reason))
			// Another route still answers.
			h, err := fetch(ctx, c, l.URL+"/api/v1/tools")
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, h.status)

			stop()
			wg.Wait()
			require.Eventually(t, func() bool { return running() == 0 }, time.Minute, 10*time.Millisecond)
			a, err = fetch(ctx, c, base+"memory")
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, a.status, a.err)
		})
	}
}

// TestDefaultLimits checks that the write timeout leaves room for the
// longest request the API allows.
func TestDefaultLimits(t *testing.T) {
	d := DefaultLimits()
	longestInspection := inspectTimeout
	for _, tool := range inspect.Tools() {
		if !tool.Web || tool.Time == nil {
			continue
		}
		raw := map[string]string{}
		for _, p := range tool.Params {
			if p.Kind == inspect.ParamDuration {
				raw[p.Name] = time.Duration(p.Max).String()
			}
		}
		args, err := tool.Parse(raw)
		require.NoError(t, err, tool.Name)
		longestInspection = max(longestInspection, inspectTimeout+tool.Time(args))
	}
	require.Greater(t, d.WriteTimeout, longestInspection)
	require.Greater(t, d.WriteTimeout, store.DefaultOptions().QueryTimeout)
	require.Less(t, d.StreamKeepalive, d.StreamWriteTimeout)
	require.Equal(t, d, Limits{}.WithDefaults())
}
