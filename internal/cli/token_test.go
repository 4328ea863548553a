package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/beamctl/beamctl/internal/app"
	"github.com/beamctl/beamctl/internal/config"
)

// TestTokenCommands: with a token in a --token-file, the CLI creates,
// lists and revokes tokens through a server with users; a token file
// open to others is refused; without a token the server refuses.
func TestTokenCommands(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse([]byte("clusters:\n  - name: x\n    cookie: c\n    nodes: [nosuch@localhost]\nweb:\n  roles: {alice: admin}\n"), t.TempDir())
	require.NoError(t, err)
	h, err := bcrypt.GenerateFromPassword([]byte("alice-secret"), bcrypt.MinCost)
	require.NoError(t, err)
	dir := t.TempDir()
	webConfig := filepath.Join(dir, "web.yml")
	require.NoError(t, os.WriteFile(webConfig, []byte(fmt.Sprintf("basic_auth_users:\n  alice: %s\n", h)), 0o600))
	code, stdout, stderr := run(t, "check", "web-config", webConfig)
	require.Zero(t, code, stderr)
	require.Equal(t, webConfig+": OK (TLS false, 1 users)\n", stdout)
	srv, err := app.New(app.Options{Config: cfg, StoragePath: t.TempDir(), Listen: "127.0.0.1:0", WebConfigFile: webConfig})
	require.NoError(t, err)
	require.NoError(t, srv.Start(context.Background()))
	defer srv.Stop()
	server := "--server=http://" + srv.Addr()

	// The first token, as the docs say: with the admin's password (curl -u).
	req, err := http.NewRequest("POST", "http://"+srv.Addr()+"/api/v1/tokens", strings.NewReader(url.Values{"name": {"cli"}, "role": {"admin"}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("alice", "alice-secret")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var first struct {
		Data apiToken `json:"data"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&first))
	resp.Body.Close()
	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(first.Data.Token+"\n"), 0o600))
	withToken := "--token-file=" + tokenFile

	code, _, stderr = run(t, server, "token", "list")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "server: authentication required")

	var created apiToken
	runJSON(t, &created, server, withToken, "token", "create", "grafana", "--role", "viewer", "--expires", "30d")
	require.Equal(t, "grafana", created.Name)
	require.Equal(t, "token:cli", created.Creator)
	require.True(t, strings.HasPrefix(created.Token, "bmctl_"))

	code, stdout, stderr = run(t, server, withToken, "token", "list")
	require.Zero(t, code, stderr)
	require.Contains(t, stdout, "grafana")
	require.NotContains(t, stdout, created.Token)

	code, stdout, stderr = run(t, server, withToken, "token", "revoke", fmt.Sprint(created.ID))
	require.Zero(t, code, stderr)
	require.Equal(t, fmt.Sprintf("Token %d revoked.\n", created.ID), stdout)
	var list []apiToken
	runJSON(t, &list, server, withToken, "token", "list")
	require.Len(t, list, 1)
	require.Equal(t, "cli", list[0].Name)

	// The notification stream (--follow) sends the token too: it reads
	// until interrupted, its stream never refused.
	fctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var fout, ferr bytes.Buffer
	require.Zero(t, Run(fctx, []string{server, withToken, "notifications", "--follow"}, &fout, &ferr), ferr.String())
	require.NotContains(t, ferr.String(), "401")

	require.NoError(t, os.Chmod(tokenFile, 0o644))
	code, _, stderr = run(t, server, withToken, "token", "list")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, fmt.Sprintf("--token-file %s is open to group or others (mode 0644), so the token is refused: run chmod 600 %s", tokenFile, tokenFile))
}
