package capture

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/termtext"
)

// installLogHandler is evaluated on the node with erl_eval (nothing is
// loaded). It spawns a forwarder process and adds a logger handler whose
// filter only hands each event to it, so the logging process pays for one
// message send, and at most Rate events a second are handed on (a flood
// costs the node little more than counting it): the forwarder formats the
// event (its lines kept, at most 4,096 characters) and sends it, with the
// event's small metadata (at most 32 keys, each value at most 256 words or
// a binary of 1 KiB; not the group leader, report callback or formatter:
// Elixir's Logger metadata such as user_id: 42 too), to Dest with
// nosuspend and noconnect, so that a slow or gone beamctl never blocks it.
// What is over the rate, cannot be queued (more than 1,000 events waiting)
// or cannot be sent is counted in Drops, whose total the forwarder sends
// every 5 seconds when it grew. When Dest's node disconnects the forwarder
// removes the handler and ends. The filter always returns stop, so
// logger_std_h itself never prints, and nothing here logs, so it cannot
// loop.
const installLogHandler = `
Drops = counters:new(1, []),
Window = atomics:new(2, []),
Skip = [gl, report_cb, logger_formatter],
Small = fun(V) when is_binary(V) -> byte_size(V) =< 1024;
           (V) -> erts_debug:flat_size(V) =< 256
        end,
Loop = fun Loop(MRef, Reported) ->
    receive
        {'DOWN', MRef, _, _, _} -> logger:remove_handler(Id);
        report ->
            D = counters:get(Drops, 1),
            D > Reported andalso erlang:send(Dest, {beamctl_log_drops, D}, [nosuspend, noconnect]),
            erlang:send_after(5000, self(), report),
            Loop(MRef, D);
        {beamctl_event, Event} ->
            try
                #{level := L, meta := M} = Event,
                Text = try unicode:characters_to_binary(logger_formatter:format(Event,
                               #{single_line => false, template => [msg], chars_limit => 4096, max_size => 4096}))
                       catch _:_ -> <<"(event not formattable)">> end,
                case erlang:send(Dest, {beamctl_log, L, maps:from_list(lists:sublist([KV || {K, V} = KV <- maps:to_list(M), is_atom(K), not lists:member(K, Skip), Small(V)], 32)), Text}, [nosuspend, noconnect]) of
                    ok -> ok;
                    _ -> counters:add(Drops, 1, 1)
                end
            catch _:_ -> counters:add(Drops, 1, 1)
            end,
            Loop(MRef, Reported);
        stop -> logger:remove_handler(Id)
    end
end,
Fwd = spawn(fun() -> self() ! report, Loop(erlang:monitor(process, Dest), 0) end),
Filter = fun(Event, _) ->
    Sec = erlang:monotonic_time(second),
    N = case atomics:get(Window, 1) of
            Sec -> atomics:add_get(Window, 2, 1);
            _ -> atomics:put(Window, 1, Sec), atomics:put(Window, 2, 1), 1
        end,
    case N =< Rate andalso erlang:process_info(Fwd, message_queue_len) of
        false -> counters:add(Drops, 1, 1);
        {message_queue_len, Q} when Q < 1000 -> Fwd ! {beamctl_event, Event};
        undefined -> spawn(logger, remove_handler, [Id]);
        _ -> counters:add(Drops, 1, 1)
    end,
    stop
end,
_ = logger:remove_handler(Id),
ok = logger:add_handler(Id, logger_std_h, #{level => Level, filter_default => log,
                                            filters => [{beamctl_forward, {Filter, []}}],
                                            config => #{type => standard_io}}),
{Fwd, Drops}.
`

// LogForwarder forwards one node's logger events to a mailbox while it
// runs.
type LogForwarder struct {
	conn *dist.Conn
	mb   *dist.Mailbox
	id   etf.Atom
	fwd  etf.Pid

	nodeDrops int64 // the node's drop total last reported (Events' goroutine only)
}

// NodeLogRate is how many log events a second a node forwards at most;
// the rest are counted there and reported as dropped.
const NodeLogRate = 200

// HandlerID is the logger handler id beamctl uses on nodes: one per
// beamctl node name, so two servers do not replace each other's handler.
func HandlerID(self string) etf.Atom {
	return etf.Atom("beamctl_" + strings.NewReplacer("@", "_", ".", "_", "-", "_").Replace(self))
}

// ForwardLogs installs (or replaces) the forwarding handler for events at
// level and above (emergency … debug, as logger's levels).
func ForwardLogs(ctx context.Context, c *dist.Conn, level string) (*LogForwarder, error) {
	switch level {
	case "emergency", "alert", "critical", "error", "warning", "notice", "info", "debug":
	default:
		return nil, fmt.Errorf("log level %q is not a logger level", level)
	}
	f := &LogForwarder{conn: c, mb: c.NewMailbox(10000), id: HandlerID(c.Self())}
	r, err := inspect.EvalWith(ctx, c, installLogHandler, map[string]etf.Term{
		"Dest": f.mb.Pid, "Id": f.id, "Level": etf.Atom(level), "Rate": int64(NodeLogRate),
	})
	if err != nil {
		c.CloseMailbox(f.mb)
		return nil, fmt.Errorf("install logger handler on %s: %w", c.Node(), err)
	}
	if t, err := etf.ToTuple(r, 2); err == nil {
		f.fwd, _ = t[0].(etf.Pid)
	}
	return f, nil
}

// Remove takes the handler away from the node, ends the forwarder and
// stops delivery.
func (f *LogForwarder) Remove(ctx context.Context) error {
	f.conn.CloseMailbox(f.mb)
	if _, err := f.conn.Call(ctx, "logger", "remove_handler", f.id); err != nil {
		return fmt.Errorf("remove logger handler from %s: %w", f.conn.Node(), err)
	}
	if err := f.conn.Send(ctx, f.fwd, etf.Atom("stop")); err != nil {
		return fmt.Errorf("stop the log forwarder on %s: %w", f.conn.Node(), err)
	}
	return nil
}

// Dropped counts events beamctl received but could not buffer.
func (f *LogForwarder) Dropped() uint64 { return f.mb.Dropped() }

// Events delivers the forwarded events as notifications (without cluster),
// until ctx ends or the connection closes; then the channel is closed.
func (f *LogForwarder) Events(ctx context.Context) <-chan journal.Notification {
	return pump(ctx, f.conn, f.mb, func(msg etf.Term) (journal.Notification, bool) {
		if n, ok := logNotification(f.conn.Node(), msg); ok {
			return n, true
		}
		return f.dropNotification(msg)
	})
}

// dropNotification reads {beamctl_log_drops, Total}: events the node did
// not forward since the last report.
func (f *LogForwarder) dropNotification(msg etf.Term) (journal.Notification, bool) {
	t, err := etf.ToTuple(msg, 2)
	if err != nil || t[0] != etf.Atom("beamctl_log_drops") {
		return journal.Notification{}, false
	}
	total, _ := etf.ToInt64(t[1])
	delta := total - f.nodeDrops
	f.nodeDrops = total
	if delta <= 0 {
		return journal.Notification{}, false
	}
	node := f.conn.Node()
	return journal.Notification{Time: time.Now(), Node: node, Kind: "rate_limited", Severity: journal.Warning,
		Text:   fmt.Sprintf("Node %s did not forward %d log events: more than %d a second.", node, delta, NodeLogRate),
		Fields: map[string]string{"dropped": strconv.FormatInt(delta, 10), "dropped_kind": "log", "where": "node"}}, true
}

// logNotification reads {beamctl_log, Level, Meta, Text}.
func logNotification(node string, msg etf.Term) (journal.Notification, bool) {
	t, err := etf.ToTuple(msg, 4)
	if err != nil || t[0] != etf.Atom("beamctl_log") {
		return journal.Notification{}, false
	}
	level, _ := t[1].(etf.Atom)
	text, _ := etf.ToString(t[3])
	text = strings.TrimSpace(text) // a report's lines are indented
	n := journal.Notification{Time: time.Now(), Node: node, Kind: "log", Severity: severity(string(level)), Text: text,
		Fields: map[string]string{"level": string(level)}}
	local := termtext.Options{LocalNode: etf.Atom(node)}
	if m, ok := t[2].(etf.Map); ok {
		for _, kv := range m {
			k, _ := kv.Key.(etf.Atom)
			switch k {
			case "time": // microseconds of system time
				if us, err := etf.ToInt64(kv.Value); err == nil {
					n.Time = time.UnixMicro(us)
				}
			case "file":
				n.Fields["file"], _ = etf.ToString(kv.Value)
			case "":
			default:
				n.Fields[string(k)] = termtext.FormatWith(kv.Value, local)
			}
		}
	}
	switch {
	case strings.HasPrefix(text, "crasher:"):
		n.Kind = "crash_report"
	case strings.HasPrefix(text, "supervisor:"):
		n.Kind = "supervisor_report"
	}
	return n, true
}

// severity maps a logger level to a notification severity.
func severity(level string) journal.Severity {
	switch level {
	case "emergency", "alert", "critical":
		return journal.Critical
	case "error":
		return journal.Error
	case "warning":
		return journal.Warning
	default:
		return journal.Info
	}
}
