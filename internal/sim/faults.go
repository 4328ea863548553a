package sim

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/beamctl/beamctl/internal/etf"
)

// Slow is a Backend that answers as Backend does, Latency (plus up to
// Jitter, at random) later: a loaded or distant node.
type Slow struct {
	Backend
	Latency, Jitter time.Duration
}

// Call waits, then answers; a call whose deadline passes first gets
// nothing back (its caller gave up, as a node's rpc would time out).
func (s Slow) Call(ctx context.Context, n *Node, c Peer, module, function string, args []etf.Term) (etf.Term, bool) {
	d := s.Latency
	if s.Jitter > 0 {
		d += rand.N(s.Jitter)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return etf.Tuple{etf.Atom("EXIT"), etf.Atom("timeout")}, true
	}
	return s.Backend.Call(ctx, n, c, module, function, args)
}

// Drop closes every distribution connection of the node alive (a network
// fault; the node accepts the reconnection) and returns how many it
// closed.
func (s *Server) Drop(alive string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	dropped := 0
	for c := range s.conns {
		if c.n.Alive == alive {
			_ = c.nc.Close()
			dropped++
		}
	}
	return dropped
}

// Kill stops the node alive as a crashed VM stops: its connections
// close, its port refuses connections, and the EPMD no longer knows it.
func (s *Server) Kill(alive string) bool {
	s.mu.Lock()
	n := s.nodes[alive]
	delete(s.nodes, alive)
	s.mu.Unlock()
	if n == nil {
		return false
	}
	_ = n.ln.Close()
	s.Drop(alive)
	return true
}
