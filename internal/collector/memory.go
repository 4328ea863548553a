package collector

import (
	"context"
	"fmt"

	"github.com/beamctl/beamctl/internal/etf"
)

func init() { registerCollector("memory", true, func() Collector { return memoryCollector{} }) }

// memoryCollector reports erlang:memory(), every kind.
type memoryCollector struct{}

func (memoryCollector) Update(ctx context.Context, c Conn, dst *Samples) error {
	r, err := c.Call(ctx, "erlang", "memory")
	if err != nil {
		return err
	}
	l, err := etf.ToList(r)
	if err != nil {
		return fmt.Errorf("erlang:memory(): %w", err)
	}
	for _, e := range l {
		t, err := etf.ToTuple(e, 2)
		if err != nil {
			return fmt.Errorf("erlang:memory(): %w", err)
		}
		kind, _ := etf.ToAtom(t[0])
		v, ok := num(t[1])
		if !ok {
			continue
		}
		dst.Add(Sample{Name: "erlang_vm_memory_bytes", Help: "Memory the VM uses, per erlang:memory/0 kind.",
			Labels: []Label{{"kind", string(kind)}}, Value: v})
	}
	return nil
}
