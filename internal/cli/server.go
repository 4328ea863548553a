package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
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

// apiPostJSON posts a JSON body to a beamctl server's API and reads the
// answer's data into v.
func (e *env) apiPostJSON(ctx context.Context, path string, body any, v any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(e.g.server, "/")+path, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("server URL: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	return e.apiDo(req, v)
}

// apiDelete sends DELETE to a beamctl server's API path.
func (e *env) apiDelete(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, strings.TrimSuffix(e.g.server, "/")+path, nil)
	if err != nil {
		return fmt.Errorf("server URL: %w", err)
	}
	return e.apiDo(req, v)
}

// maxTokenFile bounds a --token-file.
const maxTokenFile = 4096

// readTokenFile reads an API token from a file that only its owner may
// read: like ssh with a private key, a file open to group or others is
// refused (the token would be anyone's on the machine).
func readTokenFile(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxTokenFile {
		return "", fmt.Errorf("--token-file %s is not a small regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("--token-file %s is open to group or others (mode %04o), so the token is refused: run chmod 600 %s", path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
		return "", fmt.Errorf("--token-file %s must hold one token on one line", path)
	}
	return tok, nil
}

// authorize adds the --token-file's token to a request to the server.
func (e *env) authorize(req *http.Request) error {
	if e.g.tokenFile == "" {
		return nil
	}
	tok, err := readTokenFile(e.g.tokenFile)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

func (e *env) apiDo(req *http.Request, v any) error {
	if err := e.authorize(req); err != nil {
		return err
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
