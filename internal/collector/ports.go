package collector

import (
	"context"
	"sort"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
)

func init() { registerCollector("ports", true, func() Collector { return portsCollector{} }) }

// portsCollector counts ports by driver (tcp_inet, udp_inet, efile, spawn
// ...), and their queued output. Two round trips.
type portsCollector struct{}

func (portsCollector) Update(ctx context.Context, c *dist.Conn, ch chan<- Sample) error {
	r, err := c.Call(ctx, "erlang", "ports")
	if err != nil {
		return err
	}
	ports, err := etf.ToList(r)
	if err != nil {
		return err
	}
	infos, err := mapCall(ctx, c, "erlang", "port_info", ports)
	if err != nil {
		return err
	}
	count := map[string]float64{}
	queue := map[string]float64{}
	for _, info := range infos {
		name, ok := etf.PropGet(info, etf.Atom("name"))
		if !ok {
			continue // closed meanwhile
		}
		n, _ := etf.ToString(name)
		count[n]++
		if q, ok := etf.PropGet(info, etf.Atom("queue_size")); ok {
			v, _ := num(q)
			queue[n] += v
		}
	}
	types := make([]string, 0, len(count))
	for t := range count {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		ch <- Sample{Name: "erlang_vm_ports", Help: "Open ports by driver.", Labels: []Label{{"driver", t}}, Value: count[t]}
		ch <- Sample{Name: "erlang_vm_port_queue_bytes", Help: "Output queued in ports, by driver.", Labels: []Label{{"driver", t}}, Value: queue[t]}
	}
	return nil
}
