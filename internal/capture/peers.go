package capture

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/termtext"
)

// startPeerWatch is evaluated on the node with erl_eval. It spawns a
// process that subscribes to the node's own connection events
// (net_kernel:monitor_nodes/2 with {node_type, all}: visible and hidden
// nodes, with the reason of a disconnection) and sends each one to Dest
// with nosuspend and noconnect: {beamctl_peer, up | down, Node, Type,
// Reason}. The connection of Dest's own node (the watching server) is
// left out. The subscription belongs to the process, so two servers each
// have their own, and it ends with the process: when Dest's node
// disconnects or it is sent stop. The subscription is made before the
// eval returns (at most 5 seconds).
const startPeerWatch = `
Opts = [{node_type, all}, nodedown_reason],
Self = self(),
Own = node(Dest),
Loop = fun Loop() ->
    receive
        {Ev, N, Info} when (Ev =:= nodeup orelse Ev =:= nodedown), N =/= Own ->
            Type = proplists:get_value(node_type, Info, unknown),
            Reason = proplists:get_value(nodedown_reason, Info, undefined),
            Dir = case Ev of nodeup -> up; nodedown -> down end,
            case erlang:send(Dest, {beamctl_peer, Dir, N, Type, Reason}, [nosuspend, noconnect]) of
                noconnect -> net_kernel:monitor_nodes(false, Opts);
                _ -> Loop()
            end;
        {'DOWN', _, _, _, _} -> net_kernel:monitor_nodes(false, Opts);
        stop -> net_kernel:monitor_nodes(false, Opts);
        _ -> Loop()
    end
end,
P = spawn(fun() ->
              erlang:monitor(process, Dest),
              R = net_kernel:monitor_nodes(true, Opts),
              Self ! {self(), R},
              case R of ok -> Loop(); _ -> ok end
          end),
receive
    {P, ok} -> P;
    {P, Err} -> Err
after 5000 -> exit(P, kill), {error, timeout}
end.
`

// PeerWatch records the nodes that connect to and disconnect from one
// node, from the node's own events (not by polling); Stop ends it.
type PeerWatch struct{ *forwarder }

// WatchPeers starts recording the node's connections.
func WatchPeers(ctx context.Context, c *dist.Conn) (*PeerWatch, error) {
	f, other, err := spawnForwarder(ctx, c, 1000, startPeerWatch, nil)
	switch {
	case err != nil:
		return nil, fmt.Errorf("watch the connections of %s: %w", c.Node(), err)
	case f == nil:
		return nil, fmt.Errorf("watch the connections of %s: %s", c.Node(), termtext.Format(other))
	}
	return &PeerWatch{f}, nil
}

// Pid is the watching process on the node.
func (w *PeerWatch) Pid() etf.Pid { return w.pid }

// Events delivers the connections and disconnections as notifications
// (without cluster), kinds peer_connected and peer_disconnected, until
// ctx ends or the connection closes.
func (w *PeerWatch) Events(ctx context.Context) <-chan journal.Notification {
	node := w.conn.Node()
	return pump(ctx, w.conn, w.mb, func(msg etf.Term) (journal.Notification, bool) {
		t, err := etf.ToTuple(msg, 5)
		if err != nil || t[0] != etf.Atom("beamctl_peer") {
			return journal.Notification{}, false
		}
		dir, _ := t[1].(etf.Atom)
		peer, _ := t[2].(etf.Atom)
		typ, _ := t[3].(etf.Atom)
		n := journal.Notification{Time: time.Now(), Node: node, Severity: journal.Info,
			Fields: map[string]string{"peer": string(peer), "peer_type": string(typ)}}
		switch dir {
		case "up":
			n.Kind = "peer_connected"
			n.Text = fmt.Sprintf("%s node %s connected to %s.", capitalized(string(typ)), peer, node)
		case "down":
			reason := termtext.FormatWith(t[4], termtext.Options{LocalNode: etf.Atom(node)})
			n.Kind = "peer_disconnected"
			n.Fields["reason"] = reason
			n.Text = fmt.Sprintf("%s node %s disconnected from %s: %s.", capitalized(string(typ)), peer, node, reason)
		default:
			return journal.Notification{}, false
		}
		return n, true
	})
}

func capitalized(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
