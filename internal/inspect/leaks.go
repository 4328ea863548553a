package inspect

import (
	"context"
	"fmt"
	"time"

	"github.com/beamctl/beamctl/internal/etf"
)

// BinUsage is a process's refc binary usage and heap.
type BinUsage struct {
	BinaryRefs  int64 `json:"binary_refs"`
	BinaryBytes int64 `json:"binary_bytes"`
	BinaryCount int64 `json:"binary_count"`
	HeapBytes   int64 `json:"heap_bytes"`
}

// Leak is one line of erl_leaks: a process before and after its GC.
type Leak struct {
	Pid    string   `json:"pid"`
	Name   string   `json:"registered_name,omitempty"`
	Before BinUsage `json:"before"`
	After  BinUsage `json:"after"`
}

// Leaks finds the n processes holding the most refc binary memory and, with
// gc, garbage collects each of them (one at a time, pause apart) to show
// what they really hold, like ectl's erl_leaks.
func Leaks(ctx context.Context, c Conn, n int, gc bool, pause time.Duration) ([]Leak, error) {
	if n < 1 || n > 1000 {
		return nil, fmt.Errorf("the number of processes must be between 1 and 1000, not %d", n)
	}
	if _, err := EnsureAgent(ctx, c); err != nil {
		return nil, err
	}
	r, err := c.Call(ctx, AgentModule, "leaks", n, gc, pause.Milliseconds())
	if err != nil {
		return nil, err
	}
	l, err := etf.ToList(r)
	if err != nil {
		return nil, fmt.Errorf("leaks: %w", err)
	}
	out := []Leak{}
	for _, e := range l {
		t, err := etf.ToTuple(e, 4)
		if err != nil {
			return nil, fmt.Errorf("leaks: %w", err)
		}
		lk := Leak{Pid: text(t[0], c.Node()), Before: binUsage(t[2]), After: binUsage(t[3])}
		if name, ok := t[1].(etf.Atom); ok && name != etf.Undefined {
			lk.Name = string(name)
		}
		out = append(out, lk)
	}
	return out, nil
}

func binUsage(t etf.Term) BinUsage {
	tup, err := etf.ToTuple(t, 4)
	if err != nil {
		return BinUsage{} // the process died
	}
	n := func(i int) int64 { v, _ := etf.ToInt64(tup[i]); return v }
	return BinUsage{BinaryRefs: n(0), BinaryBytes: n(1), BinaryCount: n(2), HeapBytes: n(3)}
}
