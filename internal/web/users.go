package web

import (
	"net/http"
	"sort"
)

// User is a user of the web configuration as GET /api/v1/users lists it:
// the name and the current role, never the password's hash.
type User struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// users serves GET /api/v1/users (admin, for the Tokens/users page): the
// basic_auth_users of --web.config.file with their roles (web.roles; a
// user not listed there is a viewer), by name. Empty without a web
// configuration.
func (h *handler) users(w http.ResponseWriter, _ *http.Request) {
	out := []User{}
	if h.g.Users != nil {
		for _, n := range h.g.Users.Names() {
			role, ok := h.g.Users.Role(n)
			if !ok {
				continue // removed from the file since Names
			}
			out = append(out, User{Name: n, Role: role.String()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	h.respond(w, out, nil)
}
