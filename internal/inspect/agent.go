package inspect

import (
	"context"
	_ "embed" // the agent's Erlang source
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/beamctl/beamctl/internal/etf"
)

// AgentModule is the name of the helper module beamctl loads on nodes.
const AgentModule = "beamctl_agent"

// agentVersion must match version() in beamctl_agent.erl; a node with
// another version loaded gets this one.
const agentVersion = 15

//go:generate erlc +deterministic -o . beamctl_agent.erl

// agentSource is the agent's Erlang source, compiled on nodes whose OTP
// cannot load agentBeam.
//
//go:embed beamctl_agent.erl
var agentSource string

// agentBeam is the agent compiled by OTP 25, the oldest supported release
// (go generate; TestAgentBeamUpToDate checks it matches the source). It
// needs only the kernel to load: no compiler on the node.
//
//go:embed beamctl_agent.beam
var agentBeam []byte

// ErrNoCompiler means the node could not load the precompiled agent and
// has no compiler application to build it from source.
var ErrNoCompiler = errors.New("the node cannot load beamctl's precompiled agent and has no compiler application to build it")

// agents remembers the connections on which the agent is known to be loaded.
var agents = struct {
	sync.Mutex
	loaded map[Conn]bool
}{loaded: map[Conn]bool{}}

// EnsureAgent loads beamctl_agent on the node unless the right version is
// there already. It loads the embedded precompiled module with
// code:load_binary (one round trip, kernel only); should the node's OTP
// refuse that file, it compiles the module on the node from source
// (erl_scan, erl_parse, compile:forms). Nothing is written to the node's
// disk. It reports whether it loaded the module now. On a WithoutAgent
// connection it does nothing and returns ErrAgentDisabled.
func EnsureAgent(ctx context.Context, c Conn) (bool, error) {
	if !AgentAllowed(c) {
		return false, ErrAgentDisabled
	}
	agents.Lock()
	ok := agents.loaded[c]
	agents.Unlock()
	if ok {
		return false, nil
	}
	if v, err := c.Call(ctx, AgentModule, "version"); err == nil && v == int64(agentVersion) {
		markLoaded(c)
		return false, nil
	}
	if err := loadAgentBeam(ctx, c, agentBeam); err != nil {
		if err := loadAgentFromSource(ctx, c); err != nil {
			return false, err
		}
	}
	markLoaded(c)
	return true, nil
}

// loadAgentBeam loads compiled agent code. Old code of an earlier version
// would block the load, so it is purged first if no process runs it.
func loadAgentBeam(ctx context.Context, c Conn, beam []byte) error {
	if _, err := c.Call(ctx, "code", "soft_purge", etf.Atom(AgentModule)); err != nil {
		return fmt.Errorf("load agent: %w", err)
	}
	r, err := c.Call(ctx, "code", "load_binary", etf.Atom(AgentModule), etf.String(AgentModule+".erl"), beam)
	if err != nil {
		return fmt.Errorf("load agent: %w", err)
	}
	if lt, err := etf.ToTuple(r, 2); err != nil || lt[0] != etf.Atom("module") {
		return fmt.Errorf("load agent: code:load_binary: %s", text(r, c.Node()))
	}
	return nil
}

func markLoaded(c Conn) {
	agents.Lock()
	first := len(agents.loaded) == 0 || !agents.loaded[c]
	agents.loaded[c] = true
	agents.Unlock()
	if first {
		go func() {
			<-c.Done()
			agents.Lock()
			delete(agents.loaded, c)
			agents.Unlock()
		}()
	}
}

// loadAgentFromSource compiles the agent on the node and loads it.
func loadAgentFromSource(ctx context.Context, c Conn) error {
	r, err := c.Call(ctx, "code", "ensure_loaded", etf.Atom("compile"))
	if err != nil {
		return fmt.Errorf("load agent: %w", err)
	}
	if t, err := etf.ToTuple(r, 2); err != nil || t[0] != etf.Atom("module") {
		return ErrNoCompiler
	}
	forms, err := parseForms(ctx, c, agentSource)
	if err != nil {
		return fmt.Errorf("load agent: %w", err)
	}
	r, err = c.Call(ctx, "compile", "forms", forms, etf.List{etf.Atom("binary"), etf.Atom("return_errors")})
	if err != nil {
		return fmt.Errorf("load agent: compile: %w", err)
	}
	t, err := etf.ToTuple(r, 3)
	if err != nil || t[0] != etf.Atom("ok") {
		return fmt.Errorf("load agent: compile failed: %s", text(r, c.Node()))
	}
	beam, ok := t[2].([]byte)
	if !ok {
		return fmt.Errorf("load agent: compile returned %s", text(t[2], c.Node()))
	}
	return loadAgentBeam(ctx, c, beam)
}

// parseForms parses Erlang source into abstract forms on the node, one
// form per erl_scan/erl_parse round trip. Forms are separated by a line
// that ends with a full stop.
func parseForms(ctx context.Context, c Conn, src string) (etf.List, error) {
	var forms etf.List
	var cur strings.Builder
	for _, line := range strings.SplitAfter(src, "\n") {
		cur.WriteString(line)
		if !strings.HasSuffix(strings.TrimSpace(line), ".") || strings.HasPrefix(strings.TrimSpace(line), "%") {
			continue
		}
		text := cur.String()
		cur.Reset()
		r, err := c.Call(ctx, "erl_scan", "string", etf.String(text))
		if err != nil {
			return nil, err
		}
		scanned, err := etf.ToTuple(r, 3)
		if err != nil || scanned[0] != etf.Atom("ok") {
			return nil, fmt.Errorf("scan agent source: %v", r)
		}
		r, err = c.Call(ctx, "erl_parse", "parse_form", scanned[1])
		if err != nil {
			return nil, err
		}
		parsed, err := etf.ToTuple(r, 2)
		if err != nil || parsed[0] != etf.Atom("ok") {
			return nil, fmt.Errorf("parse agent source: %v", r)
		}
		forms = append(forms, parsed[1])
	}
	return forms, nil
}

// RemoveAgent purges and deletes beamctl_agent from the node. It reports
// whether the module was loaded.
func RemoveAgent(ctx context.Context, c Conn) (bool, error) {
	r, err := c.Call(ctx, "code", "is_loaded", etf.Atom(AgentModule))
	if err != nil {
		return false, err
	}
	if r == etf.False {
		return false, nil
	}
	// The log counter handler (log_counts/0) calls the module: take it
	// away first, or logger would report its failure at the next event.
	if _, err := c.Call(ctx, "logger", "remove_handler", etf.Atom("beamctl_log_counter")); err != nil {
		return true, fmt.Errorf("remove agent: logger:remove_handler: %w", err)
	}
	// purge (old code), delete (current becomes old), purge again.
	for _, f := range []string{"purge", "delete", "purge"} {
		if _, err := c.Call(ctx, "code", f, etf.Atom(AgentModule)); err != nil {
			return true, fmt.Errorf("remove agent: code:%s: %w", f, err)
		}
	}
	agents.Lock()
	delete(agents.loaded, c)
	agents.Unlock()
	return true, nil
}

// RemoveLogHandlers removes every logger handler beamctl installed on the
// node (ids beginning with beamctl_: the log forwarders of beamctl
// servers, the agent's log counter) and returns their ids.
func RemoveLogHandlers(ctx context.Context, c Conn) ([]string, error) {
	r, err := c.Call(ctx, "logger", "get_handler_ids")
	if err != nil {
		return nil, err
	}
	ids, err := etf.ToList(r)
	if err != nil {
		return nil, fmt.Errorf("logger:get_handler_ids: %w", err)
	}
	var removed []string
	for _, id := range ids {
		a, ok := id.(etf.Atom)
		if !ok || !strings.HasPrefix(string(a), "beamctl_") {
			continue
		}
		if _, err := c.Call(ctx, "logger", "remove_handler", a); err != nil {
			return removed, fmt.Errorf("remove logger handler %s: %w", a, err)
		}
		removed = append(removed, string(a))
	}
	return removed, nil
}

// ErrAgentDisabled means beamctl_agent is not to be loaded on the node: its
// cluster says agent: false, or the command line --no-agent.
var ErrAgentDisabled = errors.New("beamctl_agent is not to be loaded on this node (agent: false in the server's configuration, or --no-agent), and this tool needs it")

// noAgentConn is a Conn on which EnsureAgent refuses to load the agent.
type noAgentConn struct{ Conn }

// WithoutAgent returns c for tools that must not load beamctl_agent on the node:
// EnsureAgent returns ErrAgentDisabled, top scans with erl_eval instead, and
// the tools that need the agent fail with that error. Nothing of the agent
// is called on such a connection, not even a version check.
func WithoutAgent(c Conn) Conn {
	if _, ok := c.(noAgentConn); ok {
		return c
	}
	return noAgentConn{c}
}

// AgentAllowed reports whether beamctl_agent may be loaded through c.
func AgentAllowed(c Conn) bool {
	_, no := c.(noAgentConn)
	return !no
}
