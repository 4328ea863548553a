// Package capture turns what happens on a managed node into
// notifications without installing code on it: logger events forwarded by
// an erl_eval-built logger handler, code changes found by comparing the
// loaded modules' md5s, shell commands (a call trace), system_monitor
// events and crash dumps. Each piece that runs on a node is built with
// erl_eval from OTP's own modules and goes away with beamctl.
package capture

import (
	"context"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/notify"
)

// Caller makes rpc calls; *dist.Conn is one.
type Caller interface {
	Call(ctx context.Context, module, function string, args ...etf.Term) (etf.Term, error)
}

// pump turns what arrives in a capture's mailbox into notifications (read
// returns false for messages that are not one) until ctx ends or the
// connection closes; then the channel is closed.
func pump(ctx context.Context, c *dist.Conn, mb *dist.Mailbox, buf int, read func(etf.Term) (notify.Notification, bool)) <-chan notify.Notification {
	out := make(chan notify.Notification, buf)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case <-c.Done():
				return
			case m := <-mb.C():
				n, ok := read(m.Msg)
				if !ok {
					continue
				}
				select {
				case out <- n:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}
