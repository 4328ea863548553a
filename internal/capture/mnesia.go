package capture

import (
	"context"
	"fmt"
	"time"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/termtext"
)

// subscribeMnesia is evaluated on the node with erl_eval when mnesia runs:
// a small process subscribes to mnesia's system events and forwards the
// ones an operator must see (inconsistent_database, mnesia_overload,
// mnesia_fatal, mnesia_down) to Dest with nosuspend and noconnect. It
// unsubscribes and ends when Dest's node disconnects or it is sent stop.
const subscribeMnesia = `
case mnesia:system_info(is_running) of
    yes ->
        Loop = fun Loop(MRef) ->
            receive
                {mnesia_system_event, {Kind, _, _} = E} when Kind =:= inconsistent_database ->
                    erlang:send(Dest, {beamctl_mnesia, Kind, E}, [nosuspend, noconnect]), Loop(MRef);
                {mnesia_system_event, {Kind, _} = E} when Kind =:= mnesia_overload; Kind =:= mnesia_down ->
                    erlang:send(Dest, {beamctl_mnesia, Kind, E}, [nosuspend, noconnect]), Loop(MRef);
                {mnesia_system_event, {mnesia_fatal, _, _, _} = E} ->
                    erlang:send(Dest, {beamctl_mnesia, mnesia_fatal, E}, [nosuspend, noconnect]), Loop(MRef);
                {'DOWN', MRef, _, _, _} -> mnesia:unsubscribe(system);
                stop -> mnesia:unsubscribe(system);
                _ -> Loop(MRef)
            end
        end,
        Self = self(),
        Pid = spawn(fun() ->
                        R = mnesia:subscribe(system),
                        Self ! {self(), R},
                        Loop(erlang:monitor(process, Dest))
                    end),
        receive {Pid, {ok, _}} -> Pid; {Pid, E} -> E after 5000 -> timeout end;
    _ -> not_running
end.
`

// MnesiaWatcher forwards one node's mnesia system events; Stop
// unsubscribes.
type MnesiaWatcher struct{ *forwarder }

// WatchMnesia subscribes to the node's mnesia system events; it returns
// nil when mnesia does not run there.
func WatchMnesia(ctx context.Context, c *dist.Conn) (*MnesiaWatcher, error) {
	f, other, err := spawnForwarder(ctx, c, 100, subscribeMnesia, nil)
	switch {
	case err != nil:
		return nil, fmt.Errorf("watch mnesia on %s: %w", c.Node(), err)
	case other == etf.Atom("not_running"):
		return nil, nil
	case f == nil:
		return nil, fmt.Errorf("watch mnesia on %s: %s", c.Node(), termtext.Format(other))
	}
	return &MnesiaWatcher{f}, nil
}

// Events delivers the events as notifications (without cluster).
func (w *MnesiaWatcher) Events(ctx context.Context) <-chan journal.Notification {
	node := w.conn.Node()
	local := termtext.Options{LocalNode: etf.Atom(node)}
	return pump(ctx, w.conn, w.mb, func(msg etf.Term) (journal.Notification, bool) {
		t, err := etf.ToTuple(msg, 3)
		if err != nil || t[0] != etf.Atom("beamctl_mnesia") {
			return journal.Notification{}, false
		}
		kind, _ := t[1].(etf.Atom)
		event := termtext.FormatWith(t[2], local)
		n := journal.Notification{Time: time.Now(), Node: node, Kind: "mnesia_" + string(kind), Severity: journal.Warning,
			Text: fmt.Sprintf("mnesia on %s: %s", node, event), Fields: map[string]string{"event": event}}
		switch kind {
		case "inconsistent_database", "mnesia_fatal":
			n.Severity = journal.Critical
		case "mnesia_overload":
			n.Kind = "mnesia_overload"
		case "mnesia_down":
			n.Kind, n.Severity = "mnesia_down", journal.Error
		}
		if kind == "mnesia_fatal" {
			n.Kind = "mnesia_fatal"
		}
		return n, true
	})
}
