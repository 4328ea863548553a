// Package capture turns what happens on a managed node into
// notifications without installing code on it: logger events forwarded by
// an erl_eval-built logger handler, code changes found by comparing the
// loaded modules' md5s, shell commands (a call trace), system_monitor
// events and crash dumps. Each piece that runs on a node is built with
// erl_eval from OTP's own modules and goes away with beamctl.
package capture

import (
	"context"

	"github.com/beamctl/beamctl/internal/etf"
)

// Caller makes rpc calls; *dist.Conn is one.
type Caller interface {
	Call(ctx context.Context, module, function string, args ...etf.Term) (etf.Term, error)
}
