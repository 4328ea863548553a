package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/alarm"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/store"
)

type model struct {
	rec    *journal.Recorder
	alarms *alarm.Engine
}

func (m model) Recorder() *journal.Recorder { return m.rec }
func (m model) Alarms() *alarm.Engine       { return m.alarms }

func (model) Nodes() []Node { return nil }
func (model) Metadata() map[string]Metadata {
	return map[string]Metadata{"x": {Type: "gauge", Help: "X."}}
}

func (model) Conn(context.Context, string) (*dist.Conn, error) {
	return nil, errors.New("node nosuch@h is not managed by this server")
}

// TestHostileRequests sends malformed and oversized requests: each gets a
// Prometheus-shaped error (or a plain 4xx), never a panic or a 5xx.
func TestHostileRequests(t *testing.T) {
	db, err := store.Open(t.TempDir(), nil, nil, nil)
	require.NoError(t, err)
	defer db.Close()
	ns, err := journal.Open(t.TempDir(), journal.Options{})
	require.NoError(t, err)
	defer ns.Close()
	ae, err := alarm.Open(context.Background(), alarm.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	defer ae.Close()
	srv := httptest.NewServer(New(db, model{journal.NewRecorder(ns, nil, journal.RecorderOptions{}), ae}, nil, nil, nil))
	defer srv.Close()

	big := strings.Repeat("a", 2<<20)
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		status int
		errSub string
	}{
		{"no query", "GET", "/api/v1/query", "", 400, "parameter query is required"},
		{"bad promql", "GET", "/api/v1/query?query=" + url.QueryEscape("sum(("), "", 400, "parse error"},
		{"bad time", "GET", "/api/v1/query?query=up&time=yesterday", "", 400, "invalid parameter time"},
		{"NaN time", "GET", "/api/v1/query?query=up&time=NaN", "", 400, "invalid parameter time"},
		{"range without start", "GET", "/api/v1/query_range?query=up&end=10&step=1", "", 400, "invalid parameter start"},
		{"negative step", "GET", "/api/v1/query_range?query=up&start=0&end=10&step=-1", "", 400, "invalid parameter step"},
		{"too many points", "GET", "/api/v1/query_range?query=up&start=0&end=100000000&step=1", "", 400, "exceeds 11,000 points"},
		{"end before start", "GET", "/api/v1/query_range?query=up&start=100&end=10&step=1", "", 400, "end is before its start"},
		{"oversized body", "POST", "/api/v1/query", "query=" + big, 400, "cannot read the request"},
		{"wrong method", "PUT", "/api/v1/query?query=up", "", 405, "method PUT is not allowed"},
		{"series without match", "GET", "/api/v1/series", "", 400, "no match[] parameter provided"},
		{"bad selector", "GET", "/api/v1/series?match[]=" + url.QueryEscape("{"), "", 400, "selector"},
		{"federate without match", "GET", "/federate", "", 400, ""},
		{"federate bad selector", "GET", "/federate?match[]=" + url.QueryEscape("rate("), "", 400, ""},
		{"metadata bad limit", "GET", "/api/v1/metadata?limit=x", "", 400, "limit must be a number"},
		{"inspect unknown node", "GET", "/api/v1/nodes/nosuch@h/top", "", 404, "not managed by this server"},
		{"notifications bad since", "GET", "/api/v1/notifications?since=lately", "", 400, "since: cannot parse"},
		{"notifications bad limit", "GET", "/api/v1/notifications?limit=-1", "", 400, "limit must be a whole number"},
		{"notifications huge limit", "GET", "/api/v1/notifications?limit=99999999", "", 400, "limit must be a whole number"},
		{"notifications bad after_id", "GET", "/api/v1/notifications?after_id=x", "", 400, "after_id must be a whole number"},
		{"notifications FTS syntax", "GET", "/api/v1/notifications?grep=" + url.QueryEscape(`"(*) NEAR AND`), "", 200, ""},
		{"notifications huge grep", "GET", "/api/v1/notifications?grep=" + strings.Repeat("w%20", 3000), "", 200, ""},
		{"alarm bad id", "GET", "/api/v1/alarms/x", "", 400, "alarm id must be a positive whole number"},
		{"alarm unknown", "GET", "/api/v1/alarms/7", "", 404, "no such alarm"},
		{"alarm unknown action", "POST", "/api/v1/alarms/7/snooze", "", 404, "unknown action"},
		{"alarm ack unknown", "POST", "/api/v1/alarms/7/ack", "", 404, "no such alarm"},
		{"alarms bad limit", "GET", "/api/v1/alarms?limit=0", "", 400, "limit must be a whole number"},
		{"stream bad since", "GET", "/api/v1/notifications/stream?since=lately", "", 400, "since: cannot parse"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			require.NoError(t, err)
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, tc.status, resp.StatusCode)
			if tc.errSub == "" {
				return
			}
			var body struct {
				Status, ErrorType, Error string
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
			require.Equal(t, "error", body.Status)
			require.Contains(t, body.Error, tc.errSub)
		})
	}
}
