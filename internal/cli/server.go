package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// fromServer runs an inspection tool through a beamctl server (--server)
// instead of connecting to the node: GET /api/v1/nodes/{node}/{tool}, whose
// data is the tool's -o json. The server's connection and cookie are used.
func (e *env) fromServer(ctx context.Context, node, tool string, params url.Values, v any) error {
	name, err := nodeName(node)
	if err != nil {
		return err
	}
	return e.apiGet(ctx, "/api/v1/nodes/"+url.PathEscape(name)+"/"+tool, params, v)
}

// apiGet reads the data of a beamctl server's API answer into v.
func (e *env) apiGet(ctx context.Context, path string, params url.Values, v any) error {
	u := strings.TrimSuffix(e.g.server, "/") + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("server URL: %w", err)
	}
	return e.apiDo(req, v)
}

// apiPost posts a form to a beamctl server's API and reads the answer's
// data into v.
func (e *env) apiPost(ctx context.Context, path string, form url.Values, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(e.g.server, "/")+path, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("server URL: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.apiDo(req, v)
}

func (e *env) apiDo(req *http.Request, v any) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("ask the server: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&body); err != nil {
		return fmt.Errorf("the server's answer (HTTP %d) is not beamctl's API: %w", resp.StatusCode, err)
	}
	if body.Status != "success" {
		return fmt.Errorf("server: %s", body.Error)
	}
	if err := json.Unmarshal(body.Data, v); err != nil {
		return fmt.Errorf("the server's answer: %w", err)
	}
	return nil
}
