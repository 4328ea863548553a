package inspect

import (
	"context"
	"fmt"
	"time"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
)

// TopAttrs are the process attributes top can rank by.
var TopAttrs = []string{"reductions", "memory", "message_queue_len", "binary_memory", "total_heap_size"}

// TopOptions select what top ranks.
type TopOptions struct {
	By     string        // one of TopAttrs
	N      int           // how many processes to return (1..1000)
	Window time.Duration // 0: absolute values; else growth over the window
	// ScanLimit bounds how many processes the node looks at (0: all).
	ScanLimit int
}

// TopEntry is one process of a top listing.
type TopEntry struct {
	Pid             string `json:"pid"`
	Value           int64  `json:"value"`
	Name            string `json:"registered_name,omitempty"`
	CurrentFunction string `json:"current_function"`
	InitialCall     string `json:"initial_call"`
}

// Top ranks the node's processes by an attribute. The scan runs on the node
// in beamctl_agent (compiled there, see EnsureAgent); only the N results
// cross the wire.
func Top(ctx context.Context, c *dist.Conn, o TopOptions) ([]TopEntry, error) {
	if !validAttr(o.By) {
		return nil, fmt.Errorf("cannot rank by %q; choose one of %v", o.By, TopAttrs)
	}
	if o.N < 1 || o.N > 1000 {
		return nil, fmt.Errorf("the number of processes must be between 1 and 1000, not %d", o.N)
	}
	if _, err := EnsureAgent(ctx, c); err != nil {
		return nil, err
	}
	var r etf.Term
	var err error
	if o.Window > 0 {
		r, err = c.Call(ctx, AgentModule, "top_window", etf.Atom(o.By), o.N, o.ScanLimit, o.Window.Milliseconds())
	} else {
		r, err = c.Call(ctx, AgentModule, "top", etf.Atom(o.By), o.N, o.ScanLimit)
	}
	if err != nil {
		return nil, err
	}
	l, err := etf.ToList(r)
	if err != nil {
		return nil, fmt.Errorf("top: %w", err)
	}
	node := c.Node()
	out := make([]TopEntry, 0, len(l))
	for _, e := range l {
		t, err := etf.ToTuple(e, 5)
		if err != nil {
			return nil, fmt.Errorf("top: %w", err)
		}
		v, _ := etf.ToInt64(t[1])
		entry := TopEntry{Pid: text(t[0], node), Value: v, CurrentFunction: mfaText(t[3], node), InitialCall: mfaText(t[4], node)}
		if name, ok := t[2].(etf.Atom); ok && name != etf.Undefined {
			entry.Name = string(name)
		}
		out = append(out, entry)
	}
	return out, nil
}

func validAttr(a string) bool {
	for _, x := range TopAttrs {
		if a == x {
			return true
		}
	}
	return false
}
