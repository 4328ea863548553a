package capture

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/termtext"
)

// ShellTracerName is the name under which the one shell tracer of a node
// is registered: every beamctl server watching the node subscribes to it.
// A fixed name: one atom on the node, however many servers come and go.
const ShellTracerName = "beamctl_shell_tracer"

// ShellTraceMFA is the function whose calls are the commands typed in a
// shell: shell:expand_hist/2, which every shell since OTP R13 calls once
// per command with the parsed expressions (as typed, before the history
// is expanded) and the command number, and nothing else. Tracing it
// copies no bindings (as shell:shell_cmd would).
var ShellTraceMFA = etf.Tuple{etf.Atom("shell"), etf.Atom("expand_hist"), int64(2)}

// shellTraceMode is evaluated on the node: how the shell tracer traces.
// OTP 27 and later have trace sessions (module trace,
// trace:session_create/3): beamctl's tracing then lives in a session of
// its own, invisible to every other tracer. Older nodes get a meta trace
// pattern, which needs no process trace flag at all.
const shellTraceMode = `
case code:ensure_loaded(trace) of
    {module, trace} ->
        case erlang:function_exported(trace, session_create, 3) of
            true -> session;
            false -> meta
        end;
    _ -> meta
end
`

// subscribeShells is evaluated on the node with erl_eval. It subscribes
// Dest to the node's shell tracer, starting the tracer if there is none.
//
// How it coexists with other tools:
//   - No process trace flag is touched: the tracer uses a meta trace
//     pattern (erlang:trace_pattern/3 with {meta, Tracer}) on
//     shell:expand_hist/2, which sends a message for every call whatever
//     the calling process's flags and tracer are. An operator's
//     dbg:p(all, c) or dbg:tpl on any function, before, during or after,
//     is neither matched away nor cleared. On OTP 27+ the pattern is set
//     in a trace session of beamctl's own (trace:session_create/3).
//   - A function has one meta tracer. If another live process already
//     meta-traces shell:expand_hist/2, beamctl leaves it and reports
//     {error, {meta_traced_by, Pid}}.
//   - Turning off removes only the meta pattern, and only while the
//     tracer is still the function's meta tracer.
//
// One tracer per node, registered as beamctl_shell_tracer, with one
// subscriber per watching server (Dest, monitored): a server leaving
// (unsubscribe, or its node disconnecting) removes only its own
// subscription, and the last one out turns the tracing off, then
// unregisters and ends. The tracer is started by the first subscriber;
// two starting at once race for the name and the loser subscribes to the
// winner. Each step waits at most 5 seconds.
//
// For each command the tracer sends every subscriber {beamctl_shell,
// Shell, FromNode, Text} (FromNode: the node of the shell's group leader,
// where the user typed), with nosuspend and noconnect. It returns
// {TracerPid, Mode}.
const subscribeShells = `
Name = beamctl_shell_tracer,
MFA = {shell, expand_hist, 2},
Spec = [{['_', '_'], [], []}],
Install = fun(session) ->
                  S = trace:session_create(Name, self(), []),
                  1 = trace:function(S, MFA, Spec, [meta]),
                  {session, S};
             (meta) ->
                  Me = self(),
                  case erlang:trace_info(MFA, meta) of
                      {meta, false} -> ok;
                      {meta, []} -> ok; % no meta tracer (OTP 25 says so when only a local pattern is set)
                      {meta, Me} -> ok;
                      {meta, Other} when is_pid(Other) ->
                          case is_process_alive(Other) of
                              true -> throw({meta_traced_by, Other});
                              false -> ok
                          end;
                      {meta, Other} -> throw({meta_traced_by, Other})
                  end,
                  1 = erlang:trace_pattern(MFA, Spec, [{meta, Me}]),
                  meta
          end,
Off = fun({session, S}) -> catch trace:session_destroy(S), ok;
         (meta) ->
              Me = self(),
              case erlang:trace_info(MFA, meta) of
                  {meta, Me} -> erlang:trace_pattern(MFA, false, [meta]);
                  _ -> ok
              end
      end,
Send = fun(Subs, Msg) ->
           [erlang:send(D, Msg, [nosuspend, noconnect]) || D <- maps:keys(Subs)]
       end,
Leave = fun(How, S2, Reply) ->
            case map_size(S2) of
                0 -> Off(How), unregister(Name), Reply(), done;
                _ -> Reply(), {continue, S2}
            end
        end,
Loop = fun Loop(How, Subs) ->
    Next = fun({continue, S2}) -> Loop(How, S2);
              (done) -> done
           end,
    receive
        {trace_ts, Shell, call, {shell, expand_hist, [Es, N]}, _} -> % meta messages carry a time stamp
            self() ! {trace, Shell, call, {shell, expand_hist, [Es, N]}},
            Loop(How, Subs);
        {trace, Shell, call, {shell, expand_hist, [Es, _]}} ->
            Text = try lists:flatten(erl_pp:exprs(Es)) catch _:_ -> "(unprintable)" end,
            From = case erlang:process_info(Shell, group_leader) of
                       {group_leader, GL} -> node(GL);
                       _ -> undefined
                   end,
            Send(Subs, {beamctl_shell, Shell, From, unicode:characters_to_binary(Text)}),
            Loop(How, Subs);
        {beamctl_subscribe, From, D} ->
            S2 = case Subs of
                     #{D := _} -> Subs;
                     _ -> Subs#{D => erlang:monitor(process, D)}
                 end,
            From ! {beamctl_subscribed, self()},
            Loop(How, S2);
        {beamctl_unsubscribe, From, D} ->
            S2 = case maps:take(D, Subs) of
                     {Ref, Rest} -> erlang:demonitor(Ref, [flush]), Rest;
                     error -> Subs
                 end,
            Next(Leave(How, S2, fun() -> From ! {beamctl_unsubscribed, self()} end));
        {'DOWN', _, process, D, _} ->
            Next(Leave(How, maps:remove(D, Subs), fun() -> ok end));
        _ -> Loop(How, Subs)
    end
end,
Mode = (fun() -> ` + shellTraceMode + ` end)(),
Start = fun() ->
    Parent = self(),
    T = spawn(fun() ->
                  R = try register(Name, self()) of
                          true ->
                              try {module, shell} = code:ensure_loaded(shell), Install(Mode) of
                                  How -> {ok, How}
                              catch
                                  throw:Why -> unregister(Name), {error, Why};
                                  C:E -> unregister(Name), {error, {C, E}}
                              end
                      catch error:badarg -> lost
                      end,
                  Parent ! {self(), R},
                  case R of
                      {ok, How2} -> Loop(How2, #{Dest => erlang:monitor(process, Dest)});
                      _ -> ok
                  end
              end),
    receive {T, Res} -> {T, Res}
    after 5000 -> exit(T, kill), {T, {error, timeout}}
    end
end,
Subscribe = fun Subscribe(0) -> {error, busy};
                Subscribe(N) ->
    case whereis(Name) of
        undefined ->
            case Start() of
                {T, {ok, _}} -> {T, Mode};
                {_, lost} -> Subscribe(N - 1);
                {_, Err} -> Err
            end;
        P ->
            Ref = erlang:monitor(process, P),
            P ! {beamctl_subscribe, self(), Dest},
            receive
                {beamctl_subscribed, P} -> erlang:demonitor(Ref, [flush]), {P, Mode};
                {'DOWN', Ref, _, _, _} -> Subscribe(N - 1)
            after 5000 -> erlang:demonitor(Ref, [flush]), {error, timeout}
            end
    end
end,
Subscribe(5).
`

// unsubscribeShells is evaluated on the node: it takes Dest's
// subscription away from Tracer and waits (at most 5 seconds) until the
// tracer has done so, and turned the tracing off if Dest was the last.
const unsubscribeShells = `
Ref = erlang:monitor(process, Tracer),
Tracer ! {beamctl_unsubscribe, self(), Dest},
receive
    {beamctl_unsubscribed, Tracer} -> erlang:demonitor(Ref, [flush]), ok;
    {'DOWN', Ref, _, _, _} -> ok
after 5000 -> erlang:demonitor(Ref, [flush]), {error, timeout}
end.
`

// ShellOptions configure the recording of shell commands.
type ShellOptions struct {
	// Redact returns the patterns whose matches in a command are
	// replaced by Redacted before the command leaves this package; it is
	// called for every command, so that a reload applies at once.
	Redact func() []*regexp.Regexp
}

// Redacted replaces what a redaction pattern matched.
const Redacted = "[REDACTED]"

// ShellTracer is one server's subscription to a node's shell tracer; Stop
// ends it (and the tracing, when it was the last).
type ShellTracer struct {
	*forwarder
	mode   string
	redact func() []*regexp.Regexp
}

// TraceShells subscribes to the commands typed in shells on the node,
// starting the node's shell tracer if needed.
func TraceShells(ctx context.Context, c *dist.Conn, o ShellOptions) (*ShellTracer, error) {
	mb := c.NewMailbox(1000)
	r, err := inspect.EvalWith(ctx, c, subscribeShells, map[string]etf.Term{"Dest": mb.Pid})
	if err != nil {
		c.CloseMailbox(mb)
		return nil, fmt.Errorf("trace shells on %s: %w", c.Node(), err)
	}
	var pid etf.Pid
	t, terr := etf.ToTuple(r, 2)
	if terr == nil {
		pid, terr = toPid(t[0])
	}
	if terr != nil {
		c.CloseMailbox(mb)
		return nil, fmt.Errorf("trace shells on %s: %s", c.Node(), termtext.FormatWith(r, termtext.Options{LocalNode: etf.Atom(c.Node())}))
	}
	mode, _ := t[1].(etf.Atom)
	return &ShellTracer{forwarder: &forwarder{conn: c, mb: mb, pid: pid}, mode: string(mode), redact: o.Redact}, nil
}

// Mode says how the node is traced: "session" (an OTP 27+ trace session)
// or "meta" (a meta trace pattern).
func (s *ShellTracer) Mode() string { return s.mode }

// ShellTraceMode asks the node how a shell tracer would trace it:
// "session" when it has trace sessions (OTP 27+), else "meta".
func ShellTraceMode(ctx context.Context, c *dist.Conn) (string, error) {
	r, err := inspect.EvalWith(ctx, c, shellTraceMode+".", nil)
	if err != nil {
		return "", fmt.Errorf("read the trace mode of %s: %w", c.Node(), err)
	}
	m, _ := r.(etf.Atom)
	return string(m), nil
}

// Alive reports whether the node's tracer this subscription belongs to
// still runs.
func (s *ShellTracer) Alive(ctx context.Context) (bool, error) { return s.AliveVia(ctx, s.conn) }

// AliveCheck is Alive's call.
func (s *ShellTracer) AliveCheck() Check {
	return Check{Module: "erlang", Function: "is_process_alive", Args: []etf.Term{s.pid}}
}

// AliveVia is Alive with its call made through c (which may answer it
// from a round trip shared with other checks).
func (s *ShellTracer) AliveVia(ctx context.Context, c Caller) (bool, error) {
	ck := s.AliveCheck()
	r, err := c.Call(ctx, ck.Module, ck.Function, ck.Args...)
	if err != nil {
		return false, fmt.Errorf("check the shell tracer on %s: %w", s.conn.Node(), err)
	}
	return r == etf.True, nil
}

// Stop ends this subscription and waits until the node's tracer has
// taken it away (and turned the tracing off, if it was the last).
func (s *ShellTracer) Stop(ctx context.Context) error {
	s.conn.CloseMailbox(s.mb)
	r, err := inspect.EvalWith(ctx, s.conn, unsubscribeShells, map[string]etf.Term{"Tracer": s.pid, "Dest": s.mb.Pid})
	if err != nil {
		return fmt.Errorf("stop tracing shells on %s: %w", s.conn.Node(), err)
	}
	if r != etf.Atom("ok") {
		return fmt.Errorf("stop tracing shells on %s: %s", s.conn.Node(), termtext.Format(r))
	}
	return nil
}

// RedactCommand replaces every match of the patterns in cmd.
func RedactCommand(cmd string, patterns []*regexp.Regexp) string {
	for _, p := range patterns {
		cmd = p.ReplaceAllLiteralString(cmd, Redacted)
	}
	return cmd
}

// Events delivers the commands as notifications (without cluster), with
// the redaction patterns applied, until ctx ends or the connection closes.
func (s *ShellTracer) Events(ctx context.Context) <-chan journal.Notification {
	node := s.conn.Node()
	local := termtext.Options{LocalNode: etf.Atom(node)}
	return pump(ctx, s.conn, s.mb, func(msg etf.Term) (journal.Notification, bool) {
		t, err := etf.ToTuple(msg, 4)
		if err != nil || t[0] != etf.Atom("beamctl_shell") {
			return journal.Notification{}, false
		}
		cmd, _ := etf.ToString(t[3])
		if s.redact != nil {
			cmd = RedactCommand(cmd, s.redact())
		}
		from, _ := t[2].(etf.Atom)
		n := journal.Notification{Time: time.Now(), Node: node, Kind: "shell_command", Severity: journal.Info,
			Fields: map[string]string{"shell": termtext.FormatWith(t[1], local), "from_node": string(from), "command": cmd}}
		where := "its own shell"
		if string(from) != node {
			where = "a remote shell from " + string(from)
		}
		n.Text = fmt.Sprintf("Shell command on %s (%s): %s", node, where, cmd)
		return n, true
	})
}

func toPid(t etf.Term) (etf.Pid, error) {
	p, ok := t.(etf.Pid)
	if !ok {
		return etf.Pid{}, fmt.Errorf("not a pid: %v", t)
	}
	return p, nil
}
