package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/beamctl/beamctl/internal/journal"
)

// maxLimit bounds one page of notifications.
const maxLimit = 10000

// notificationFilter reads cluster, node, kind, since (a duration back
// from now, e.g. 1h, or a time), until, grep, after_id and limit.
func notificationFilter(r *http.Request, now time.Time) (journal.Filter, *apiError) {
	q := r.Form
	f := journal.Filter{Cluster: q.Get("cluster"), Node: q.Get("node"), Kind: q.Get("kind"), Grep: q.Get("grep")}
	since := func(name string) (time.Time, *apiError) {
		s := q.Get(name)
		if s == "" {
			return time.Time{}, nil
		}
		if d, err := time.ParseDuration(s); err == nil && d > 0 {
			return now.Add(-d), nil
		}
		t, err := parseTime(s, time.Time{})
		if err != nil {
			return time.Time{}, badData("%s: %v (give a duration such as 1h or a time)", name, err)
		}
		return t, nil
	}
	var aerr *apiError
	if f.Since, aerr = since("since"); aerr != nil {
		return f, aerr
	}
	if f.Until, aerr = since("until"); aerr != nil {
		return f, aerr
	}
	for _, p := range []struct {
		name string
		dst  *int64
		max  int64
	}{{"after_id", &f.AfterID, 1<<63 - 1}, {"limit", nil, maxLimit}} {
		s := q.Get(p.name)
		if s == "" {
			continue
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 || v > p.max {
			return f, badData("%s must be a whole number from 0 to %d, not %q", p.name, p.max, s)
		}
		if p.dst != nil {
			*p.dst = v
		} else {
			f.Limit = int(v)
		}
	}
	return f, nil
}

// notificationRequest reads a request's filter; on a bad request it has
// answered it and ok is false.
func (h *handler) notificationRequest(w http.ResponseWriter, r *http.Request) (f journal.Filter, ok bool) {
	aerr := h.form(w, r)
	if aerr == nil {
		f, aerr = notificationFilter(r, time.Now())
	}
	if aerr != nil {
		h.respond(w, nil, aerr)
		return f, false
	}
	return f, true
}

// notifications serves GET /api/v1/notifications: the newest first.
func (h *handler) notifications(w http.ResponseWriter, r *http.Request) {
	f, ok := h.notificationRequest(w, r)
	if !ok {
		return
	}
	ns, err := h.m.Notifications().Query(r.Context(), f)
	if err != nil {
		h.respond(w, nil, &apiError{status: http.StatusInternalServerError, typ: "internal", err: err})
		return
	}
	h.respond(w, ns, nil)
}

// notificationStream serves GET /api/v1/notifications/stream as
// server-sent events, one JSON notification per event, oldest first:
// first the stored ones newer than after_id (if given), then live ones.
// A comment line every 15 s (StreamKeepalive) keeps proxies from closing
// the stream. At most MaxStreams are open at once; the server's read and
// write timeouts do not apply to a stream, each write has its own deadline.
func (h *handler) notificationStream(w http.ResponseWriter, r *http.Request) {
	rec := h.m.Notifications()
	f, ok := h.notificationRequest(w, r)
	if !ok {
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		h.respond(w, nil, &apiError{status: http.StatusInternalServerError, typ: "internal", err: fmt.Errorf("streaming is not supported")})
		return
	}
	rc := http.NewResponseController(w) // each write gets its own deadline (streamWrite)
	release, ok := h.startStream(w)
	if !ok {
		return
	}
	defer release()
	live, cancel := rec.Subscribe(journal.Filter{Cluster: f.Cluster, Node: f.Node, Kind: f.Kind, Grep: f.Grep}, 1024)
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	h.streamWrite(rc)
	w.WriteHeader(http.StatusOK)
	last := f.AfterID
	send := func(n journal.Notification) bool {
		if n.ID <= last {
			return true // already sent from the store
		}
		last = n.ID
		b, err := json.Marshal(n)
		if err != nil {
			return false
		}
		h.streamWrite(rc)
		_, err = fmt.Fprintf(w, "id: %d\ndata: %s\n\n", n.ID, b)
		return err == nil
	}
	if f.AfterID > 0 {
		backlog := f
		backlog.Limit = maxLimit
		ns, err := rec.Query(r.Context(), backlog)
		if err != nil {
			h.log.Error("Cannot read notifications for a stream", "err", err)
			return
		}
		for i := len(ns) - 1; i >= 0; i-- { // oldest first
			if !send(ns[i]) {
				return
			}
		}
	}
	flusher.Flush()
	keepalive := time.NewTicker(h.lim.StreamKeepalive)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-h.streamsDone:
			return
		case n, ok := <-live:
			if !ok || !send(n) {
				return
			}
			flusher.Flush()
		case <-keepalive.C:
			h.streamWrite(rc)
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil {
				return
			}
			flusher.Flush()
		}
	}
}
