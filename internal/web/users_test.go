package web

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/auth"
)

// TestUsers: GET /api/v1/users lists the web configuration's users with
// their roles, by name, and nothing of their hashes; a role changed in
// web.roles shows at once.
func TestUsers(t *testing.T) {
	s := newSecureServer(t, nil)
	status, _, body := s.do(t, req{method: "GET", path: "/api/v1/users", user: "alice"})
	require.Equal(t, http.StatusOK, status, "%v", body)
	b, err := json.Marshal(body["data"])
	require.NoError(t, err)
	require.JSONEq(t, `[{"name":"alice","role":"admin"},{"name":"oscar","role":"operator"},{"name":"victor","role":"viewer"}]`, string(b))
	require.NotContains(t, string(b), "$2", "no bcrypt hash")

	s.roles.Store(map[string]auth.Role{"alice": auth.Admin})
	_, _, body = s.do(t, req{method: "GET", path: "/api/v1/users", user: "alice"})
	b, err = json.Marshal(body["data"])
	require.NoError(t, err)
	require.JSONEq(t, `[{"name":"alice","role":"admin"},{"name":"oscar","role":"viewer"},{"name":"victor","role":"viewer"}]`, string(b))
}
