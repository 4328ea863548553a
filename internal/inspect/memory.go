package inspect

import (
	"context"
	"fmt"
	"sync"

	"github.com/beamctl/beamctl/internal/etf"
)

// MemoryKind is one line of erlang:memory().
type MemoryKind struct {
	Kind  string `json:"kind"`
	Bytes int64  `json:"bytes"`
}

// Resource is a count the VM limits.
type Resource struct {
	Name        string  `json:"name"`
	Count       int64   `json:"count"`
	Limit       int64   `json:"limit"`
	UsedPercent float64 `json:"used_percent"`
}

// MemoryReport is what `beamctl memory` shows.
type MemoryReport struct {
	Memory    []MemoryKind `json:"memory"`
	Resources []Resource   `json:"resources"`
}

// resources are the system_info counts and their limits.
var resources = []struct{ name, count, limit string }{
	{"processes", "process_count", "process_limit"},
	{"ports", "port_count", "port_limit"},
	{"atoms", "atom_count", "atom_limit"},
	{"ets", "ets_count", "ets_limit"},
}

// Memory reads erlang:memory() and the counts and limits of processes,
// ports, atoms and ETS tables. The calls go out together on the one
// connection, so it costs about one round trip.
func Memory(ctx context.Context, c Conn) (*MemoryReport, error) {
	type result struct {
		t   etf.Term
		err error
	}
	calls := []etf.Term{nil} // nil: erlang:memory()
	for _, r := range resources {
		calls = append(calls, etf.Atom(r.count), etf.Atom(r.limit))
	}
	results := make([]result, len(calls))
	var wg sync.WaitGroup
	for i, arg := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if arg == nil {
				results[i].t, results[i].err = c.Call(ctx, "erlang", "memory")
			} else {
				results[i].t, results[i].err = c.Call(ctx, "erlang", "system_info", arg)
			}
		}()
	}
	wg.Wait()
	for _, r := range results {
		if r.err != nil {
			return nil, r.err
		}
	}
	rep := &MemoryReport{}
	mem, err := etf.ToList(results[0].t)
	if err != nil {
		return nil, fmt.Errorf("erlang:memory(): %w", err)
	}
	for _, e := range mem {
		t, err := etf.ToTuple(e, 2)
		if err != nil {
			return nil, fmt.Errorf("erlang:memory(): %w", err)
		}
		kind, _ := etf.ToAtom(t[0])
		n, _ := etf.ToInt64(t[1])
		rep.Memory = append(rep.Memory, MemoryKind{Kind: string(kind), Bytes: n})
	}
	for i, r := range resources {
		count, err := etf.ToInt64(results[1+2*i].t)
		if err != nil {
			return nil, fmt.Errorf("system_info(%s): %w", r.count, err)
		}
		limit, err := etf.ToInt64(results[2+2*i].t)
		if err != nil {
			return nil, fmt.Errorf("system_info(%s): %w", r.limit, err)
		}
		res := Resource{Name: r.name, Count: count, Limit: limit}
		if limit > 0 {
			res.UsedPercent = 100 * float64(count) / float64(limit)
		}
		rep.Resources = append(rep.Resources, res)
	}
	return rep, nil
}
