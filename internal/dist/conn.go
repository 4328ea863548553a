package dist

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beamctl/beamctl/internal/etf"
)

// Control message operations (erl_dist_protocol: "Protocol between connected
// nodes").
const (
	opLink                = 1
	opSend                = 2
	opExit                = 3
	opUnlink              = 4
	opRegSend             = 6
	opExit2               = 8
	opSendTT              = 12
	opExitTT              = 13
	opRegSendTT           = 16
	opExit2TT             = 18
	opMonitorP            = 19
	opDemonitorP          = 20
	opMonitorPExit        = 21
	opSendSender          = 22
	opSendSenderTT        = 23
	opPayloadExit         = 24
	opPayloadExitTT       = 25
	opPayloadExit2        = 26
	opPayloadExit2TT      = 27
	opPayloadMonitorPExit = 28
	opSpawnRequest        = 29
	opSpawnRequestTT      = 30
	opSpawnReply          = 31
	opSpawnReplyTT        = 32
	opAliasSend           = 33
	opAliasSendTT         = 34
	opUnlinkID            = 35
	opUnlinkIDAck         = 36
)

// ErrConnLost is wrapped by every error caused by a connection ending: the
// peer died, closed the connection, stopped ticking, or Close was called.
var ErrConnLost = errors.New("connection lost")

// sendQueueLen bounds frames waiting for the writer (senders wait beyond).
const sendQueueLen = 256

// ioBufferSize is the size of a connection's read and write buffers: the
// frames of a managed node's connection are small but for a few collector
// replies a round; a frame larger than the buffer is read and written
// directly, not through it. A server holds one connection per node, so
// this is per node memory.
const ioBufferSize = 8 << 10

// keepFrameBuffer is the largest frame buffer a connection keeps between
// frames; a larger one (a big collector reply) is allocated when needed.
const keepFrameBuffer = 16 << 10

// Conn is one hidden distribution connection to a node. It is safe for
// concurrent use: many calls can be in flight at once. A Conn never
// reconnects; Pool does that. After the connection ends, Done is closed and
// Err tells why.
type Conn struct {
	opts      Options
	self      etf.Atom
	peer      etf.Atom
	creation  uint32
	peerCr    uint32                  // the peer's creation: new at every start of the node
	pid       etf.Pid                 // the pid rpc replies are sent to
	pidTerm   etf.Term                // pid, boxed once: every call sends it
	userPid   atomic.Pointer[etf.Pid] // the node's user process: group leader of spawned calls
	flags     uint64                  // capabilities both sides share
	useHeader bool                    // the peer accepts the normal distribution header
	nc        net.Conn
	log       *slog.Logger

	refSeq   atomic.Uint64
	pidSeq   atomic.Uint32
	tickTime atomic.Int64 // nanoseconds; the peer's net_ticktime
	stats    connStats

	mu        sync.Mutex
	pending   map[etf.Ref]chan etf.Term
	spawns    map[etf.Ref]*spawnCall
	spawnPids map[etf.Pid]etf.Ref // a spawned call's pid, once SPAWN_REPLY told it
	monitors  map[etf.Ref]*Monitor
	mailboxes map[etf.Pid]*Mailbox
	err       error

	wsem      chan struct{} // held while writing to bw
	bw        *bufio.Writer
	wrote     atomic.Bool // a frame was written since the last tick check
	sendq     chan []byte
	kick      chan struct{} // wakes the writer goroutine for sendq
	tickReset chan struct{} // wakes the writer when tickTime changes
	done      chan struct{}
}

type connStats struct {
	framesIn, bytesIn, ticksIn, cacheRefs, lateReplies, dropped atomic.Uint64
}

// Stats are counters of one connection.
type Stats struct {
	FramesIn      uint64 // frames received, ticks excluded
	BytesIn       uint64
	TicksIn       uint64
	AtomCacheRefs uint64 // atom cache references resolved in received headers
	LateReplies   uint64 // rpc replies that arrived after their deadline
	Dropped       uint64 // messages for no known receiver, or oversized
}

// Dial connects to node (alive@host) as a hidden node and completes the
// handshake. ctx bounds the whole dial (EPMD, connect, handshake); without a
// deadline Options.DialTimeout applies.
func Dial(ctx context.Context, node string, opts Options) (*Conn, error) {
	opts = opts.withDefaults()
	name, err := ParseNodeName(node)
	if err != nil {
		return nil, err
	}
	ctx, cancel := withTimeout(ctx, opts.DialTimeout)
	defer cancel()

	info, err := LookupPort(ctx, name.Host, name.Alive, opts.EpmdPort)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", node, err)
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", net.JoinHostPort(name.Host, strconv.Itoa(info.Port)))
	if err != nil {
		return nil, fmt.Errorf("connect to %s at port %d: %w", node, info.Port, err)
	}
	if opts.TLS != nil {
		cfg := opts.TLS.Clone()
		if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
			cfg.ServerName = name.Host
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("connect to %s: TLS handshake: %w", node, tlsHandshakeError(err, cfg))
		}
		nc = tc
	}
	c, err := newConn(ctx, nc, name, opts)
	if err != nil {
		_ = nc.Close()
		return nil, &HandshakeError{Node: node, Err: err}
	}
	c.adoptTickTime(ctx)
	return c, nil
}

func newConn(ctx context.Context, nc net.Conn, peer NodeName, opts Options) (*Conn, error) {
	self := opts.Name
	if self == "" && opts.Alive != "" {
		self = opts.Alive + "@" + localHost(peer.Long())
	}
	if self == "" {
		self = LocalName(peer)
	}
	key := self + " " + peer.String()
	inUse, dialDone := liveNames.dial(key)
	defer dialDone()
	takeOver := opts.Name == "" && opts.Alive != "" && !inUse
	var cb [4]byte
	_, _ = rand.Read(cb[:])
	creation := binary.BigEndian.Uint32(cb[:]) | 1 // never 0: 0 means "any incarnation"
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	lenSize := 2
	if opts.TLS != nil {
		lenSize = 4
	}
	pi, err := handshake(nc, lenSize, self, creation, opts.Flags, opts.Cookie, peer.String(), takeOver)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("the peer closed the connection during the handshake (does it use %s names? beamctl used %s): %w",
				map[bool]string{true: "short", false: "long"}[(NodeName{Host: hostOf(self)}).Long()], self, err)
		}
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	c := &Conn{
		opts:      opts,
		self:      etf.Atom(self),
		peer:      etf.Atom(pi.Name),
		peerCr:    pi.Creation,
		creation:  creation,
		flags:     opts.Flags & pi.Flags,
		nc:        nc,
		log:       opts.Logger.With("node", pi.Name),
		pending:   map[etf.Ref]chan etf.Term{},
		spawns:    map[etf.Ref]*spawnCall{},
		spawnPids: map[etf.Pid]etf.Ref{},
		monitors:  map[etf.Ref]*Monitor{},
		mailboxes: map[etf.Pid]*Mailbox{},
		wsem:      make(chan struct{}, 1),
		bw:        bufio.NewWriterSize(nc, ioBufferSize),
		sendq:     make(chan []byte, sendQueueLen),
		kick:      make(chan struct{}, 1),
		tickReset: make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
	c.useHeader = c.flags&FlagDistHdrAtomCache != 0
	c.pid = c.newPid()
	c.pidTerm = c.pid
	c.tickTime.Store(int64(DefaultTickTime))
	go c.readLoop()
	go c.writeLoop()
	liveNames.add(key, c)
	go func() {
		<-c.done
		liveNames.remove(key, c)
	}()
	return c, nil
}

func hostOf(node string) string {
	for i := 0; i < len(node); i++ {
		if node[i] == '@' {
			return node[i+1:]
		}
	}
	return ""
}

// adoptTickTime asks the peer for its net_ticktime so that our ticks and our
// dead-peer detection follow the cluster's setting.
func (c *Conn) adoptTickTime(ctx context.Context) {
	t, err := c.Call(ctx, "net_kernel", "get_net_ticktime")
	if err != nil {
		c.log.Debug("Cannot read net_ticktime, keeping the default", "err", err)
		return
	}
	if tt, ok := t.(etf.Tuple); ok && len(tt) == 2 { // {ongoing_change_to, N}
		t = tt[1]
	}
	secs, err := etf.ToInt64(t)
	if err != nil || secs <= 0 {
		return
	}
	c.tickTime.Store(int64(time.Duration(secs) * time.Second))
	select {
	case c.tickReset <- struct{}{}:
	default:
	}
}

// Node returns the peer's node name.
func (c *Conn) Node() string { return string(c.peer) }

// PeerCreation is the peer's creation from the handshake: a new number
// every time the node starts, so a change means it restarted.
func (c *Conn) PeerCreation() uint32 { return c.peerCr }

// Pid returns beamctl's own pid on this connection: rpc replies go to it,
// and node processes can monitor it to end when beamctl goes away.
func (c *Conn) Pid() etf.Pid { return c.pid }

// Self returns the node name beamctl used for this connection.
func (c *Conn) Self() string { return string(c.self) }

// Flags returns the capability flags both sides share.
func (c *Conn) Flags() uint64 { return c.flags }

// TickTime returns the net_ticktime adopted from the peer.
func (c *Conn) TickTime() time.Duration { return time.Duration(c.tickTime.Load()) }

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended, or nil while it is up.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Stats returns the connection's counters.
func (c *Conn) Stats() Stats {
	return Stats{
		FramesIn:      c.stats.framesIn.Load(),
		BytesIn:       c.stats.bytesIn.Load(),
		TicksIn:       c.stats.ticksIn.Load(),
		AtomCacheRefs: c.stats.cacheRefs.Load(),
		LateReplies:   c.stats.lateReplies.Load(),
		Dropped:       c.stats.dropped.Load(),
	}
}

// Close ends the connection. Calls in flight fail with ErrConnLost.
func (c *Conn) Close() error {
	c.fail(errors.New("closed by beamctl"))
	return nil
}

// fail ends the connection once, waking every waiter.
func (c *Conn) fail(cause error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = fmt.Errorf("%w to %s: %w", ErrConnLost, c.peer, cause)
	monitors := c.monitors
	c.monitors = map[etf.Ref]*Monitor{}
	close(c.done)
	c.mu.Unlock()
	_ = c.nc.Close()
	for _, m := range monitors {
		m.fire(DownEvent{Ref: m.Ref, Target: m.Target, Reason: etf.Atom("noconnection")})
	}
	c.log.Debug("Connection ended", "err", cause)
}

func (c *Conn) newPid() etf.Pid {
	return etf.Pid{Node: c.self, ID: c.pidSeq.Add(1) & 0x7fff, Creation: c.creation}
}

// MakeRef returns a reference unique to this connection.
func (c *Conn) MakeRef() etf.Ref {
	n := c.refSeq.Add(1)
	return etf.Ref{
		Node:     c.self,
		Creation: c.creation,
		Len:      3,
		ID:       [etf.MaxRefWords]uint32{uint32(n & 0x3ffff), uint32(n >> 18), c.creation},
	}
}

// send writes one frame. When no other write is in progress the caller
// writes and flushes it itself, which saves two goroutine hand-offs per rpc;
// otherwise the frame is queued and the writer goroutine sends it with
// whatever else queued up, in one flush. Frames leave in the order each
// goroutine sent them: only the holder of wsem takes frames off the queue,
// and it drains the queue before writing its own.
func (c *Conn) send(ctx context.Context, control etf.Tuple, message etf.Term, hasMsg bool) error {
	b, err := appendFrame(getFrame(), c.useHeader, control, message, hasMsg)
	if err != nil {
		return err
	}
	select {
	case <-c.done:
		return c.Err()
	case c.wsem <- struct{}{}:
		err := c.writeFrames(b)
		<-c.wsem
		putFrame(b)
		if err != nil {
			c.fail(fmt.Errorf("write: %w", err))
			return c.Err()
		}
		return nil
	default:
	}
	select {
	case c.sendq <- b:
		select {
		case c.kick <- struct{}{}:
		default:
		}
		return nil
	case <-c.done:
		return c.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// framePool recycles the buffers frames are encoded into (encoding into a
// new buffer grew it by doubling: several allocations a frame). A frame
// goes back once written: the buffered writer has copied or sent it.
var framePool sync.Pool // of *[]byte

// maxPooledFrame: a buffer grown larger than this by a big frame is
// dropped rather than kept.
const maxPooledFrame = 64 << 10

func getFrame() []byte {
	if p, _ := framePool.Get().(*[]byte); p != nil {
		return (*p)[:0]
	}
	return make([]byte, 0, 512)
}

func putFrame(b []byte) {
	if cap(b) == 0 || cap(b) > maxPooledFrame {
		return
	}
	b = b[:0]
	framePool.Put(&b)
}

// writeFrames writes the queued frames, then own (if any), and flushes.
// The caller holds wsem.
func (c *Conn) writeFrames(own []byte) error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.TickTime()))
	for {
		select {
		case b := <-c.sendq:
			_, err := c.bw.Write(b)
			putFrame(b)
			if err != nil {
				return err
			}
			continue
		default:
		}
		break
	}
	if own != nil {
		if _, err := c.bw.Write(own); err != nil {
			return err
		}
	}
	c.wrote.Store(true)
	return c.bw.Flush()
}

// writeLoop sends queued frames when the queue is kicked, and a tick when
// nothing was written for a quarter of the tick time.
func (c *Conn) writeLoop() {
	ticker := time.NewTicker(c.TickTime() / 4)
	defer ticker.Stop()
	tick := []byte{0, 0, 0, 0}
	for {
		var own []byte
		select {
		case <-c.done:
			return
		case <-c.kick:
		case <-c.tickReset:
			ticker.Reset(c.TickTime() / 4)
			continue
		case <-ticker.C:
			if c.wrote.Swap(false) {
				continue
			}
			own = tick
		}
		select {
		case c.wsem <- struct{}{}:
		case <-c.done:
			return
		}
		err := c.writeFrames(own)
		<-c.wsem
		if err != nil {
			c.fail(fmt.Errorf("write: %w", err))
			return
		}
	}
}

// readLoop reads frames until the connection fails. Silence for longer than
// the tick time (plus a quarter) means the peer is gone, as net_kernel
// decides on its side.
func (c *Conn) readLoop() {
	br := bufio.NewReaderSize(c.nc, ioBufferSize)
	var cache atomCache
	var buf []byte
	var head [4]byte
	for {
		tt := c.TickTime()
		_ = c.nc.SetReadDeadline(time.Now().Add(tt + tt/4))
		if _, err := io.ReadFull(br, head[:]); err != nil {
			c.fail(readErr(err, tt))
			return
		}
		n := int(binary.BigEndian.Uint32(head[:]))
		if n == 0 {
			c.stats.ticksIn.Add(1)
			continue
		}
		c.stats.bytesIn.Add(uint64(n) + 4)
		if n > c.opts.MaxMessageSize {
			if err := c.refuseOversized(br, n, &cache); err != nil {
				c.fail(err)
				return
			}
			continue
		}
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(br, buf); err != nil {
			c.fail(readErr(err, tt))
			return
		}
		f, err := decodeFrame(buf, &cache)
		if err != nil {
			// A frame we cannot decode may have updated the atom cache
			// only partly; later frames could decode wrongly, so stop.
			c.fail(fmt.Errorf("malformed message from peer: %w", err))
			return
		}
		c.stats.framesIn.Add(1)
		c.stats.cacheRefs.Add(uint64(f.cacheRefs))
		if cap(buf) > keepFrameBuffer {
			buf = nil
		}
		c.dispatch(f)
		// Do not keep a huge buffer alive after a rare big message.
		if cap(buf) > 1<<20 {
			buf = nil
		}
	}
}

func readErr(err error, tick time.Duration) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("no data or tick from the peer for %s (net_ticktime): %w", tick+tick/4, err)
	}
	return fmt.Errorf("read: %w", err)
}

// MessageTooLargeError is returned by a call whose reply exceeded
// Options.MaxMessageSize. The connection stays up.
type MessageTooLargeError struct {
	Size  int
	Limit int
}

func (e *MessageTooLargeError) Error() string {
	return fmt.Sprintf("reply of %d bytes exceeds the maximum message size of %d bytes (raise it with the max message size option)", e.Size, e.Limit)
}

// refuseOversized skips a frame larger than the limit without buffering it.
// It reads just enough of the frame to find the rpc it answers ({Ref, _} to
// our pid) and fails that call with a *MessageTooLargeError.
func (c *Conn) refuseOversized(br *bufio.Reader, n int, cache *atomCache) error {
	c.stats.dropped.Add(1)
	const peek = 4096
	head := make([]byte, min(n, peek))
	if _, err := io.ReadFull(br, head); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if _, err := io.CopyN(io.Discard, br, int64(n-len(head))); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	tooLarge := &MessageTooLargeError{Size: n, Limit: c.opts.MaxMessageSize}
	ref, from, ok := peekReplyRef(head, cache)
	if !ok {
		c.log.Warn("Dropped an oversized message", "err", tooLarge)
		return nil
	}
	c.mu.Lock()
	if from != nil { // a spawned call's exit: its call by its pid
		ref = c.spawnPids[*from]
		delete(c.spawnPids, *from)
	}
	ch := c.pending[ref]
	delete(c.pending, ref)
	sc := c.spawns[ref]
	delete(c.spawns, ref)
	c.mu.Unlock()
	switch {
	case ch != nil:
		ch <- tooLarge
	case sc != nil:
		sc.done <- tooLarge
	}
	return nil
}

// peekReplyRef finds which call an oversized frame answers from its first
// bytes: the Ref of a rex reply {Ref, Reply} sent to us, the monitor Ref of
// a monitored process's exit (PAYLOAD_MONITOR_P_EXIT), or the pid (from) of
// a spawned call's exit through its link (PAYLOAD_EXIT). The atom cache
// must be updated even though the frame is skipped, so the header is
// parsed for real.
func peekReplyRef(head []byte, cache *atomCache) (ref etf.Ref, from *etf.Pid, ok bool) {
	ft, err := termDecoder(head, cache)
	if err != nil {
		return etf.Ref{}, nil, false
	}
	pos := ft.start
	ctl, n, err := ft.decode(head[pos:])
	if err != nil {
		return etf.Ref{}, nil, false
	}
	t, _ := ctl.(etf.Tuple)
	if len(t) >= 4 && t[0] == int64(opPayloadMonitorPExit) {
		r, ok := t[3].(etf.Ref)
		return r, nil, ok
	}
	if len(t) >= 3 && (t[0] == int64(opPayloadExit) || t[0] == int64(opPayloadExitTT)) {
		p, ok := t[1].(etf.Pid)
		return etf.Ref{}, &p, ok
	}
	pos += n
	if ft.versioned {
		if len(head) <= pos || head[pos] != tagVersion {
			return etf.Ref{}, nil, false
		}
		pos++ // the message's own version byte
	}
	// The message: SMALL_TUPLE_EXT, arity 2, then the reference.
	if len(head) < pos+2 || head[pos] != 104 || head[pos+1] != 2 {
		return etf.Ref{}, nil, false
	}
	r, _, err := ft.dec.DecodeTerm(head[pos+2:])
	if err != nil {
		return etf.Ref{}, nil, false
	}
	ref, ok = r.(etf.Ref)
	return ref, nil, ok
}

// dispatch acts on one received control message.
func (c *Conn) dispatch(f frame) {
	op, err := etf.ToInt64(f.control[0])
	if err != nil {
		c.log.Debug("Ignoring control message with a non-integer operation", "control", f.control)
		return
	}
	ctl := f.control
	switch op {
	case opSend, opSendTT, opSendSender, opSendSenderTT:
		if len(ctl) >= 3 {
			c.deliver(ctl[1], ctl[2], f.message)
		}
	case opRegSend, opRegSendTT:
		c.stats.dropped.Add(1) // nothing is registered on beamctl's side
	case opMonitorPExit:
		if len(ctl) >= 5 {
			c.monitorExit(ctl[3], ctl[4])
		}
	case opPayloadMonitorPExit:
		if len(ctl) >= 4 {
			c.monitorExit(ctl[3], f.message)
		}
	case opSpawnReply, opSpawnReplyTT:
		// {SPAWN_REPLY, ReqId, To, Flags, Result}
		if len(ctl) >= 5 {
			c.spawnReply(ctl[1], ctl[4])
		}
	case opSpawnRequest, opSpawnRequestTT:
		// {SPAWN_REQUEST, ReqId, From, GroupLeader, MFA, OptList}: nothing
		// can be spawned on beamctl.
		if len(ctl) >= 3 {
			reply := etf.Tuple{int64(opSpawnReply), ctl[1], ctl[2], int64(0), etf.Atom("notsup")}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = c.send(ctx, reply, nil, false)
			cancel()
		}
	case opUnlinkID:
		// {UNLINK_ID, Id, FromPid, ToPid}: acknowledge, as OTP 26 requires.
		if len(ctl) >= 4 {
			ack := etf.Tuple{int64(opUnlinkIDAck), ctl[1], ctl[3], ctl[2]}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = c.send(ctx, ack, nil, false)
			cancel()
		}
	case opExit: // {EXIT, FromPid, ToPid, Reason}
		if len(ctl) >= 4 {
			c.linkExit(ctl[1], ctl[3])
		}
	case opExitTT: // {EXIT_TT, FromPid, ToPid, TraceToken, Reason}
		if len(ctl) >= 5 {
			c.linkExit(ctl[1], ctl[4])
		}
	case opPayloadExit, opPayloadExitTT:
		if len(ctl) >= 3 {
			c.linkExit(ctl[1], f.message)
		}
	case opLink, opUnlink, opExit2, opExit2TT, opPayloadExit2, opPayloadExit2TT,
		opMonitorP, opDemonitorP, opUnlinkIDAck, opAliasSend, opAliasSendTT:
		// beamctl's pids do not die or own aliases; nothing to do.
	default:
		c.log.Debug("Ignoring unknown control message", "op", op)
	}
}

// deliver hands a message to the call waiting for it or to a mailbox.
func (c *Conn) deliver(from, to, msg etf.Term) {
	pid, ok := to.(etf.Pid)
	if !ok {
		c.stats.dropped.Add(1)
		return
	}
	if pid == c.pid {
		if t, ok := msg.(etf.Tuple); ok && len(t) == 2 {
			if ref, ok := t[0].(etf.Ref); ok {
				c.mu.Lock()
				ch, found := c.pending[ref]
				delete(c.pending, ref)
				c.mu.Unlock()
				if found {
					ch <- t[1]
				} else {
					c.stats.lateReplies.Add(1)
				}
				return
			}
		}
		c.stats.dropped.Add(1)
		return
	}
	c.mu.Lock()
	mb := c.mailboxes[pid]
	c.mu.Unlock()
	if mb == nil {
		c.stats.dropped.Add(1)
		return
	}
	if _, ok := from.(etf.Pid); !ok {
		from = nil
	}
	mb.deliver(Message{From: from, Msg: msg})
}
