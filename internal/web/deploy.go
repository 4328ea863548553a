package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/beamctl/beamctl/internal/deploy"
)

// Deploys is the deploy manager as the API uses it (deploy.Manager).
type Deploys interface {
	Plan(ctx context.Context, req deploy.PlanRequest, who string) (*deploy.Deploy, error)
	Command(ctx context.Context, id, action, who string) (*deploy.Deploy, error)
	Get(ctx context.Context, id string) (*deploy.Deploy, error)
	List(ctx context.Context, limit int) ([]*deploy.Deploy, error)
}

// WithDeploys serves the deploy routes (without it they answer 503).
func WithDeploys(d Deploys) Option {
	return func(h *handler) { h.deploys = d }
}

// maxDeployBody bounds a plan request: the modules' object code in base64.
const maxDeployBody = 64 << 20

// PlanBody is the JSON of POST /api/v1/deploys.
type PlanBody struct {
	Cluster string `json:"cluster"`
	Family  string `json:"family"`
	Modules []struct {
		File string `json:"file"`
		Beam string `json:"beam"` // base64
	} `json:"modules"`
	Options deploy.Options `json:"options"`
}

func (h *handler) deploysReady(w http.ResponseWriter) bool {
	if h.deploys == nil {
		h.respond(w, nil, &apiError{status: http.StatusServiceUnavailable, typ: "unavailable", err: errors.New("this server runs no deploys")})
		return false
	}
	return true
}

// deployError maps the manager's errors to statuses: unknown id 404, a
// command the state refuses 409, the rest 400 (a bad plan request).
func deployError(err error) *apiError {
	switch {
	case errors.Is(err, deploy.ErrNotFound):
		return &apiError{status: http.StatusNotFound, typ: "not_found", err: err}
	case errors.Is(err, deploy.ErrRefused):
		return &apiError{status: http.StatusConflict, typ: "conflict", err: err}
	}
	return badData("%v", err)
}

// planDeploy serves POST /api/v1/deploys: plan a deploy (nothing changes
// on the nodes).
func (h *handler) planDeploy(w http.ResponseWriter, r *http.Request) {
	if !h.deploysReady(w) {
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		h.respond(w, nil, badData("a plan is JSON (Content-Type: application/json), not %q", ct))
		return
	}
	var body PlanBody
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxDeployBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		h.respond(w, nil, badData("the plan request is not valid JSON of a plan (cluster, family, modules, options): %v", err))
		return
	}
	req := deploy.PlanRequest{Cluster: body.Cluster, Family: body.Family, Options: body.Options}
	var files []string
	for i, m := range body.Modules {
		b, err := base64.StdEncoding.DecodeString(m.Beam)
		if err != nil {
			h.respond(w, nil, badData("modules[%d].beam is not base64: %v", i, err))
			return
		}
		req.Modules = append(req.Modules, deploy.ModuleFile{File: m.File, Beam: b})
		files = append(files, m.File)
	}
	if body.Cluster == "" {
		h.respond(w, nil, badData("cluster is required"))
		return
	}
	end, ok := h.audit(w, r, "deploy.plan", "", map[string]string{"cluster": body.Cluster, "family": body.Family,
		"files": strings.Join(files, ",")})
	if !ok {
		return
	}
	d, err := h.deploys.Plan(r.Context(), req, identity(r.Context()).Name)
	end(err)
	if err != nil {
		h.respond(w, nil, deployError(err))
		return
	}
	h.respond(w, d, nil)
}

// deployAction serves POST /api/v1/deploys/{id}/{action}.
func (h *handler) deployAction(w http.ResponseWriter, r *http.Request) {
	if !h.deploysReady(w) {
		return
	}
	id, action := r.PathValue("id"), r.PathValue("action")
	switch action {
	case "start", "pause", "resume", "abort", "rollback":
	default:
		h.respond(w, nil, &apiError{status: http.StatusNotFound, typ: "not_found",
			err: fmt.Errorf("no deploy action %q (start, pause, resume, abort, rollback)", action)})
		return
	}
	end, ok := h.audit(w, r, "deploy."+action, "", map[string]string{"deploy": id})
	if !ok {
		return
	}
	d, err := h.deploys.Command(r.Context(), id, action, identity(r.Context()).Name)
	end(err)
	if err != nil {
		h.respond(w, nil, deployError(err))
		return
	}
	h.respond(w, d, nil)
}

// listDeploys serves GET /api/v1/deploys?limit=N, newest first.
func (h *handler) listDeploys(w http.ResponseWriter, r *http.Request) {
	if !h.deploysReady(w) {
		return
	}
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			h.respond(w, nil, badData("limit must be from 1 to 1000, not %q", s))
			return
		}
		limit = n
	}
	ds, err := h.deploys.List(r.Context(), limit)
	if err != nil {
		h.respond(w, nil, &apiError{status: http.StatusInternalServerError, typ: "internal", err: err})
		return
	}
	h.respond(w, ds, nil)
}

// getDeploy serves GET /api/v1/deploys/{id}.
func (h *handler) getDeploy(w http.ResponseWriter, r *http.Request) {
	if !h.deploysReady(w) {
		return
	}
	d, err := h.deploys.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		h.respond(w, nil, deployError(err))
		return
	}
	h.respond(w, d, nil)
}
