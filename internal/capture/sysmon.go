package capture

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/termtext"
)

// startSysmon is evaluated on the node with erl_eval. It spawns a small
// interpreted process that takes the node's one system_monitor slot (only
// if free, unless Steal), counts every event by kind and sends the counts
// to Dest every 5 seconds; with Record it also forwards the events, at
// most 100 a second (the rest are only counted). Sends use nosuspend and
// noconnect, so a slow or gone beamctl never blocks it. It gives the slot
// back (to its previous owner if that one still lives) when Dest's node
// disconnects or it is sent stop. A busy_dist_port event on beamctl's own
// connection (its rpc replies waiting on a small +zdbbl buffer) is counted
// apart, as busy_dist_port_to_beamctl: it suspends only beamctl's work,
// and must not raise the node's busy_dist_port alarm.
const startSysmon = `
Prev = erlang:system_monitor(),
case Prev of
    {Owner, _} when not Steal -> {taken, Owner, erlang:process_info(Owner, registered_name)};
    _ ->
        Release = fun() ->
            Me = self(),
            case {erlang:system_monitor(), Prev} of
                {{Me, _}, {PrevOwner, PrevOpts}} ->
                    case is_process_alive(PrevOwner) of
                        true -> erlang:system_monitor(PrevOwner, PrevOpts);
                        false -> erlang:system_monitor(undefined)
                    end;
                {{Me, _}, _} -> erlang:system_monitor(undefined);
                _ -> ok
            end
        end,
        Loop = fun Loop(Counts, Window) ->
            receive
                {monitor, Who, Event0, Info} ->
                    Event = case Event0 =:= busy_dist_port andalso lists:keyfind(Info, 2, erlang:system_info(dist_ctrl)) of
                                {ToNode, _} when ToNode =:= node(Dest) -> busy_dist_port_to_beamctl;
                                _ -> Event0
                            end,
                    C2 = maps:update_with(Event, fun(V) -> V + 1 end, 1, Counts),
                    Sec = erlang:monotonic_time(second),
                    W2 = case Window of {Sec, N} -> {Sec, N + 1}; _ -> {Sec, 1} end,
                    case Record andalso element(2, W2) =< 100 of
                        true ->
                            Name = case is_pid(Who) andalso erlang:process_info(Who, registered_name) of
                                       {registered_name, Nm} -> Nm;
                                       _ -> undefined
                                   end,
                            erlang:send(Dest, {beamctl_sysmon, Event, Who, Name, Info}, [nosuspend, noconnect]);
                        false -> ok
                    end,
                    Loop(C2, W2);
                report ->
                    case erlang:send(Dest, {beamctl_sysmon_counts, Counts}, [nosuspend, noconnect]) of
                        noconnect -> Release();
                        _ -> erlang:send_after(5000, self(), report), Loop(Counts, Window)
                    end;
                {'DOWN', _, _, _, _} -> Release();
                stop -> Release()
            end
        end,
        Self = self(),
        P = spawn(fun() ->
                      % system_monitor/2 swaps: if another process took
                      % the slot since Prev was read, it gets it back.
                      case erlang:system_monitor(self(), Opts) of
                          {Other, OtherOpts} when Prev =:= undefined; element(1, Prev) =/= Other ->
                              erlang:system_monitor(Other, OtherOpts),
                              Self ! {self(), {taken, Other, erlang:process_info(Other, registered_name)}};
                          _ ->
                              Self ! {self(), ok},
                              erlang:monitor(process, Dest),
                              self() ! report,
                              Loop(#{}, {0, 0})
                      end
                  end),
        receive
            {P, ok} -> P;
            {P, Taken} -> Taken
        after 5000 -> exit(P, kill), {error, timeout}
        end
end.
`

// SysmonOptions are the system_monitor thresholds.
type SysmonOptions struct {
	LongGC, LongSchedule time.Duration
	LargeHeapWords       int64
	// Record forwards the events (at most 100 a second) besides counting.
	Record bool
	// Steal takes the slot even if another process owns it.
	Steal bool
}

// DefaultSysmon are the thresholds beamctl uses unless configured.
var DefaultSysmon = SysmonOptions{LongGC: 100 * time.Millisecond, LongSchedule: 100 * time.Millisecond, LargeHeapWords: 8 << 20}

// TakenError says another process owns the node's system_monitor.
type TakenError struct{ Owner string }

func (e *TakenError) Error() string {
	return fmt.Sprintf("system_monitor is owned by %s; beamctl leaves it alone (configure system_monitor_steal to take it)", e.Owner)
}

// Sysmon is beamctl's system_monitor process on one node; Stop gives the
// slot back. Another process that takes the slot (with
// erlang:system_monitor/2) is not fought: Holds says so, and the caller
// stops this one and waits for the slot to be free again.
type Sysmon struct {
	*forwarder

	mu     sync.Mutex
	counts map[string]float64
}

// StartSysmon spawns the monitor process on the node. It returns a
// *TakenError if another process has the slot and o.Steal is false.
func StartSysmon(ctx context.Context, c *dist.Conn, o SysmonOptions) (*Sysmon, error) {
	opts := etf.List{etf.Atom("busy_port"), etf.Atom("busy_dist_port"),
		etf.Tuple{etf.Atom("long_gc"), o.LongGC.Milliseconds()},
		etf.Tuple{etf.Atom("long_schedule"), o.LongSchedule.Milliseconds()},
		etf.Tuple{etf.Atom("large_heap"), o.LargeHeapWords}}
	f, other, err := spawnForwarder(ctx, c, 1000, startSysmon, map[string]etf.Term{
		"Opts": opts, "Record": atomBool(o.Record), "Steal": atomBool(o.Steal),
	})
	if err != nil {
		return nil, fmt.Errorf("start system_monitor on %s: %w", c.Node(), err)
	}
	if f == nil {
		if t, err := etf.ToTuple(other, 3); err == nil && t[0] == etf.Atom("taken") {
			owner := termtext.FormatWith(t[1], termtext.Options{LocalNode: etf.Atom(c.Node())})
			if name, err := etf.ToTuple(t[2], 2); err == nil {
				owner += " (" + termtext.Format(name[1]) + ")"
			}
			return nil, &TakenError{Owner: owner}
		}
		return nil, fmt.Errorf("start system_monitor on %s: unexpected %v", c.Node(), other)
	}
	// Every kind counted from zero, so that the first event is an increase
	// (rate() ignores a counter's first sample).
	return &Sysmon{forwarder: f, counts: map[string]float64{
		"long_gc": 0, "long_schedule": 0, "large_heap": 0, "busy_port": 0, "busy_dist_port": 0, "busy_dist_port_to_beamctl": 0}}, nil
}

// Holds reports whether this monitor still owns the node's
// system_monitor slot (erlang:system_monitor/0, one call).
func (s *Sysmon) Holds(ctx context.Context) (bool, error) { return s.HoldsVia(ctx, s.conn) }

// HoldsCheck is Holds' call.
func (s *Sysmon) HoldsCheck() Check { return Check{Module: "erlang", Function: "system_monitor"} }

// HoldsVia is Holds with its call made through c (which may answer it
// from a round trip shared with other checks).
func (s *Sysmon) HoldsVia(ctx context.Context, c Caller) (bool, error) {
	ck := s.HoldsCheck()
	r, err := c.Call(ctx, ck.Module, ck.Function, ck.Args...)
	if err != nil {
		return false, fmt.Errorf("read system_monitor on %s: %w", s.conn.Node(), err)
	}
	t, err := etf.ToTuple(r, 2)
	return err == nil && etf.Equal(t[0], s.pid), nil
}

// IsTaken reports whether err is a *TakenError.
func IsTaken(err error) bool {
	var t *TakenError
	return errors.As(err, &t)
}

// Counts are the events counted since the monitor started, by kind.
func (s *Sysmon) Counts() map[string]float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]float64, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// Events delivers the forwarded events as notifications (without cluster)
// and keeps the counts, until ctx ends or the connection closes.
func (s *Sysmon) Events(ctx context.Context) <-chan journal.Notification {
	node := s.conn.Node()
	local := termtext.Options{LocalNode: etf.Atom(node)}
	return pump(ctx, s.conn, s.mb, func(msg etf.Term) (journal.Notification, bool) {
		t, err := etf.ToTuple(msg, -1)
		switch {
		case err != nil || len(t) == 0:
		case t[0] == etf.Atom("beamctl_sysmon_counts") && len(t) == 2:
			if cm, ok := t[1].(etf.Map); ok {
				s.mu.Lock()
				for _, kv := range cm {
					k, _ := kv.Key.(etf.Atom)
					v, _ := etf.ToFloat64(kv.Value)
					s.counts[string(k)] = v
				}
				s.mu.Unlock()
			}
		case t[0] == etf.Atom("beamctl_sysmon") && len(t) == 5:
			event, _ := t[1].(etf.Atom)
			who := termtext.FormatWith(t[2], local)
			n := journal.Notification{Time: time.Now(), Node: node, Kind: "sysmon_" + string(event), Severity: journal.Warning,
				Fields: map[string]string{"event": string(event), "who": who, "info": termtext.FormatWith(t[4], local)}}
			if name, ok := t[3].(etf.Atom); ok && name != "undefined" {
				n.Fields["name"] = string(name)
				who += " (" + string(name) + ")"
			}
			n.Text = fmt.Sprintf("%s on %s: %s %s.", event, node, who, n.Fields["info"])
			return n, true
		}
		return journal.Notification{}, false
	})
}

func atomBool(b bool) etf.Atom {
	if b {
		return etf.True
	}
	return etf.False
}
