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
	u := strings.TrimSuffix(e.g.server, "/") + "/api/v1/nodes/" + url.PathEscape(name) + "/" + tool
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("server URL: %w", err)
	}
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
