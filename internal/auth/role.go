package auth

import (
	"context"
	"fmt"
)

// Role is what an identity may do; each role may do everything the roles
// below it may.
type Role int

// The roles, lowest first. A zero Role is no role at all.
const (
	// Viewer reads everything except secrets.
	Viewer Role = iota + 1
	// Operator also acts on alarms (ack, unack, comment, clear) and runs
	// the read-only inspection tools on nodes.
	Operator
	// Admin also reloads the configuration, manages tokens, reads the
	// audit trail and does anything that changes code or state.
	Admin
)

// RoleNames are the roles' names, lowest first.
var RoleNames = []string{"viewer", "operator", "admin"}

func (r Role) String() string {
	if r < Viewer || r > Admin {
		return "none"
	}
	return RoleNames[r-1]
}

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	for i, n := range RoleNames {
		if s == n {
			return Role(i + 1), nil
		}
	}
	return 0, fmt.Errorf("%q is not a role: viewer, operator or admin", s)
}

// Identity is who made a request, once authenticated.
type Identity struct {
	// Name is the user, "token:<name>" for an API token, or "anonymous"
	// (--web.no-auth) / "anonymous@loopback" (no web configuration, a
	// loopback client).
	Name string
	Role Role
	// Method is how it was authenticated: basic, token, session, none.
	Method string
	// Session is the session's id (Method session), for logout.
	Session string
	// CSRF is the session's CSRF token (Method session).
	CSRF string
}

type ctxKey struct{}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the identity the request was authenticated as.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(Identity)
	return id, ok
}
