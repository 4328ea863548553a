package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/beamctl/beamctl/internal/alarm"
)

// alarmChange is one event of the alarm stream: what happened and the
// alarm as it is after it.
type alarmChange struct {
	Event alarm.Event `json:"event"`
	Alarm alarm.Alarm `json:"alarm"`
}

// alarmStream serves GET /api/v1/alarms/stream?cluster=&node= as
// server-sent events, one JSON alarmChange per change (raised,
// escalated, acked, commented, cleared, …) from now on, for the web UI's
// alarm pages. The changes of the alarm engine do not go through the
// notification journal, hence a stream of their own. A client too slow
// for a burst of changes gets one "lost" event instead of the changes it
// missed (the UI then reads the list again). It counts against
// MaxStreams and has the notification stream's keepalive and write
// deadlines.
func (h *handler) alarmStream(w http.ResponseWriter, r *http.Request) {
	if aerr := h.form(w, r); aerr != nil {
		h.respond(w, nil, aerr)
		return
	}
	cluster, node := r.Form.Get("cluster"), r.Form.Get("node")
	flusher, ok := w.(http.Flusher)
	if !ok {
		h.respond(w, nil, &apiError{status: http.StatusInternalServerError, typ: "internal", err: fmt.Errorf("streaming is not supported")})
		return
	}
	rc := http.NewResponseController(w)
	release, ok := h.startStream(w)
	if !ok {
		return
	}
	defer release()
	changes := make(chan alarmChange, 256)
	lost := make(chan struct{}, 1)
	// OnChange calls from the goroutine that changed the alarm: never block it.
	cancel := h.m.Alarms().OnChange(func(c alarm.Change) {
		if (cluster != "" && c.Alarm.Cluster != cluster) || (node != "" && c.Alarm.Node != node) {
			return
		}
		c.Alarm.History = nil
		select {
		case changes <- alarmChange{Event: c.Event, Alarm: c.Alarm}:
		default:
			select {
			case lost <- struct{}{}:
			default:
			}
		}
	})
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	h.streamWrite(rc)
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	keepalive := time.NewTicker(h.lim.StreamKeepalive)
	defer keepalive.Stop()
	for {
		var msg string
		select {
		case <-r.Context().Done():
			return
		case <-h.streamsDone:
			return
		case c := <-changes:
			b, err := json.Marshal(c)
			if err != nil {
				return
			}
			msg = "data: " + string(b) + "\n\n"
		case <-lost:
			msg = "event: lost\ndata: {}\n\n"
		case <-keepalive.C:
			msg = ": keepalive\n\n"
		}
		h.streamWrite(rc)
		if _, err := fmt.Fprint(w, msg); err != nil {
			return
		}
		flusher.Flush()
	}
}
