package sim

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
)

// Control message operations (erl_dist_protocol).
const (
	opLink                = 1
	opSend                = 2
	opExit                = 3
	opRegSend             = 6
	opMonitorP            = 19
	opMonitorPExit        = 21
	opSendSender          = 22
	opPayloadExit         = 24
	opPayloadMonitorPExit = 28
	opSpawnRequest        = 29
	opSpawnRequestTT      = 30
	opSpawnReply          = 31
	opUnlinkID            = 35
	opUnlinkIDAck         = 36
	opRegSendTT           = 16
)

// Limits of one connection.
const (
	maxFrame        = 64 << 20
	callTimeout     = 30 * time.Second
	maxHandshakeLen = 1024
)

// conn is one accepted distribution connection.
type conn struct {
	n     *Node
	nc    net.Conn
	peer  Peer
	flags uint64 // shared

	wmu   sync.Mutex
	bw    *bufio.Writer
	wrote atomic.Bool
}

func (n *Node) serve() {
	for {
		nc, err := n.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go n.handle(nc)
	}
}

func (n *Node) handle(nc net.Conn) {
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	peer, flags, err := n.accept(nc)
	if err != nil {
		n.s.log.Debug("Handshake refused", "node", n.Name, "err", err)
		return
	}
	_ = nc.SetDeadline(time.Time{})
	c := &conn{n: n, nc: nc, peer: peer, flags: flags, bw: bufio.NewWriterSize(nc, 4<<10)}
	s := n.s
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return
	default:
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	if err := c.readLoop(); err != nil {
		s.log.Debug("Connection ended", "node", n.Name, "peer", peer.Name, "err", err)
	}
}

// accept runs the accepting side of the version 6 handshake: recv_name 'N',
// send_status ok, send_challenge 'N', recv_challenge_reply (a wrong digest
// closes the connection, as a node does), send_challenge_ack.
func (n *Node) accept(rw io.ReadWriter) (Peer, uint64, error) {
	name, err := hsRead(rw)
	if err != nil {
		return Peer{}, 0, fmt.Errorf("read name: %w", err)
	}
	// 'N' Flags(8) Creation(4) Nlen(2) Name
	if len(name) < 15 || name[0] != 'N' {
		return Peer{}, 0, fmt.Errorf("malformed name message (%d bytes)", len(name))
	}
	flags := binary.BigEndian.Uint64(name[1:9])
	peer := Peer{Creation: binary.BigEndian.Uint32(name[9:13])}
	nlen := int(binary.BigEndian.Uint16(name[13:15]))
	if len(name) < 15+nlen {
		return Peer{}, 0, errors.New("malformed name message: name length exceeds message")
	}
	peer.Name = etf.Atom(name[15 : 15+nlen])
	if dist.Mandatory25&^flags != 0 {
		_ = hsWrite(rw, []byte("snot_allowed"))
		return peer, 0, fmt.Errorf("%s lacks mandatory flags %#x", peer.Name, dist.Mandatory25&^flags)
	}
	if err := hsWrite(rw, []byte("sok")); err != nil {
		return peer, 0, err
	}
	var cb [4]byte
	_, _ = rand.Read(cb[:])
	challenge := binary.BigEndian.Uint32(cb[:])
	msg := []byte{'N'}
	msg = binary.BigEndian.AppendUint64(msg, Flags)
	msg = binary.BigEndian.AppendUint32(msg, challenge)
	msg = binary.BigEndian.AppendUint32(msg, n.Creation)
	msg = binary.BigEndian.AppendUint16(msg, uint16(len(n.Name)))
	msg = append(msg, n.Name...)
	if err := hsWrite(rw, msg); err != nil {
		return peer, 0, err
	}
	reply, err := hsRead(rw)
	if err != nil {
		return peer, 0, fmt.Errorf("read challenge reply: %w", err)
	}
	// 'r' Challenge(4) Digest(16)
	if len(reply) != 21 || reply[0] != 'r' {
		return peer, 0, fmt.Errorf("malformed challenge reply (%d bytes)", len(reply))
	}
	want := dist.Digest(challenge, n.s.opts.Cookie)
	if string(reply[5:]) != string(want[:]) {
		// A node logs "Connection attempt from node X rejected. Invalid
		// challenge reply." and closes the connection.
		return peer, 0, fmt.Errorf("connection attempt from node %s rejected: invalid challenge reply", peer.Name)
	}
	ack := dist.Digest(binary.BigEndian.Uint32(reply[1:5]), n.s.opts.Cookie)
	if err := hsWrite(rw, append([]byte{'a'}, ack[:]...)); err != nil {
		return peer, 0, err
	}
	return peer, flags & Flags, nil
}

func hsRead(r io.Reader) ([]byte, error) {
	var l [2]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(l[:]))
	if n > maxHandshakeLen {
		return nil, fmt.Errorf("handshake message of %d bytes", n)
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return b, err
}

func hsWrite(w io.Writer, msg []byte) error {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(msg)))
	_, err := w.Write(append(b, msg...))
	return err
}

// readLoop reads frames until the connection ends.
func (c *conn) readLoop() error {
	br := bufio.NewReaderSize(c.nc, 4<<10)
	var dec frameDecoder
	var head [4]byte
	var buf []byte
	for {
		_ = c.nc.SetReadDeadline(time.Now().Add(TickTime + TickTime/4))
		if _, err := io.ReadFull(br, head[:]); err != nil {
			return err
		}
		size := int(binary.BigEndian.Uint32(head[:]))
		if size == 0 {
			continue // a tick
		}
		if size > maxFrame {
			return fmt.Errorf("frame of %d bytes", size)
		}
		if cap(buf) < size {
			buf = make([]byte, size)
		}
		buf = buf[:size]
		if _, err := io.ReadFull(br, buf); err != nil {
			return err
		}
		ctl, msg, err := dec.decode(buf)
		if err != nil {
			return fmt.Errorf("malformed frame: %w", err)
		}
		c.dispatch(ctl, msg)
		if cap(buf) > 64<<10 {
			buf = nil
		}
	}
}

// write writes one frame and flushes it.
func (c *conn) write(frame []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(TickTime))
	if _, err := c.bw.Write(frame); err == nil {
		if err := c.bw.Flush(); err != nil {
			_ = c.nc.Close()
		}
	}
	c.wrote.Store(true)
}

func (c *conn) send(control etf.Tuple, message etf.Term, hasMsg bool) {
	b, err := dist.AppendFrame(nil, c.flags&dist.FlagDistHdrAtomCache != 0, control, message, hasMsg)
	if err != nil {
		c.n.s.log.Debug("Cannot encode a frame", "node", c.n.Name, "err", err)
		return
	}
	c.write(b)
}

// sendTo sends a message to a pid of the peer, from a pid of the node.
func (c *conn) sendTo(from, to etf.Pid, msg etf.Term) {
	if c.flags&dist.FlagSendSender != 0 {
		c.send(etf.Tuple{int64(opSendSender), from, to}, msg, true)
		return
	}
	c.send(etf.Tuple{int64(opSend), etf.Atom(""), to}, msg, true)
}

// exited tells the peer that a process it monitored (ref) or linked to
// ended with reason.
func (c *conn) exited(from, to etf.Pid, ref *etf.Ref, link bool, reason etf.Term) {
	payload := c.flags&dist.FlagExitPayload != 0
	if ref != nil {
		if payload {
			c.send(etf.Tuple{int64(opPayloadMonitorPExit), from, to, *ref}, reason, true)
		} else {
			c.send(etf.Tuple{int64(opMonitorPExit), from, to, *ref, reason}, nil, false)
		}
	}
	if link {
		if payload {
			c.send(etf.Tuple{int64(opPayloadExit), from, to}, reason, true)
		} else {
			c.send(etf.Tuple{int64(opExit), from, to, reason}, nil, false)
		}
	}
}

// dispatch acts on one control message. Calls run in their own goroutine
// so that a slow backend (the recording proxy) does not stall the reader.
func (c *conn) dispatch(ctl etf.Tuple, msg etf.Term) {
	op, err := etf.ToInt64(ctl[0])
	if err != nil {
		return
	}
	switch op {
	case opRegSend, opRegSendTT:
		// {REG_SEND, From, Unused, ToName}
		if len(ctl) >= 4 && ctl[3] == etf.Atom("rex") {
			go c.rex(msg)
		}
	case opSpawnRequest, opSpawnRequestTT:
		// {SPAWN_REQUEST, ReqId, From, GroupLeader, {M, F, A}, OptList}
		if len(ctl) >= 6 {
			go c.spawn(ctl, msg)
		}
	case opMonitorP:
		// {MONITOR_P, From, ToProc, Ref}: no process lives here.
		if len(ctl) >= 4 {
			from, _ := ctl[1].(etf.Pid)
			c.send(etf.Tuple{int64(opMonitorPExit), ctl[2], from, ctl[3], etf.Atom("noproc")}, nil, false)
		}
	case opLink:
		// {LINK, From, To}: no process lives here.
		if len(ctl) >= 3 {
			c.send(etf.Tuple{int64(opExit), ctl[2], ctl[1], etf.Atom("noproc")}, nil, false)
		}
	case opUnlinkID:
		if len(ctl) >= 4 {
			c.send(etf.Tuple{int64(opUnlinkIDAck), ctl[1], ctl[3], ctl[2]}, nil, false)
		}
	default:
		// Messages to pids, exit signals, demonitors: nothing lives here
		// to receive them.
	}
}

// rex answers {'$gen_call', {Pid, Tag}, {call, M, F, A, GroupLeader}} as
// the rex server does: {Tag, Reply}, Reply {badrpc, Reason} on failure.
func (c *conn) rex(msg etf.Term) {
	t, ok := msg.(etf.Tuple)
	if !ok || len(t) != 3 || t[0] != etf.Atom("$gen_call") {
		return
	}
	from, ok := t[1].(etf.Tuple)
	if !ok || len(from) != 2 {
		return
	}
	pid, ok := from[0].(etf.Pid)
	if !ok {
		return
	}
	req, ok := t[2].(etf.Tuple)
	if !ok || len(req) < 4 || req[0] != etf.Atom("call") {
		return
	}
	m, okM := req[1].(etf.Atom)
	f, okF := req[2].(etf.Atom)
	args, okA := toArgs(req[3])
	var reply etf.Term
	if !okM || !okF || !okA {
		reply = etf.Tuple{etf.Atom("badrpc"), etf.Tuple{etf.Atom("EXIT"), etf.Tuple{etf.Atom("badarg"), etf.List{}}}}
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		v, raised := c.n.backend.Call(ctx, c.n, c.peer, string(m), string(f), args)
		cancel()
		reply = v
		if raised {
			reply = etf.Tuple{etf.Atom("badrpc"), v}
		}
	}
	rexPid := etf.Pid{Node: c.n.Name, ID: 30, Creation: c.n.Creation}
	c.sendTo(rexPid, pid, etf.Tuple{from[1], reply})
}

// spawn answers a SPAWN_REQUEST: the spawned pid, then, for
// erpc:execute_call(Ref, M, F, A), the process's exit with {Ref, return,
// Value} or the exception, to the monitor and the link the request asked
// for. Any other function is undefined here.
func (c *conn) spawn(ctl etf.Tuple, msg etf.Term) {
	reqID := ctl[1]
	from, ok := ctl[2].(etf.Pid)
	if !ok {
		return
	}
	var monitor, link bool
	if opts, ok := ctl[5].(etf.List); ok {
		for _, o := range opts {
			switch o {
			case etf.Atom("monitor"):
				monitor = true
			case etf.Atom("link"):
				link = true
			}
		}
	}
	var fl int64
	if link {
		fl |= 1
	}
	if monitor {
		fl |= 2
	}
	pid := c.n.newPid()
	c.send(etf.Tuple{int64(opSpawnReply), reqID, from, fl, pid}, nil, false)

	args, _ := toArgs(msg)
	mfa, _ := ctl[4].(etf.Tuple)
	var reason etf.Term
	if len(mfa) == 3 && mfa[0] == etf.Atom("erpc") && mfa[1] == etf.Atom("execute_call") && len(args) == 4 {
		m, okM := args[1].(etf.Atom)
		f, okF := args[2].(etf.Atom)
		a, okA := toArgs(args[3])
		if okM && okF && okA {
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			v, raised := c.n.backend.Call(ctx, c.n, c.peer, string(m), string(f), a)
			cancel()
			reason = erpcResult(args[0], v, raised)
		} else {
			reason = etf.Tuple{args[0], etf.Atom("error"), etf.Atom("badarg"), etf.List{}}
		}
	} else {
		reason = etf.Tuple{etf.Atom("undef"), etf.List{etf.Tuple{mfaElem(mfa, 0), mfaElem(mfa, 1), args, etf.List{}}}}
	}
	var ref *etf.Ref
	if r, ok := reqID.(etf.Ref); ok && monitor {
		ref = &r
	}
	c.exited(pid, from, ref, link, reason)
}

func mfaElem(mfa etf.Tuple, i int) etf.Term {
	if i < len(mfa) {
		return mfa[i]
	}
	return etf.Atom("undefined")
}

// erpcResult is the exit reason of erpc:execute_call/4 for a rex answer:
// {Ref, return, Value}, or for {'EXIT', {Reason, Stack}} {Ref, error,
// Reason, Stack}, for {'EXIT', Reason} {Ref, exit, Reason}.
func erpcResult(ref, v etf.Term, raised bool) etf.Term {
	if !raised {
		return etf.Tuple{ref, etf.Atom("return"), v}
	}
	if t, ok := v.(etf.Tuple); ok && len(t) == 2 && t[0] == etf.Atom("EXIT") {
		if e, ok := t[1].(etf.Tuple); ok && len(e) == 2 {
			if _, isList := e[1].(etf.List); isList {
				return etf.Tuple{ref, etf.Atom("error"), e[0], e[1]}
			}
		}
		return etf.Tuple{ref, etf.Atom("exit"), t[1]}
	}
	return etf.Tuple{ref, etf.Atom("exit"), v}
}

// toArgs reads an argument list, which an Erlang peer sends as a string
// when every argument is a byte.
func toArgs(t etf.Term) (etf.List, bool) {
	switch v := t.(type) {
	case etf.List:
		return v, true
	case etf.String:
		l := make(etf.List, len(v))
		for i := range len(v) {
			l[i] = int64(v[i])
		}
		return l, true
	}
	return nil, false
}
