package collector

import (
	"context"
	"fmt"
	"sort"

	"github.com/beamctl/beamctl/internal/etf"
)

func init() { registerCollector("ports", true, func() Collector { return portsCollector{} }) }

// portScanLimit bounds the ports one round counts (the agent's scan).
const portScanLimit = 1_000_000

// portsCollector counts ports by driver (tcp_inet, udp_inet, efile, spawn
// ...), their queued output, and how many have output queued: a socket
// whose output stays queued has a peer (or a network) that does not take
// it, and its gen_tcp senders block at the high watermark without any
// busy_port event. With beamctl_agent the node counts (one round trip, a
// reply the size of the driver list); without it, the port list and two
// port_info items a port come to beamctl (two round trips, a reply that
// grows with the ports).
type portsCollector struct{}

// driverPorts is one driver's counts.
type driverPorts struct{ count, queue, queued float64 }

func (portsCollector) Update(ctx context.Context, c Conn, dst *Samples) error {
	var by map[string]*driverPorts
	var err error
	if agentLoaded(c) {
		by, err = portsOnNode(ctx, c)
	} else {
		by, err = portsListed(ctx, c)
	}
	if err != nil {
		return err
	}
	types := make([]string, 0, len(by))
	for t := range by {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		d := by[t]
		dst.Add(Sample{Name: "erlang_vm_ports_by_driver", Help: "Open ports by driver.", Labels: []Label{{"driver", t}}, Value: d.count})
		dst.Add(Sample{Name: "erlang_vm_port_queue_bytes", Help: "Output queued in ports, by driver.", Labels: []Label{{"driver", t}}, Value: d.queue})
		dst.Add(Sample{Name: "erlang_vm_ports_with_queued_output", Help: "Ports with output queued in the VM, by driver.", Labels: []Label{{"driver", t}}, Value: d.queued})
	}
	return nil
}

// portsOnNode reads beamctl_agent:ports/1's counts.
func portsOnNode(ctx context.Context, c Conn) (map[string]*driverPorts, error) {
	r, err := c.Call(ctx, agentModule, "ports", int64(portScanLimit))
	if err != nil {
		return nil, err
	}
	t, err := etf.ToTuple(r, 2)
	if err != nil {
		return nil, fmt.Errorf("beamctl_agent:ports: %w", err)
	}
	l, err := etf.ToList(t[1])
	if err != nil {
		return nil, fmt.Errorf("beamctl_agent:ports: %w", err)
	}
	by := make(map[string]*driverPorts, len(l))
	for _, e := range l {
		d, err := etf.ToTuple(e, 4)
		if err != nil {
			return nil, fmt.Errorf("beamctl_agent:ports: %w", err)
		}
		name, err := etf.ToString(d[0])
		if err != nil {
			return nil, fmt.Errorf("beamctl_agent:ports: driver name: %w", err)
		}
		count, _ := num(d[1])
		queue, _ := num(d[2])
		queued, _ := num(d[3])
		by[name] = &driverPorts{count: count, queue: queue, queued: queued}
	}
	return by, nil
}

// portsListed lists the ports and counts them here (no agent).
func portsListed(ctx context.Context, c Conn) (map[string]*driverPorts, error) {
	r, err := c.Call(ctx, "erlang", "ports")
	if err != nil {
		return nil, err
	}
	ports, err := etf.ToList(r)
	if err != nil {
		return nil, err
	}
	info, err := itemCall(ctx, c, "erlang", "port_info", ports, []etf.Atom{"name", "queue_size"})
	if err != nil {
		return nil, err
	}
	by := map[string]*driverPorts{}
	for i := range ports {
		t, err := etf.ToTuple(info[0][i], 2) // {name, Name}, or undefined if closed meanwhile
		if err != nil {
			continue
		}
		n, _ := etf.ToString(t[1])
		d := by[n]
		if d == nil {
			d = &driverPorts{}
			by[n] = d
		}
		d.count++
		if q, err := etf.ToTuple(info[1][i], 2); err == nil {
			v, _ := num(q[1])
			d.queue += v
			if v > 0 {
				d.queued++
			}
		}
	}
	return by, nil
}
