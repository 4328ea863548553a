package dist

import (
	"context"
	"fmt"

	"github.com/beamctl/beamctl/internal/etf"
)

// BadRPCError is the {badrpc, Reason} a node's rex server answers when the
// called function raised, exited or was undefined.
type BadRPCError struct {
	Node   string
	MFA    string
	Reason etf.Term
}

func (e *BadRPCError) Error() string {
	return fmt.Sprintf("rpc %s on %s: badrpc: %s", e.MFA, e.Node, formatTerm(e.Reason, etf.Atom(e.Node)))
}

// Call runs module:function(args...) on the node, as rpc:call/4 does, with
// group leader `user` so that output of the call stays on the node. The
// context bounds the call; without a deadline Options.CallTimeout applies.
// A reply arriving after the deadline is dropped. Errors the node reports
// ({badrpc, Reason} of rex) are returned as a *BadRPCError.
//
// By default (RPCRex) the call goes through the node's rex server:
// {'$gen_call', {Pid, Ref}, {call, M, F, A, user}}. With RPCSpawn it runs in
// a process spawned for it, which is killed when the deadline passes.
func (c *Conn) Call(ctx context.Context, module, function string, args ...etf.Term) (etf.Term, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.CallTimeout)
		defer cancel()
	}
	if args == nil {
		args = []etf.Term{}
	}
	if c.opts.RPC == RPCSpawn && c.flags&FlagSpawn != 0 {
		// Without a `user` process yet, the call goes through rex.
		if gl, ok := c.groupLeader(ctx); ok {
			return c.callSpawn(ctx, mfaString(module, function, args), gl, module, function, args)
		}
	}
	return c.callRex(ctx, module, function, args...)
}

func mfaString(module, function string, args []etf.Term) string {
	return fmt.Sprintf("%s:%s/%d", module, function, len(args))
}

// callRex sends the call to the node's rex server:
// {'$gen_call', {Pid, Ref}, {call, M, F, A, user}}.
func (c *Conn) callRex(ctx context.Context, module, function string, args ...etf.Term) (etf.Term, error) {
	if args == nil {
		args = []etf.Term{}
	}
	mfa := mfaString(module, function, args)
	ref := c.MakeRef()
	ch := make(chan etf.Term, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, fmt.Errorf("rpc %s: %w", mfa, err)
	}
	c.pending[ref] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, ref)
		c.mu.Unlock()
	}()

	// {'$gen_call', {Pid, Ref}, {call, M, F, A, user}} to rex.
	req := etf.Tuple{
		etf.Atom("$gen_call"),
		etf.Tuple{c.pidTerm, ref},
		etf.Tuple{etf.Atom("call"), etf.Atom(module), etf.Atom(function), etf.List(args), etf.Atom("user")},
	}
	ctl := etf.Tuple{int64(opRegSend), c.pidTerm, etf.Atom(""), etf.Atom("rex")}
	if err := c.send(ctx, ctl, req, true); err != nil {
		return nil, fmt.Errorf("rpc %s on %s: %w", mfa, c.peer, err)
	}
	select {
	case r := <-ch:
		return c.result(mfa, r)
	case <-ctx.Done():
		return nil, fmt.Errorf("rpc %s on %s: %w", mfa, c.peer, ctx.Err())
	case <-c.done:
		select {
		case r := <-ch:
			return c.result(mfa, r)
		default:
		}
		return nil, fmt.Errorf("rpc %s: %w", mfa, c.Err())
	}
}

func (c *Conn) result(mfa string, r etf.Term) (etf.Term, error) {
	switch v := r.(type) {
	case error: // set by refuseOversized
		return nil, fmt.Errorf("rpc %s on %s: %w", mfa, c.peer, v)
	case etf.Tuple:
		if len(v) == 2 && v[0] == etf.Atom("badrpc") {
			return nil, &BadRPCError{Node: string(c.peer), MFA: mfa, Reason: v[1]}
		}
	}
	return r, nil
}
