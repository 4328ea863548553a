package collector

import (
	"context"
	"sort"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
)

func init() { registerCollector("ets", true, func() Collector { return etsCollector{top: 10} }) }

// etsCollector reports the number of ETS tables, their total memory, and the
// size and memory of the largest ones. ets:info/1 of every table comes back
// in one round trip (tables are bounded by the ETS limit).
type etsCollector struct {
	top int
}

func (e etsCollector) Update(ctx context.Context, c *dist.Conn, ch chan<- Sample) error {
	ws, err := c.Call(ctx, "erlang", "system_info", etf.Atom("wordsize"))
	if err != nil {
		return err
	}
	word, _ := num(ws)
	r, err := c.Call(ctx, "ets", "all")
	if err != nil {
		return err
	}
	tabs, err := etf.ToList(r)
	if err != nil {
		return err
	}
	infos, err := mapCall(ctx, c, "ets", "info", tabs)
	if err != nil {
		return err
	}
	type table struct {
		name      string
		size, mem float64
	}
	var all []table
	var total float64
	for _, info := range infos {
		name, ok := etf.PropGet(info, etf.Atom("name"))
		if !ok {
			continue // deleted meanwhile: ets:info/1 said undefined
		}
		n, _ := etf.ToAtom(name)
		sz, _ := etf.PropGet(info, etf.Atom("size"))
		mem, _ := etf.PropGet(info, etf.Atom("memory"))
		s, _ := num(sz)
		m, _ := num(mem)
		all = append(all, table{name: string(n), size: s, mem: m * word})
		total += m * word
	}
	ch <- Sample{Name: "erlang_vm_ets_tables", Help: "ETS tables.", Value: float64(len(all))}
	ch <- Sample{Name: "erlang_vm_ets_memory_bytes", Help: "Memory of all ETS tables.", Value: total}
	sort.Slice(all, func(i, j int) bool { return all[i].mem > all[j].mem })
	for i, t := range all {
		if i == e.top {
			break
		}
		lbl := []Label{{"table", t.name}}
		ch <- Sample{Name: "erlang_vm_ets_table_memory_bytes", Help: "Memory of the largest ETS tables.", Labels: lbl, Value: t.mem}
		ch <- Sample{Name: "erlang_vm_ets_table_size", Help: "Objects in the largest ETS tables.", Labels: lbl, Value: t.size}
	}
	return nil
}
