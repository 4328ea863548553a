package collector

import (
	"context"
	"fmt"

	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/termtext"
)

func init() { registerCollector("dist", true, func() Collector { return distCollector{} }) }

// distCollector reports every distribution connection of the node: state,
// type, messages in and out (net_kernel:nodes_info/0), and bytes and
// packets of TCP connections (inet:getstat/1 of the dist ports). With the
// agent one round trip (beamctl_agent:dist_stats/0); without it two:
// nodes_info/0 with the connections' controllers, then getstat.
type distCollector struct{}

func (distCollector) Update(ctx context.Context, c Conn, dst *Samples) error {
	read := distByCalls
	if agentLoaded(c) {
		read = distByAgent
	}
	both, stats, err := read(ctx, c)
	if err != nil {
		return err
	}
	info, err := etf.ToTuple(both[0], 2)
	if err != nil || info[0] != etf.OK {
		return fmt.Errorf("net_kernel:nodes_info(): unexpected reply")
	}
	peers, _ := etf.ToList(info[1])
	for _, p := range peers {
		t, err := etf.ToTuple(p, 2)
		if err != nil {
			continue
		}
		peer, _ := etf.ToAtom(t[0])
		state, _ := etf.PropGet(t[1], etf.Atom("state"))
		typ, _ := etf.PropGet(t[1], etf.Atom("type"))
		lbl := []Label{{"peer", string(peer)}}
		st, _ := etf.ToAtom(state)
		ty, _ := etf.ToAtom(typ)
		dst.Add(Sample{Name: "erlang_vm_dist_connection_info", Help: "A distribution connection (value 1), with its state and type.",
			Labels: append(lbl, Label{"state", string(st)}, Label{"type", string(ty)}), Value: 1})
		if in, ok := etf.PropGet(t[1], etf.Atom("in")); ok {
			v, _ := num(in)
			dst.Add(Sample{Name: "erlang_vm_dist_messages_received_total", Help: "Messages received from a peer.", Type: Counter, Labels: lbl, Value: v})
		}
		if out, ok := etf.PropGet(t[1], etf.Atom("out")); ok {
			v, _ := num(out)
			dst.Add(Sample{Name: "erlang_vm_dist_messages_sent_total", Help: "Messages sent to a peer.", Type: Counter, Labels: lbl, Value: v})
		}
	}

	ctrl, _ := etf.ToList(both[1])
	var ports []etf.Term
	var names []string
	for _, e := range ctrl {
		t, err := etf.ToTuple(e, 2)
		if err != nil {
			continue
		}
		if _, ok := t[1].(etf.Port); ok { // TLS distribution uses processes: no getstat
			n, _ := etf.ToAtom(t[0])
			ports, names = append(ports, t[1]), append(names, string(n))
		}
	}
	dst.Add(Sample{Name: "erlang_vm_dist_connections", Help: "Distribution connections.", Value: float64(len(ctrl))})
	// Each connection's controller (a port, or a process for TLS) is new
	// when the connection is set up again: one series per connection, so
	// that reconnections can be counted.
	local := termtext.Options{LocalNode: etf.Atom(c.Node())}
	for _, e := range ctrl {
		if t, err := etf.ToTuple(e, 2); err == nil {
			n, _ := etf.ToAtom(t[0])
			dst.Add(Sample{Name: "erlang_vm_dist_connection_controller_info", Help: "The controller of a distribution connection (value 1); a new one is a new connection.",
				Labels: []Label{{"peer", string(n)}, {"controller", termtext.FormatWith(t[1], local)}}, Value: 1})
		}
	}
	if len(ports) == 0 {
		return nil
	}
	if stats == nil {
		if stats, err = mapCall(ctx, c, "inet", "getstat", ports); err != nil {
			return err
		}
	}
	if len(stats) != len(ports) {
		return fmt.Errorf("dist: %d getstat results for %d connections", len(stats), len(ports))
	}
	for i, s := range stats {
		t, err := etf.ToTuple(s, 2)
		if err != nil || t[0] != etf.OK {
			continue // the connection went away meanwhile
		}
		lbl := []Label{{"peer", names[i]}}
		for _, m := range []struct{ key, name, help string }{
			{"recv_oct", "erlang_vm_dist_recv_bytes_total", "Bytes received over a distribution connection."},
			{"send_oct", "erlang_vm_dist_send_bytes_total", "Bytes sent over a distribution connection."},
			{"recv_cnt", "erlang_vm_dist_recv_packets_total", "Packets received over a distribution connection."},
			{"send_cnt", "erlang_vm_dist_send_packets_total", "Packets sent over a distribution connection."},
		} {
			if v, ok := etf.PropGet(t[1], etf.Atom(m.key)); ok {
				f, _ := num(v)
				dst.Add(Sample{Name: m.name, Help: m.help, Type: Counter, Labels: lbl, Value: f})
			}
		}
		if v, ok := etf.PropGet(t[1], etf.Atom("send_pend")); ok {
			f, _ := num(v)
			dst.Add(Sample{Name: "erlang_vm_dist_send_pending_bytes", Help: "Bytes waiting to be sent to a peer (the dist buffer).", Labels: lbl, Value: f})
		}
	}
	return nil
}

// distByAgent reads nodes_info/0, the connections' controllers and every
// port controller's getstat in one call (beamctl_agent:dist_stats/0).
func distByAgent(ctx context.Context, c Conn) (both, stats []etf.Term, err error) {
	r, err := c.Call(ctx, agentModule, "dist_stats")
	if err != nil {
		return nil, nil, err
	}
	t, err := etf.ToTuple(r, 3)
	if err != nil {
		return nil, nil, fmt.Errorf("beamctl_agent:dist_stats(): %w", err)
	}
	if stats, err = etf.ToList(t[2]); err != nil {
		return nil, nil, fmt.Errorf("beamctl_agent:dist_stats(): %w", err)
	}
	if stats == nil {
		stats = etf.List{} // read, and empty: not nil, which would read them again
	}
	return t[:2], stats, nil
}

// distByCalls reads nodes_info/0 with the connections' controllers; the
// getstat of each is left to Update (stats nil), a second round trip.
func distByCalls(ctx context.Context, c Conn) (both, stats []etf.Term, err error) {
	both, err = CallAll(ctx, c, MFA{"net_kernel", "nodes_info", nil}, MFA{"erlang", "system_info", etf.List{etf.Atom("dist_ctrl")}})
	return both, nil, err
}
