package web

import (
	"context"
	"time"
)

// Auditor is the audit trail as the API sees it (internal/app adapts
// internal/audit to it). Begin is called before an action that changes
// state or runs code on a node; when Begin fails the action does not run.
type Auditor interface {
	// Begin records that a is about to happen and returns the function
	// that records its outcome (nil error: it succeeded).
	Begin(ctx context.Context, a AuditAction) (end func(err error), err error)
	// Records returns audit records matching f, newest first, as the
	// JSON-ready values GET /api/v1/audit returns.
	Records(ctx context.Context, f AuditFilter) (any, error)
}

// AuditAction is one action about to be recorded.
type AuditAction struct {
	Who    string            // the authenticated identity (user or token name)
	Role   string            // its role: viewer, operator or admin
	From   string            // where the request came from (remote address)
	Action string            // e.g. "alarm.ack", "inspect.top", "reload", "token.create"
	Node   string            // the managed node it touches, if any
	Args   map[string]string // its arguments (never secrets)
}

// AuditFilter selects audit records.
type AuditFilter struct {
	Since, Until time.Time // zero: unbounded
	Who, Action  string    // empty: any
	Node         string    // empty: any
	Limit        int       // 0: a default bound
}
