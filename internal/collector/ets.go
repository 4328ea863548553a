package collector

import (
	"context"
	"sort"

	"github.com/beamctl/beamctl/internal/etf"
)

func init() { registerCollector("ets", true, func() Collector { return etsCollector{top: 10} }) }

// etsCollector reports the number of ETS tables, their total memory, and the
// size and memory of the largest ones: ets:all/0, then ets:info/2 of name,
// size and memory of every table in one round trip (tables are bounded by
// the ETS limit): two round trips, the word size asked with ets:all/0.
type etsCollector struct {
	top int
}

func (e etsCollector) Update(ctx context.Context, c Conn, dst *Samples) error {
	r, err := callAll(ctx, c, mfa{"erlang", "system_info", etf.List{etf.Atom("wordsize")}}, mfa{"ets", "all", nil})
	if err != nil {
		return err
	}
	word, _ := num(r[0])
	tabs, err := etf.ToList(r[1])
	if err != nil {
		return err
	}
	info, err := itemCall(ctx, c, "ets", "info", tabs, []etf.Atom{"name", "size", "memory"})
	if err != nil {
		return err
	}
	type table struct {
		name      string
		size, mem float64
	}
	var all []table
	var total float64
	for i := range tabs {
		n, ok := info[0][i].(etf.Atom) // undefined if deleted meanwhile
		if !ok || n == etf.Undefined {
			continue
		}
		s, _ := num(info[1][i])
		m, _ := num(info[2][i])
		all = append(all, table{name: string(n), size: s, mem: m * word})
		total += m * word
	}
	dst.Add(Sample{Name: "erlang_vm_ets_tables", Help: "ETS tables.", Value: float64(len(all))})
	dst.Add(Sample{Name: "erlang_vm_ets_memory_bytes", Help: "Memory of all ETS tables.", Value: total})
	sort.Slice(all, func(i, j int) bool { return all[i].mem > all[j].mem })
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
