package collector

import (
	"context"
	"fmt"
	"sort"

	"github.com/beamctl/beamctl/internal/etf"
)

func init() { registerCollector("ets", true, func() Collector { return etsCollector{top: 10} }) }

// etsCollector reports the number of ETS tables, their total memory, and the
// size and memory of the largest ones. With the agent, one round trip
// (beamctl_agent:ets_stats/0); without it two: ets:all/0 with the word
// size, then ets:info/2 of name, size and memory of every table in one
// (tables are bounded by the ETS limit).
type etsCollector struct {
	top int
}

// etsTable is one table's reading.
type etsTable struct {
	name      string
	size, mem float64 // mem in bytes
}

func (e etsCollector) Update(ctx context.Context, c Conn, dst *Samples) error {
	read := etsByCalls
	if agentLoaded(c) {
		read = etsByAgent
	}
	all, err := read(ctx, c)
	if err != nil {
		return err
	}
	var total float64
	for _, t := range all {
		total += t.mem
	}
	dst.Add(Sample{Name: "erlang_vm_ets_tables", Help: "ETS tables.", Value: float64(len(all))})
	dst.Add(Sample{Name: "erlang_vm_ets_memory_bytes", Help: "Memory of all ETS tables.", Value: total})
	// Ties by name: tables of equal memory (small ones often are) would
	// otherwise swap places in the top from round to round, ending and
	// starting series.
	sort.Slice(all, func(i, j int) bool {
		if all[i].mem != all[j].mem {
			return all[i].mem > all[j].mem
		}
		return all[i].name < all[j].name
	})
	for i, t := range all {
		if i == e.top {
			break
		}
		lbl := []Label{{"table", t.name}}
		dst.Add(Sample{Name: "erlang_vm_ets_table_memory_bytes", Help: "Memory of the largest ETS tables.", Labels: lbl, Value: t.mem})
		dst.Add(Sample{Name: "erlang_vm_ets_table_size", Help: "Objects in the largest ETS tables.", Labels: lbl, Value: t.size})
	}
	return nil
}

// etsByAgent reads every table with beamctl_agent:ets_stats/0.
func etsByAgent(ctx context.Context, c Conn) ([]etsTable, error) {
	r, err := c.Call(ctx, agentModule, "ets_stats")
	if err != nil {
		return nil, err
	}
	t, err := etf.ToTuple(r, 2)
	if err != nil {
		return nil, fmt.Errorf("beamctl_agent:ets_stats(): %w", err)
	}
	word, _ := num(t[0])
	tabs, err := etf.ToList(t[1])
	if err != nil {
		return nil, fmt.Errorf("beamctl_agent:ets_stats(): %w", err)
	}
	all := make([]etsTable, 0, len(tabs))
	for _, x := range tabs {
		nsm, err := etf.ToTuple(x, 3)
		if err != nil {
			continue
		}
		n, ok := nsm[0].(etf.Atom)
		if !ok {
			continue
		}
		s, _ := num(nsm[1])
		m, _ := num(nsm[2])
		all = append(all, etsTable{name: string(n), size: s, mem: m * word})
	}
	return all, nil
}

// etsByCalls reads every table with ets:all/0, then ets:info/2.
func etsByCalls(ctx context.Context, c Conn) ([]etsTable, error) {
	r, err := CallAll(ctx, c, MFA{"erlang", "system_info", etf.List{etf.Atom("wordsize")}}, MFA{"ets", "all", nil})
	if err != nil {
		return nil, err
	}
	word, _ := num(r[0])
	tabs, err := etf.ToList(r[1])
	if err != nil {
		return nil, err
	}
	info, err := itemCall(ctx, c, "ets", "info", tabs, []etf.Atom{"name", "size", "memory"})
	if err != nil {
		return nil, err
	}
	all := make([]etsTable, 0, len(tabs))
	for i := range tabs {
		n, ok := info[0][i].(etf.Atom) // undefined if deleted meanwhile
		if !ok || n == etf.Undefined {
			continue
		}
		s, _ := num(info[1][i])
		m, _ := num(info[2][i])
		all = append(all, etsTable{name: string(n), size: s, mem: m * word})
	}
	return all, nil
}
