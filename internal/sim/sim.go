// Package sim plays many Erlang/OTP 25 nodes in one process, for
// benchmarks and tests of beamctl at a scale no machine can run real VMs
// at: an EPMD server on its own port, and nodes that each listen on their
// own port, accept the version 6 distribution handshake (refusing a wrong
// cookie as a node does), tick, and answer rex calls and the spawn
// requests of erpc:execute_call/4 from a Backend.
//
// The Replay backend answers from a Recording made by Record against a
// real node through a recording proxy; integers that moved between the
// recording's first and last reply keep moving (counters grow, gauges go
// up and down, wall-clock times follow the clock). A call that was not
// recorded fails as an undefined function does on a node. docs/scale.md
// says what is faithful and what is not.
//
// It is a tool for benchmarks and tests only: it has no security beyond
// the cookie, and it keeps no state a real node would (no processes, no
// monitors: every monitored or linked process is reported gone).
package sim

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
)

// Flags are the distribution flags a simulated node offers: those of an
// OTP 25 node (DFLAG_DIST_DEFAULT of erts 13), except fragments, which it
// never sends.
const Flags = dist.FlagPublished | dist.FlagAtomCache | dist.FlagExtendedReferences |
	dist.FlagDistMonitor | dist.FlagFunTags | dist.FlagDistMonitorName | dist.FlagNewFunTags |
	dist.FlagExtendedPidsPorts | dist.FlagExportPtrTag | dist.FlagBitBinaries | dist.FlagNewFloats |
	dist.FlagUnicodeIO | dist.FlagDistHdrAtomCache | dist.FlagSmallAtomTags | dist.FlagUTF8Atoms |
	dist.FlagMapTag | dist.FlagBigCreation | dist.FlagSendSender | dist.FlagBigSeqTraceLabels |
	dist.FlagExitPayload | dist.FlagHandshake23 | dist.FlagUnlinkID | dist.FlagMandatory25Digest |
	dist.FlagSpawn | dist.FlagNameMe | dist.FlagV4NC | dist.FlagAlias

// TickTime is the simulated nodes' net_ticktime: they send a tick after a
// quarter of it without other traffic, and drop a connection silent for
// longer than it plus a quarter.
const TickTime = 60 * time.Second

// Backend answers the calls made on a simulated node.
type Backend interface {
	// Call answers module:function(args...) on node n. When raised, value
	// is the reason a rex server puts in {badrpc, Reason} (for an
	// exception, {'EXIT', ...}). It must return by the context's deadline.
	Call(ctx context.Context, n *Node, c Peer, module, function string, args []etf.Term) (value etf.Term, raised bool)
}

// Peer is the node connected to a simulated node (beamctl).
type Peer struct {
	Name     etf.Atom
	Creation uint32
}

// Options configure a Server.
type Options struct {
	// Host is the host part of the nodes' names and the address their
	// ports and EPMD listen on (default 127.0.0.1).
	Host string
	// EpmdPort is the EPMD port (0: any free port).
	EpmdPort int
	// Cookie is every node's cookie.
	Cookie string
	// Logger receives debug logs (default: discard).
	Logger *slog.Logger
}

// Server is an EPMD and the simulated nodes registered in it. Close
// stops it.
type Server struct {
	opts  Options
	log   *slog.Logger
	epmd  net.Listener
	start time.Time

	mu    sync.Mutex
	nodes map[string]*Node // by alive name
	names map[string]int   // other registrations (ALIVE2 over TCP): alive name to port
	conns map[*conn]struct{}
	held  map[net.Conn]struct{} // EPMD connections of registered real nodes
	done  chan struct{}
	wg    sync.WaitGroup
}

// Listen starts the EPMD server.
func Listen(o Options) (*Server, error) {
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(listenAddr(o.Host), fmt.Sprint(o.EpmdPort)))
	if err != nil {
		return nil, fmt.Errorf("epmd: %w", err)
	}
	s := &Server{
		opts: o, log: o.Logger, epmd: ln, start: time.Now(),
		nodes: map[string]*Node{}, names: map[string]int{}, conns: map[*conn]struct{}{}, held: map[net.Conn]struct{}{},
		done: make(chan struct{}),
	}
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.serveEpmd() }()
	go func() { defer s.wg.Done(); s.tickLoop() }()
	return s, nil
}

// listenAddr is where to listen for host: its address when it is one,
// else every address (a host name may resolve to any local address).
func listenAddr(host string) string {
	if net.ParseIP(host) != nil {
		return host
	}
	return ""
}

// EpmdPort is the port the EPMD server listens on: point beamctl at it
// with ERL_EPMD_PORT.
func (s *Server) EpmdPort() int { return s.epmd.Addr().(*net.TCPAddr).Port }

// Host is the host part of the nodes' names.
func (s *Server) Host() string { return s.opts.Host }

// Node is one simulated node.
type Node struct {
	s        *Server
	Name     etf.Atom // alive@host
	Alive    string
	Creation uint32
	// Phase shifts this node's moving values, so that nodes replaying one
	// recording do not all show the same numbers.
	Phase   time.Duration
	backend Backend
	ln      net.Listener
	pidSeq  uint32
	mu      sync.Mutex
}

// AddNode starts a node named alive@Host answering from backend, on its
// own port, and registers it.
func (s *Server) AddNode(alive string, backend Backend) (*Node, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(listenAddr(s.opts.Host), "0"))
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", alive, err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	n := &Node{
		s: s, Name: etf.Atom(alive + "@" + s.opts.Host), Alive: alive,
		Creation: binary.BigEndian.Uint32(b[:]) | 1, backend: backend, ln: ln,
	}
	s.mu.Lock()
	if _, dup := s.nodes[alive]; dup {
		s.mu.Unlock()
		_ = ln.Close()
		return nil, fmt.Errorf("node %s: the name is registered already", alive)
	}
	n.Phase = time.Duration(len(s.nodes)%97) * 103 * time.Millisecond
	s.nodes[alive] = n
	s.mu.Unlock()
	s.wg.Add(1)
	go func() { defer s.wg.Done(); n.serve() }()
	return n, nil
}

// Port is the node's distribution port.
func (n *Node) Port() int { return n.ln.Addr().(*net.TCPAddr).Port }

func (n *Node) newPid() etf.Pid {
	n.mu.Lock()
	n.pidSeq++
	id := n.pidSeq
	n.mu.Unlock()
	// Pids of processes spawned for calls: well above the boot processes'.
	return etf.Pid{Node: n.Name, ID: 1000 + id%30000, Serial: id / 30000, Creation: n.Creation}
}

// Close stops the EPMD server and every node, closing their connections.
func (s *Server) Close() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	close(s.done)
	err := s.epmd.Close()
	s.mu.Lock()
	for _, n := range s.nodes {
		_ = n.ln.Close()
	}
	for c := range s.conns {
		_ = c.nc.Close()
	}
	for c := range s.held {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// Conns is the number of open distribution connections.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// tickLoop sends a tick on every connection that sent nothing for a
// quarter of the tick time: one goroutine for all the nodes.
func (s *Server) tickLoop() {
	t := time.NewTicker(TickTime / 4)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		s.mu.Lock()
		conns := make([]*conn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		for _, c := range conns {
			if !c.wrote.Swap(false) {
				c.write([]byte{0, 0, 0, 0})
			}
		}
	}
}
