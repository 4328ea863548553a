package app

import (
	"context"
	"regexp"
	"time"

	"github.com/beamctl/beamctl/internal/capture"
	"github.com/beamctl/beamctl/internal/dist"
)

// shellSub keeps this server's subscription to a node's shell tracer
// (capture.TraceShells) on one connection: at every poll it checks that
// the tracer still runs and subscribes again if it does not (it was
// killed, or could not start: another tool had the function's meta
// tracer). A failure is logged once until the next success.
type shellSub struct {
	a       *App
	conn    *dist.Conn
	cluster string
	timeout time.Duration

	st     *capture.ShellTracer
	cancel context.CancelFunc // ends st's event forwarding
	wait   func()             // waits for it, then unsubscribes
	failed bool
}

// poll subscribes if this server has no live subscription.
// checks answers the liveness check if it was fetched with the poll's others.
func (s *shellSub) poll(ctx context.Context, checks capture.Caller) {
	node := s.conn.Node()
	if s.st != nil {
		cctx, cancel := context.WithTimeout(ctx, s.timeout)
		alive, err := s.st.AliveVia(cctx, checks)
		cancel()
		if err != nil || alive {
			return
		}
		s.release()
	}
	sctx, cancel := context.WithTimeout(ctx, s.timeout)
	st, err := capture.TraceShells(sctx, s.conn, capture.ShellOptions{Redact: func() []*regexp.Regexp {
		return s.a.captureCfg.Load().ShellRedactions() // redacted before storage and export
	}})
	cancel()
	if err != nil {
		if !s.failed {
			s.a.log.Warn("Cannot record shell commands", "cluster", s.cluster, "node", node, "err", err)
		}
		s.failed = true
		return
	}
	s.failed = false
	ectx, ecancel := context.WithCancel(ctx)
	s.st, s.cancel = st, ecancel
	s.wait = s.a.forward(st.Events(ectx), s.cluster, func() {
		stctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		defer cancel()
		_ = st.Stop(stctx) // fails only if the node is gone, which ends the subscription too
	})
}

// release ends the subscription, if any.
func (s *shellSub) release() {
	if s.st == nil {
		return
	}
	s.cancel()
	s.wait()
	s.st, s.cancel, s.wait = nil, nil, nil
}
