package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/beamctl/beamctl/internal/alarm"
)

// alarms serves GET /api/v1/alarms?active=true&cluster=&family=&node=&rule=&severity=&limit=.
func (h *handler) alarms(w http.ResponseWriter, r *http.Request) {
	if aerr := h.form(w, r); aerr != nil {
		h.respond(w, nil, aerr)
		return
	}
	f := alarm.Filter{ActiveOnly: r.Form.Get("active") == "true", Cluster: r.Form.Get("cluster"), Node: r.Form.Get("node"),
		Rule: r.Form.Get("rule"), Family: r.Form.Get("family")}
	if s := r.Form.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			h.respond(w, nil, badData("limit must be a whole number from 1 to %d, not %q", maxLimit, s))
			return
		}
		f.Limit = n
	}
	if s := r.Form.Get("severity"); s != "" {
		sev, err := alarm.ParseSeverity(s)
		if err != nil {
			h.respond(w, nil, badData("%v", err))
			return
		}
		f.Severity = sev
	}
	if f.Family != "" {
		for _, n := range h.m.Nodes() {
			if n.Family == f.Family && (f.Cluster == "" || n.Cluster == f.Cluster) {
				f.FamilyNodes = append(f.FamilyNodes, n.Node)
			}
		}
	}
	as, err := h.m.Alarms().List(r.Context(), f)
	if err != nil {
		h.respond(w, nil, &apiError{status: http.StatusInternalServerError, typ: "internal", err: err})
		return
	}
	h.respond(w, as, nil)
}

// rules serves GET /api/v1/alarm-rules: every installed alarm rule with
// the health of its evaluations (last error, time and duration of the
// last evaluation, counts). GET /api/v1/rules has them in Prometheus'
// shape (prometheus.go).
func (h *handler) rules(w http.ResponseWriter, _ *http.Request) {
	h.respond(w, h.m.Alarms().Rules(), nil)
}

// alarm serves GET /api/v1/alarms/{id}: the alarm with its history.
func (h *handler) alarm(w http.ResponseWriter, r *http.Request) {
	id, ok := h.alarmID(w, r)
	if !ok {
		return
	}
	a, err := h.m.Alarms().Get(r.Context(), id)
	h.alarmResult(w, a, err)
}

// alarmAction serves POST /api/v1/alarms/{id}/{action} for ack, unack,
// comment (text) and clear, recorded with the authenticated identity (a
// who form value and the X-Beamctl-User header are ignored: anyone could
// write them) and in the audit trail.
func (h *handler) alarmAction(w http.ResponseWriter, r *http.Request) {
	id, ok := h.alarmID(w, r)
	if !ok {
		return
	}
	if aerr := h.form(w, r); aerr != nil {
		h.respond(w, nil, aerr)
		return
	}
	who := identity(r.Context()).Name
	action := r.PathValue("action")
	switch action {
	case "ack", "unack", "comment", "clear":
	default:
		h.respond(w, nil, &apiError{status: http.StatusNotFound, typ: "bad_data",
			err: errors.New("unknown action " + strconv.Quote(action) + ": ack, unack, comment or clear")})
		return
	}
	args := map[string]string{"id": r.PathValue("id")}
	if action == "comment" {
		args["text"] = strings.TrimSpace(r.Form.Get("text"))
	}
	end, ok := h.audit(w, r, "alarm."+action, "", args)
	if !ok {
		return
	}
	e := h.m.Alarms()
	var a *alarm.Alarm
	var err error
	switch action {
	case "ack":
		a, err = e.Ack(r.Context(), id, who)
	case "unack":
		a, err = e.Unack(r.Context(), id, who)
	case "comment":
		a, err = e.Comment(r.Context(), id, who, strings.TrimSpace(r.Form.Get("text")))
	case "clear":
		a, err = e.Clear(r.Context(), id, who)
	}
	end(err)
	h.alarmResult(w, a, err)
}

func (h *handler) alarmID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		h.respond(w, nil, badData("alarm id must be a positive whole number, not %q", r.PathValue("id")))
		return 0, false
	}
	return id, true
}

func (h *handler) alarmResult(w http.ResponseWriter, a *alarm.Alarm, err error) {
	switch {
	case errors.Is(err, alarm.ErrNotFound):
		h.respond(w, nil, &apiError{status: http.StatusNotFound, typ: "bad_data", err: err})
	case err != nil:
		h.respond(w, nil, badData("%v", err))
	default:
		h.respond(w, a, nil)
	}
}
