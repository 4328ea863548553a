package dist

import (
	"context"
	"fmt"
	"time"

	"github.com/beamctl/beamctl/internal/etf"
)

// spawnCall is an rpc running as a process spawned on the node.
type spawnCall struct {
	done      chan etf.Term // the process's exit reason, or a spawnError
	pid       etf.Pid       // set by SPAWN_REPLY
	hasPid    bool
	abandoned bool // the caller gave up before SPAWN_REPLY came
}

// spawnError is a SPAWN_REPLY whose result is an error atom.
type spawnError struct{ reason etf.Term }

// groupLeader returns the node's `user` process, the group leader spawned
// calls get so that their I/O stays on the node as with rex. It is looked
// up on first use, and again while the node has none yet (early in its
// boot, `user` is registered after the node is reachable).
func (c *Conn) groupLeader(ctx context.Context) (etf.Pid, bool) {
	if p := c.userPid.Load(); p != nil {
		return *p, true
	}
	r, err := c.callRex(ctx, "erlang", "whereis", etf.Atom("user"))
	if err != nil {
		return etf.Pid{}, false
	}
	pid, ok := r.(etf.Pid)
	if ok {
		c.userPid.Store(&pid)
	}
	return pid, ok
}

// executeCall and spawnOpts are the constant parts of a SPAWN_REQUEST,
// built once. The call is linked, not monitored: the link's exit signal
// brings the result, and when the connection goes (beamctl ended without
// killing it), the node kills the call. A monitor as well (what erpc
// uses) would bring the result a second time, the node encoding and
// sending it twice.
var (
	executeCall etf.Term = etf.Tuple{etf.Atom("erpc"), etf.Atom("execute_call"), int64(4)}
	spawnOpts   etf.Term = etf.List{etf.Atom("link")}
)

// callSpawn runs module:function(args...) in a process spawned on the node
// by a SPAWN_REQUEST for erpc:execute_call(Ref, M, F, A), linked to us;
// the result comes back as the exit reason {Ref, return, Value} of the
// link's exit signal, from the pid SPAWN_REPLY gave (which comes first:
// both come from the new process). When the deadline passes first, the
// process is killed; it also dies with the connection.
func (c *Conn) callSpawn(ctx context.Context, mfa string, gl etf.Pid, module, function string, args []etf.Term) (etf.Term, error) {
	reqID := c.MakeRef()
	sc := &spawnCall{done: make(chan etf.Term, 1)}
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, fmt.Errorf("rpc %s: %w", mfa, err)
	}
	c.spawns[reqID] = sc
	c.mu.Unlock()

	var ref etf.Term = reqID // boxed once, sent twice
	ctl := etf.Tuple{int64(opSpawnRequest), ref, c.pidTerm, gl, executeCall, spawnOpts}
	argList := etf.List{ref, etf.Atom(module), etf.Atom(function), etf.List(args)}
	if err := c.send(ctx, ctl, argList, true); err != nil {
		c.abandon(reqID)
		return nil, fmt.Errorf("rpc %s on %s: %w", mfa, c.peer, err)
	}
	select {
	case r := <-sc.done:
		return c.spawnResult(mfa, reqID, r)
	case <-ctx.Done():
		c.abandon(reqID)
		return nil, fmt.Errorf("rpc %s on %s: %w", mfa, c.peer, ctx.Err())
	case <-c.done:
		select {
		case r := <-sc.done:
			return c.spawnResult(mfa, reqID, r)
		default:
		}
		return nil, fmt.Errorf("rpc %s: %w", mfa, c.Err())
	}
}

// abandon forgets a call whose caller gave up and kills its process: now
// if SPAWN_REPLY told us its pid, else when SPAWN_REPLY arrives.
func (c *Conn) abandon(reqID etf.Ref) {
	c.mu.Lock()
	sc := c.spawns[reqID]
	if sc == nil {
		c.mu.Unlock()
		return
	}
	sc.abandoned = true
	pid, hasPid := sc.pid, sc.hasPid
	if hasPid {
		delete(c.spawns, reqID)
		delete(c.spawnPids, pid)
	}
	c.mu.Unlock()
	if hasPid {
		c.kill(pid)
	}
}

// kill sends exit(Pid, kill) to a process beamctl spawned.
func (c *Conn) kill(pid etf.Pid) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if c.flags&FlagExitPayload != 0 {
		_ = c.send(ctx, etf.Tuple{int64(opPayloadExit2), c.pid, pid}, etf.Atom("kill"), true)
		return
	}
	_ = c.send(ctx, etf.Tuple{int64(opExit2), c.pid, pid, etf.Atom("kill")}, nil, false)
}

// spawnReply handles SPAWN_REPLY: the spawned pid, or why spawning failed.
func (c *Conn) spawnReply(reqID, result etf.Term) {
	r, ok := reqID.(etf.Ref)
	if !ok {
		return
	}
	c.mu.Lock()
	sc := c.spawns[r]
	if sc == nil {
		c.mu.Unlock()
		return
	}
	pid, isPid := result.(etf.Pid)
	if !isPid {
		delete(c.spawns, r)
		c.mu.Unlock()
		sc.done <- spawnError{reason: result}
		return
	}
	sc.pid, sc.hasPid = pid, true
	abandoned := sc.abandoned
	if abandoned {
		delete(c.spawns, r)
	} else {
		c.spawnPids[pid] = r
	}
	c.mu.Unlock()
	if abandoned {
		c.kill(pid)
	}
}

// linkExit handles an exit signal from a process linked to us: a spawned
// call's end, its reason the call's result. Other exits (a call killed
// after its caller gave up) find no call.
func (c *Conn) linkExit(from, reason etf.Term) {
	pid, ok := from.(etf.Pid)
	if !ok {
		return
	}
	c.mu.Lock()
	ref, found := c.spawnPids[pid]
	delete(c.spawnPids, pid)
	sc := c.spawns[ref]
	if found {
		delete(c.spawns, ref)
	}
	c.mu.Unlock()
	if found && sc != nil {
		sc.done <- reason
	}
}

// spawnResult turns the exit reason of erpc:execute_call/4 into what rex
// would have answered: the value, or a *BadRPCError with {'EXIT', ...}.
func (c *Conn) spawnResult(mfa string, reqID etf.Ref, reason etf.Term) (etf.Term, error) {
	bad := func(r etf.Term) error { return &BadRPCError{Node: string(c.peer), MFA: mfa, Reason: r} }
	if err, ok := reason.(error); ok { // set by refuseOversized
		return nil, fmt.Errorf("rpc %s on %s: %w", mfa, c.peer, err)
	}
	if se, ok := reason.(spawnError); ok {
		return nil, bad(etf.Tuple{etf.Atom("EXIT"), etf.Tuple{etf.Atom("spawn_failed"), se.reason}})
	}
	t, ok := reason.(etf.Tuple)
	if !ok || len(t) < 3 || t[0] != reqID {
		// The process died before answering (killed, or noconnection).
		return nil, bad(etf.Tuple{etf.Atom("EXIT"), reason})
	}
	switch kind, _ := t[1].(etf.Atom); {
	case kind == "return" && len(t) == 3:
		return t[2], nil
	case kind == "throw" && len(t) == 3:
		return t[2], nil // rpc:call returns a thrown value, as catch does
	case kind == "exit" && len(t) == 3:
		return nil, bad(etf.Tuple{etf.Atom("EXIT"), t[2]})
	case kind == "error" && len(t) == 3:
		return nil, bad(etf.Tuple{etf.Atom("EXIT"), t[2]})
	case kind == "error" && len(t) == 4:
		return nil, bad(etf.Tuple{etf.Atom("EXIT"), etf.Tuple{t[2], t[3]}})
	}
	return nil, bad(etf.Tuple{etf.Atom("EXIT"), reason})
}
