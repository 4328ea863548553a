package collector

import (
	"context"
	"fmt"
	"sort"

	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/termtext"
)

func init() { registerCollector("allocators", true, func() Collector { return allocatorsCollector{} }) }

// allocatorsCollector reports, per alloc_util allocator type (summed over
// its instances), the bytes of carriers the VM holds and of blocks in use
// in them, and the block count: erl_alloc's view, where carriers much larger
// than blocks is fragmentation. It needs beamctl_agent (alloc/0), which
// reduces the large erlang:system_info({allocator, T}) on the node.
type allocatorsCollector struct{}

func (allocatorsCollector) Update(ctx context.Context, c Conn, dst *Samples) error {
	if !agentLoaded(c) {
		return fmt.Errorf("%w: the allocator summary needs beamctl_agent (agent: false)", ErrNoData)
	}
	r, err := c.Call(ctx, agentModule, "alloc")
	if err != nil {
		return err
	}
	l, err := etf.ToList(r)
	if err != nil {
		return fmt.Errorf("beamctl_agent:alloc: %w", err)
	}
	sums := map[string]*[3]float64{}
	for _, e := range l {
		t, err := etf.ToTuple(e, 6) // {Type, Instance, Strategy, Carriers, Blocks, Count}
		if err != nil {
			return fmt.Errorf("beamctl_agent:alloc: %w", err)
		}
		typ, ok := t[0].(etf.Atom)
		if !ok {
			return fmt.Errorf("beamctl_agent:alloc: allocator type %s", termtext.Format(t[0]))
		}
		if sums[string(typ)] == nil {
			sums[string(typ)] = &[3]float64{}
		}
		for i := range 3 {
			v, _ := num(t[3+i])
			sums[string(typ)][i] += v
		}
	}
	types := make([]string, 0, len(sums))
	for typ := range sums {
		types = append(types, typ)
	}
	sort.Strings(types)
	for _, typ := range types {
		s, lbl := sums[typ], []Label{{"alloc", typ}}
		dst.Add(Sample{Name: "erlang_vm_allocator_carriers_bytes", Help: "Bytes of carriers an allocator type holds from the OS.", Labels: lbl, Value: s[0]})
		dst.Add(Sample{Name: "erlang_vm_allocator_blocks_bytes", Help: "Bytes of blocks in use in an allocator type's carriers.", Labels: lbl, Value: s[1]})
		dst.Add(Sample{Name: "erlang_vm_allocator_blocks", Help: "Blocks in use in an allocator type.", Labels: lbl, Value: s[2]})
	}
	return nil
}
