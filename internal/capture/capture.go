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
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/journal"
)

// Caller makes rpc calls; *dist.Conn is one.
type Caller interface {
	Call(ctx context.Context, module, function string, args ...etf.Term) (etf.Term, error)
}

// Check is the one call a periodic check makes (the agent's code digest,
// whether a monitor or tracer still stands): a watch that checks several
// things on a node every poll may make their calls in one round trip and
// answer each check from its result (the server's watch does).
type Check struct {
	Module, Function string
	Args             []etf.Term
}

// forwarder is a process beamctl spawned on a node (built with erl_eval)
// that sends what it captures to a mailbox of beamctl's, and undoes what
// it set up when sent stop or when beamctl's node disconnects.
type forwarder struct {
	conn *dist.Conn
	mb   *dist.Mailbox
	pid  etf.Pid
}

// spawnForwarder evaluates expr on the node with Dest bound to a new
// mailbox (of buf messages) and the other vars. When expr returns a pid,
// that is the forwarder; any other term is returned as other (the mailbox
// closed, f nil) for the caller to read (not running, slot taken, …).
func spawnForwarder(ctx context.Context, c *dist.Conn, buf int, expr string, vars map[string]etf.Term) (f *forwarder, other etf.Term, err error) {
	mb := c.NewMailbox(buf)
	all := map[string]etf.Term{"Dest": mb.Pid}
	for k, v := range vars {
		all[k] = v
	}
	r, err := inspect.EvalWith(ctx, c, expr, all)
	if err != nil {
		c.CloseMailbox(mb)
		return nil, nil, err
	}
	pid, ok := r.(etf.Pid)
	if !ok {
		c.CloseMailbox(mb)
		return nil, r, nil
	}
	return &forwarder{conn: c, mb: mb, pid: pid}, nil, nil
}

// Stop stops delivery and tells the process to undo what it set up.
func (f *forwarder) Stop(ctx context.Context) error {
	f.conn.CloseMailbox(f.mb)
	return f.conn.Send(ctx, f.pid, etf.Atom("stop"))
}

// pump turns what arrives in a capture's mailbox into notifications (read
// returns false for messages that are not one) until ctx ends or the
// connection closes; then the channel is closed. The mailbox is the
// buffer (up to its bound), so the channel is short.
func pump(ctx context.Context, c *dist.Conn, mb *dist.Mailbox, read func(etf.Term) (journal.Notification, bool)) <-chan journal.Notification {
	out := make(chan journal.Notification, 16)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case <-c.Done():
				return
			case <-mb.Ready():
			}
			for m, more := mb.Next(); more; m, more = mb.Next() {
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
