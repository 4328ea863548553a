package collector

import (
	"context"
	"sort"

	"github.com/beamctl/beamctl/internal/etf"
)

func init() { registerCollector("ports", true, func() Collector { return portsCollector{} }) }

// portsCollector counts ports by driver (tcp_inet, udp_inet, efile, spawn
// ...), their queued output, and how many have output queued: a socket
// whose output stays queued has a peer (or a network) that does not take
// it, and its gen_tcp senders block at the high watermark without any
// busy_port event. Two round trips.
type portsCollector struct{}

func (portsCollector) Update(ctx context.Context, c Conn, ch chan<- Sample) error {
	r, err := c.Call(ctx, "erlang", "ports")
	if err != nil {
		return err
	}
	ports, err := etf.ToList(r)
	if err != nil {
		return err
	}
	info, err := itemCall(ctx, c, "erlang", "port_info", ports, []etf.Atom{"name", "queue_size"})
	if err != nil {
		return err
	}
	count := map[string]float64{}
	queue := map[string]float64{}
	queued := map[string]float64{} // ports with output waiting
	for i := range ports {
		t, err := etf.ToTuple(info[0][i], 2) // {name, Name}, or undefined if closed meanwhile
		if err != nil {
			continue
		}
		n, _ := etf.ToString(t[1])
		count[n]++
		if q, err := etf.ToTuple(info[1][i], 2); err == nil {
			v, _ := num(q[1])
			queue[n] += v
			if v > 0 {
				queued[n]++
			}
		}
	}
	types := make([]string, 0, len(count))
	for t := range count {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		ch <- Sample{Name: "erlang_vm_ports_by_driver", Help: "Open ports by driver.", Labels: []Label{{"driver", t}}, Value: count[t]}
		ch <- Sample{Name: "erlang_vm_port_queue_bytes", Help: "Output queued in ports, by driver.", Labels: []Label{{"driver", t}}, Value: queue[t]}
		ch <- Sample{Name: "erlang_vm_ports_with_queued_output", Help: "Ports with output queued in the VM, by driver.", Labels: []Label{{"driver", t}}, Value: queued[t]}
	}
	return nil
}
