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

// startShellTracer is evaluated on the node with erl_eval. It spawns an
// interpreted tracer that records every command a shell on the node
// evaluates, local or remote (erl -remsh): a local-call trace pattern on
// shell:shell_cmd/6 whose match spec passes only the parsed expressions,
// with the arity flag so that the bindings are never copied. Only that
// function is traced, so other calls cost nothing. For each command it
// sends Dest the shell's pid, the node of the shell's group leader (where
// the user typed) and the command as text, with nosuspend and noconnect.
// It turns the tracing off when Dest's node disconnects or it is sent stop.
const startShellTracer = `
MFA = {shell, shell_cmd, 6},
Spec = [{['$1', '_', '_', '_', '_', cmd], [], [{message, '$1'}]}],
Off = fun() ->
          erlang:trace_pattern(MFA, false, [local]),
          catch erlang:trace(all, false, [call, arity])
      end,
Loop = fun Loop() ->
    receive
        {trace, Shell, call, MFA, Es} ->
            Text = try lists:flatten(erl_pp:exprs(Es)) catch _:_ -> "(unprintable)" end,
            From = case erlang:process_info(Shell, group_leader) of
                       {group_leader, GL} -> node(GL);
                       _ -> undefined
                   end,
            case erlang:send(Dest, {beamctl_shell, Shell, From, unicode:characters_to_binary(Text)}, [nosuspend, noconnect]) of
                noconnect -> Off();
                _ -> Loop()
            end;
        {'DOWN', _, _, _, _} -> Off();
        stop -> Off();
        _ -> Loop()
    end
end,
Self = self(),
Pid = spawn(fun() ->
          erlang:monitor(process, Dest),
          R = try
                  {module, shell} = code:ensure_loaded(shell), % a pattern needs the code loaded
                  1 = erlang:trace_pattern(MFA, Spec, [local]),
                  erlang:trace(all, true, [call, arity, {tracer, self()}]),
                  ok
              catch C:E -> Off(), {error, {C, E}}
              end,
          Self ! {self(), R},
          case R of
              ok -> Loop();
              _ -> ok
          end
      end),
receive
    {Pid, ok} -> Pid;
    {Pid, Err} -> Err
after 5000 -> {error, timeout}
end.
`

// ShellTracer records shell commands typed on one node; Stop turns the
// tracing off.
type ShellTracer struct{ *forwarder }

// TraceShells starts recording shell commands on the node.
func TraceShells(ctx context.Context, c *dist.Conn) (*ShellTracer, error) {
	f, other, err := spawnForwarder(ctx, c, 1000, startShellTracer, nil)
	switch {
	case err != nil:
		return nil, fmt.Errorf("trace shells on %s: %w", c.Node(), err)
	case f == nil:
		return nil, fmt.Errorf("trace shells on %s: %s", c.Node(), termtext.Format(other))
	}
	return &ShellTracer{f}, nil
}

// Events delivers the commands as notifications (without cluster) until
// ctx ends or the connection closes.
func (s *ShellTracer) Events(ctx context.Context) <-chan journal.Notification {
	node := s.conn.Node()
	local := termtext.Options{LocalNode: etf.Atom(node)}
	return pump(ctx, s.conn, s.mb, 64, func(msg etf.Term) (journal.Notification, bool) {
		t, err := etf.ToTuple(msg, 4)
		if err != nil || t[0] != etf.Atom("beamctl_shell") {
			return journal.Notification{}, false
		}
		cmd, _ := etf.ToString(t[3])
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
