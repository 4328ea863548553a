package dist

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/beamctl/beamctl/internal/etf"
)

// DownEvent reports that a monitored process ended, or that the connection
// to its node was lost (Reason noconnection).
type DownEvent struct {
	Ref    etf.Ref
	Target etf.Term
	Reason etf.Term
}

// Monitor is a monitor on a remote process, set with Conn.Monitor.
type Monitor struct {
	Ref    etf.Ref
	Target etf.Term
	down   chan DownEvent
}

// Down delivers exactly one event: the process ended or the node went away.
func (m *Monitor) Down() <-chan DownEvent { return m.down }

func (m *Monitor) fire(ev DownEvent) {
	select {
	case m.down <- ev:
	default:
	}
}

// Monitor monitors a remote process, given as a pid or a registered name
// (an atom). A process that does not exist is reported down at once with
// reason noproc.
func (c *Conn) Monitor(ctx context.Context, target etf.Term) (*Monitor, error) {
	switch target.(type) {
	case etf.Pid, etf.Atom:
	default:
		return nil, fmt.Errorf("monitor: target must be a pid or a registered name, not %s", etf.Typename(target))
	}
	m := &Monitor{Ref: c.MakeRef(), Target: target, down: make(chan DownEvent, 1)}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		m.fire(DownEvent{Ref: m.Ref, Target: target, Reason: etf.Atom("noconnection")})
		return m, nil
	}
	c.monitors[m.Ref] = m
	c.mu.Unlock()
	if err := c.send(ctx, etf.Tuple{int64(opMonitorP), c.pid, target, m.Ref}, nil, false); err != nil {
		c.mu.Lock()
		delete(c.monitors, m.Ref)
		c.mu.Unlock()
		return nil, fmt.Errorf("monitor %v: %w", target, err)
	}
	return m, nil
}

// Demonitor removes a monitor; no event is delivered afterwards.
func (c *Conn) Demonitor(ctx context.Context, m *Monitor) error {
	c.mu.Lock()
	_, ok := c.monitors[m.Ref]
	delete(c.monitors, m.Ref)
	c.mu.Unlock()
	if !ok {
		return nil
	}
	return c.send(ctx, etf.Tuple{int64(opDemonitorP), c.pid, m.Target, m.Ref}, nil, false)
}

// monitorExit handles a monitored process's exit: a Monitor fires.
// (Spawned calls are linked, not monitored: linkExit.)
func (c *Conn) monitorExit(ref, reason etf.Term) {
	r, ok := ref.(etf.Ref)
	if !ok {
		return
	}
	c.mu.Lock()
	m := c.monitors[r]
	delete(c.monitors, r)
	c.mu.Unlock()
	if m != nil {
		m.fire(DownEvent{Ref: r, Target: m.Target, Reason: reason})
	}
}

// Message is a message received by a Mailbox.
type Message struct {
	From etf.Term // the sender's pid when the peer sent it, else nil
	Msg  etf.Term
}

// Mailbox is a pid of beamctl's on a connection that receives messages, for
// example logger events a managed node forwards. Its buffer is bounded: when
// it is full, messages are dropped and counted rather than blocking the
// connection. The buffer grows with what waits in it, so that an idle
// mailbox of a large bound costs next to nothing (a server holds several
// per managed node).
type Mailbox struct {
	Pid     etf.Pid
	ready   chan struct{} // holds a token while messages wait
	mu      sync.Mutex
	queue   []Message
	head    int // first waiting message in queue
	size    int // most waiting messages
	dropped atomic.Uint64
}

// Ready is signalled when messages wait; read them with Next.
func (mb *Mailbox) Ready() <-chan struct{} { return mb.ready }

// Next takes the oldest waiting message, if any.
func (mb *Mailbox) Next() (Message, bool) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.head == len(mb.queue) {
		return Message{}, false
	}
	m := mb.queue[mb.head]
	mb.queue[mb.head] = Message{}
	mb.head++
	if mb.head == len(mb.queue) { // drained: reuse the space, or let a burst's go
		mb.head, mb.queue = 0, mb.queue[:0]
		if cap(mb.queue) > 64 {
			mb.queue = nil
		}
	} else {
		mb.signal()
	}
	return m, true
}

// deliver queues m, or drops it when size messages wait.
func (mb *Mailbox) deliver(m Message) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if len(mb.queue)-mb.head >= mb.size {
		mb.dropped.Add(1)
		return
	}
	mb.queue = append(mb.queue, m)
	mb.signal()
}

// signal leaves a token in ready (one is enough).
func (mb *Mailbox) signal() {
	select {
	case mb.ready <- struct{}{}:
	default:
	}
}

// Dropped counts messages lost because the buffer was full.
func (mb *Mailbox) Dropped() uint64 { return mb.dropped.Load() }

// NewMailbox creates a pid that buffers up to size messages.
func (c *Conn) NewMailbox(size int) *Mailbox {
	mb := &Mailbox{Pid: c.newPid(), ready: make(chan struct{}, 1), size: max(size, 1)}
	c.mu.Lock()
	c.mailboxes[mb.Pid] = mb
	c.mu.Unlock()
	return mb
}

// CloseMailbox stops delivery to mb; later messages to its pid are dropped.
func (c *Conn) CloseMailbox(mb *Mailbox) {
	c.mu.Lock()
	delete(c.mailboxes, mb.Pid)
	c.mu.Unlock()
}

// Send sends msg to a remote pid or registered name (an atom) from beamctl's
// main pid.
func (c *Conn) Send(ctx context.Context, to, msg etf.Term) error {
	return c.SendFrom(ctx, c.pid, to, msg)
}

// SendFrom is Send with a given sender pid, e.g. a Mailbox's.
func (c *Conn) SendFrom(ctx context.Context, from etf.Pid, to, msg etf.Term) error {
	var ctl etf.Tuple
	switch t := to.(type) {
	case etf.Atom:
		ctl = etf.Tuple{int64(opRegSend), from, etf.Atom(""), t}
	case etf.Pid:
		if c.flags&FlagSendSender != 0 {
			ctl = etf.Tuple{int64(opSendSender), from, t}
		} else {
			ctl = etf.Tuple{int64(opSend), etf.Atom(""), t}
		}
	default:
		return fmt.Errorf("send: destination must be a pid or a registered name, not %s", etf.Typename(to))
	}
	if err := c.send(ctx, ctl, msg, true); err != nil {
		return fmt.Errorf("send to %v on %s: %w", to, c.peer, err)
	}
	return nil
}
