package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Limits bound what HTTP clients can make the server spend: time per
// connection, concurrent queries, inspections and streams, and the size of
// a result. Every rejection is a sentence naming the limit and its flag,
// with 429 (one node asked too often) or 503 (the server is at capacity)
// and a Retry-After header, or 422 for a result too large, and is counted
// in beamctl_http_requests_rejected_total by reason. A zero field takes its
// default (DefaultLimits).
type Limits struct {
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout are the
	// http.Server's. The notification stream lifts the read and write
	// deadlines of its own connection (see StreamWriteTimeout).
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxQueries bounds the queries running at once (query, query_range,
	// series, labels, label values, federate): --query.max-concurrency.
	MaxQueries int
	// QueryWait is how long a query waits for a free slot before the 503.
	QueryWait time.Duration
	// MaxInspections bounds the inspection calls running at once on all
	// nodes (--web.max-inspections), MaxInspectionsPerNode on one node
	// (--web.max-inspections-per-node).
	MaxInspections, MaxInspectionsPerNode int
	// MaxStreams bounds the open notification streams (--web.max-streams).
	MaxStreams int
	// StreamWriteTimeout bounds one write to a stream: a client that reads
	// nothing for that long is cut. StreamKeepalive is the interval of the
	// comment lines that keep proxies from closing an idle stream; it must
	// be shorter.
	StreamWriteTimeout, StreamKeepalive time.Duration
	// MaxSeries bounds the entries of a series, labels or label values
	// answer (--query.max-series).
	MaxSeries int
}

// The longest a request may legitimately take: the store's query timeout
// (2 minutes by default) and an inspection (30 s plus top's window of at
// most a minute). WriteTimeout leaves room above both to write the answer.
const defaultWriteTimeout = 2*time.Minute + 30*time.Second

// DefaultLimits are the limits of beamctl serve without flags.
func DefaultLimits() Limits {
	return Limits{
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: defaultWriteTimeout, IdleTimeout: 2 * time.Minute,
		MaxQueries: 20, QueryWait: 5 * time.Second,
		MaxInspections: 16, MaxInspectionsPerNode: 2,
		MaxStreams: 100, StreamWriteTimeout: 30 * time.Second, StreamKeepalive: 15 * time.Second,
		MaxSeries: 10000,
	}
}

// WithDefaults returns l with every zero (or negative) field set to its
// default.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	dur := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	num := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	dur(&l.ReadHeaderTimeout, d.ReadHeaderTimeout)
	dur(&l.ReadTimeout, d.ReadTimeout)
	dur(&l.WriteTimeout, d.WriteTimeout)
	dur(&l.IdleTimeout, d.IdleTimeout)
	dur(&l.QueryWait, d.QueryWait)
	dur(&l.StreamWriteTimeout, d.StreamWriteTimeout)
	dur(&l.StreamKeepalive, d.StreamKeepalive)
	num(&l.MaxQueries, d.MaxQueries)
	num(&l.MaxInspections, d.MaxInspections)
	num(&l.MaxInspectionsPerNode, d.MaxInspectionsPerNode)
	num(&l.MaxStreams, d.MaxStreams)
	num(&l.MaxSeries, d.MaxSeries)
	// The headers are part of the request: a shorter ReadTimeout bounds
	// them too.
	l.ReadHeaderTimeout = min(l.ReadHeaderTimeout, l.ReadTimeout)
	return l
}

// Reasons of beamctl_http_requests_rejected_total.
const (
	rejectQueries     = "query_concurrency"
	rejectInspections = "inspect_concurrency"
	rejectNode        = "inspect_node_concurrency"
	rejectStreams     = "sse_subscribers"
	rejectResultSize  = "result_size"
	rejectReadTimeout = "read_timeout"
	rejectBodySize    = "body_size"
)

var rejectReasons = []string{rejectQueries, rejectInspections, rejectNode, rejectStreams, rejectResultSize,
	rejectReadTimeout, rejectBodySize}

// WithLimits sets the API's limits (zero fields: defaults) and registers
// the rejection counter on reg (nil: not registered).
func WithLimits(l Limits, reg prometheus.Registerer) Option {
	return func(h *handler) { h.lim = newLimiter(l, reg) }
}

// WithStreamsDone ends every notification stream when done is closed
// (http.Server.Shutdown waits for open connections, and a stream never
// ends by itself).
func WithStreamsDone(done <-chan struct{}) Option {
	return func(h *handler) { h.streamsDone = done }
}

// newHandler builds the handler with its options; without WithLimits it
// has the default limits.
func newHandler(q Querier, m Model, logger *slog.Logger, opts []Option) *handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{q: q, m: m, log: logger}
	for _, o := range opts {
		o(h)
	}
	if h.lim == nil {
		h.lim = newLimiter(Limits{}, nil)
	}
	return h
}

// limiter holds the slots of the concurrency limits.
type limiter struct {
	Limits
	queries  chan struct{} // one token per running query
	rejected *prometheus.CounterVec

	mu         sync.Mutex
	inspecting int            // inspection calls running
	perNode    map[string]int // inspection calls running per node; no zero entries
	streams    int            // open notification streams
}

func newLimiter(l Limits, reg prometheus.Registerer) *limiter {
	l = l.WithDefaults()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "beamctl_http_requests_rejected_total",
		Help: "HTTP API requests refused by a limit, by reason: query_concurrency, inspect_concurrency, " +
			"inspect_node_concurrency, sse_subscribers, result_size, read_timeout, body_size.",
	}, []string{"reason"})
	for _, r := range rejectReasons {
		c.WithLabelValues(r) // exported as 0 before the first rejection
	}
	if reg != nil {
		if err := reg.Register(c); err != nil {
			if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
				c = are.ExistingCollector.(*prometheus.CounterVec)
			} else {
				panic(err) // a programming error: another metric of that name
			}
		}
	}
	return &limiter{Limits: l, queries: make(chan struct{}, l.MaxQueries), rejected: c, perNode: map[string]int{}}
}

// reject answers a request a limit refused, with Retry-After when retrying
// later may succeed, and counts it.
func (h *handler) reject(w http.ResponseWriter, status int, reason string, err error) {
	h.lim.rejected.WithLabelValues(reason).Inc()
	typ := "unavailable"
	switch status {
	case http.StatusTooManyRequests:
		typ = "too_many_requests"
	case http.StatusUnprocessableEntity:
		typ = "execution"
	}
	if status != http.StatusUnprocessableEntity {
		w.Header().Set("Retry-After", "1")
	}
	h.respond(w, nil, &apiError{status: status, typ: typ, err: err})
}

// formError answers a request whose form could not be read: too large, or
// trickled slower than the read timeout (counted), or malformed.
func (h *handler) formError(err error) *apiError {
	if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
		h.lim.rejected.WithLabelValues(rejectBodySize).Inc()
		return &apiError{status: http.StatusRequestEntityTooLarge, typ: "bad_data",
			err: fmt.Errorf("the request body is larger than %d bytes", mbe.Limit)}
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		h.lim.rejected.WithLabelValues(rejectReadTimeout).Inc()
		return &apiError{status: http.StatusRequestTimeout, typ: "bad_data",
			err: fmt.Errorf("the request body was not read within %s", h.lim.ReadTimeout)}
	}
	return badData("cannot read the request: %v", err)
}

// startQuery takes a query slot, waiting up to QueryWait (or until the
// client goes); when none frees it answers 503 and ok is false.
func (h *handler) startQuery(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	l := h.lim
	release = func() { <-l.queries }
	select {
	case l.queries <- struct{}{}:
		return release, true
	default:
	}
	t := time.NewTimer(l.QueryWait)
	defer t.Stop()
	select {
	case l.queries <- struct{}{}:
		return release, true
	case <-t.C:
	case <-r.Context().Done():
	}
	h.reject(w, http.StatusServiceUnavailable, rejectQueries,
		fmt.Errorf("too many concurrent queries (%d, --query.max-concurrency); retry later", l.MaxQueries))
	return nil, false
}

// startInspection takes an inspection slot for node, or answers 429 (the
// node has its share) or 503 (the server has its share) and ok is false.
func (h *handler) startInspection(w http.ResponseWriter, node string) (release func(), ok bool) {
	l := h.lim
	l.mu.Lock()
	switch {
	case l.perNode[node] >= l.MaxInspectionsPerNode:
		l.mu.Unlock()
		h.reject(w, http.StatusTooManyRequests, rejectNode, fmt.Errorf(
			"too many inspections of node %s at once (%d, --web.max-inspections-per-node); retry when one ends",
			node, l.MaxInspectionsPerNode))
		return nil, false
	case l.inspecting >= l.MaxInspections:
		l.mu.Unlock()
		h.reject(w, http.StatusServiceUnavailable, rejectInspections, fmt.Errorf(
			"too many inspections at once (%d, --web.max-inspections); retry later", l.MaxInspections))
		return nil, false
	}
	l.perNode[node]++
	l.inspecting++
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.inspecting--
		if l.perNode[node]--; l.perNode[node] == 0 {
			delete(l.perNode, node)
		}
	}, true
}

// startStream takes a notification stream slot, or answers 503 and ok is
// false.
func (h *handler) startStream(w http.ResponseWriter) (release func(), ok bool) {
	l := h.lim
	l.mu.Lock()
	if l.streams >= l.MaxStreams {
		l.mu.Unlock()
		h.reject(w, http.StatusServiceUnavailable, rejectStreams, fmt.Errorf(
			"too many notification streams open (%d, --web.max-streams); retry later", l.MaxStreams))
		return nil, false
	}
	l.streams++
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		l.streams--
		l.mu.Unlock()
	}, true
}

// parseLimit reads the limit parameter of series, labels and label values
// (as Prometheus 2.49+): 0 or absent is no limit.
func parseLimit(r *http.Request) (int, *apiError) {
	s := r.Form.Get("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, badData("limit must be a whole number, 0 (no limit) or more, not %q", s)
	}
	return int(min(n, 1<<31)), nil
}

// truncated is the warning Prometheus gives when limit cut a result.
const truncated = "results truncated due to limit"

// capResult applies limit (0: none) to a result of n entries, then
// MaxSeries: it returns how many entries to answer and the warnings, or
// answers 422 itself and ok is false.
func (h *handler) capResult(w http.ResponseWriter, what string, n, limit int) (keep int, warnings []string, ok bool) {
	keep = n
	if limit > 0 && n > limit {
		keep, warnings = limit, []string{truncated}
	}
	if max := h.lim.MaxSeries; keep > max {
		h.reject(w, http.StatusUnprocessableEntity, rejectResultSize, fmt.Errorf(
			"the answer has %d %s, more than %d (--query.max-series); narrow the request or pass limit=", n, what, max))
		return 0, nil, false
	}
	return keep, warnings, true
}

// respondWarned answers data with Prometheus' warnings field.
func (h *handler) respondWarned(w http.ResponseWriter, data any, warnings []string) {
	if len(warnings) == 0 {
		h.respond(w, data, nil)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": data, "warnings": warnings}); err != nil {
		h.log.Debug("Cannot write response", "err", err)
	}
}

// streamWrite sets the deadline of the next write to a stream, in place of
// the server's WriteTimeout, which counts from the request and would cut
// every stream. (net/http already clears the read deadline of a request
// without a body once its handler runs.) A ResponseWriter wrapped without
// Unwrap cannot: the stream then ends at WriteTimeout.
func (h *handler) streamWrite(rc *http.ResponseController) {
	if err := rc.SetWriteDeadline(time.Now().Add(h.lim.StreamWriteTimeout)); err != nil {
		h.log.Debug("Cannot set a stream's write deadline", "err", err)
	}
}
