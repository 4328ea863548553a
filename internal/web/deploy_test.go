package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/deploy"
	"github.com/beamctl/beamctl/internal/store"
)

// TestDeployBadRequests: hostile or mistaken plan requests and commands get
// a status and a sentence, and store nothing. (The deploys themselves run on
// real nodes: internal/cli's TestDeploy.)
func TestDeployBadRequests(t *testing.T) {
	db, err := store.Open(t.TempDir(), nil, nil, nil)
	require.NoError(t, err)
	defer db.Close()
	// No request here reaches the server's nodes: a nil Env would panic
	// if one did.
	m, err := deploy.Open(t.TempDir(), nil, nil)
	require.NoError(t, err)
	defer m.Close()
	srv := httptest.NewServer(New(db, federateModel{}, nil, nil, nil, WithDeploys(m)))
	defer srv.Close()

	tests := []struct {
		name, method, path, ctype, body string
		status                          int
		want                            string
	}{
		{"a form", "POST", "/api/v1/deploys", "application/x-www-form-urlencoded", "cluster=x", 400, "a plan is JSON"},
		{"not JSON", "POST", "/api/v1/deploys", "application/json", "{", 400, "not valid JSON of a plan"},
		{"unknown field", "POST", "/api/v1/deploys", "application/json", `{"cluster":"x","nodes":["a@h"]}`, 400, `unknown field "nodes"`},
		{"no cluster", "POST", "/api/v1/deploys", "application/json", `{"modules":[{"file":"m.beam","beam":""}]}`, 400, "cluster is required"},
		{"bad base64", "POST", "/api/v1/deploys", "application/json", `{"cluster":"x","modules":[{"file":"m.beam","beam":"%%%"}]}`, 400, "modules[0].beam is not base64"},
		{"no modules", "POST", "/api/v1/deploys", "application/json", `{"cluster":"x"}`, 400, "a deploy needs from 1 to 200 modules, not 0"},
		{"not a beam", "POST", "/api/v1/deploys", "application/json", `{"cluster":"x","modules":[{"file":"m.beam","beam":"aGVsbG8="}]}`, 400, "m.beam: not a .beam file"},
		{"bake out of bounds", "POST", "/api/v1/deploys", "application/json", `{"cluster":"x","options":{"bake":"48h"},"modules":[{"file":"m.beam","beam":"aGVsbG8="}]}`, 400, "bake must be from 1s to 24h, not 48h0m0s"},
		{"bad duration", "POST", "/api/v1/deploys", "application/json", `{"cluster":"x","options":{"bake":"soon"}}`, 400, `"soon" is not a duration`},
		{"bad severity", "POST", "/api/v1/deploys", "application/json", `{"cluster":"x","options":{"severity":"error"},"modules":[{"file":"m.beam","beam":"aGVsbG8="}]}`, 400, "severity must be warning, minor, major or critical"},
		{"unknown deploy", "GET", "/api/v1/deploys/nosuch", "", "", 404, `no such deploy: "nosuch"`},
		{"unknown deploy's start", "POST", "/api/v1/deploys/nosuch/start", "", "", 404, `no such deploy`},
		{"unknown action", "POST", "/api/v1/deploys/nosuch/explode", "", "", 404, `no deploy action "explode"`},
		{"bad limit", "GET", "/api/v1/deploys?limit=0", "", "", 400, "limit must be from 1 to 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			require.NoError(t, err)
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			var body struct {
				Error string `json:"error"`
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
			require.Equal(t, tt.status, resp.StatusCode, body.Error)
			require.Contains(t, body.Error, tt.want)
		})
	}
	ds, err := m.List(t.Context(), 10)
	require.NoError(t, err)
	require.Empty(t, ds, "nothing was stored")
}
