package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/termtext"
)

type rpcCmd struct {
	node, module, function, args string
}

func registerRPC(app *kingpin.Application, register func(string, command)) {
	c := &rpcCmd{}
	cmd := app.Command("rpc", "Call MOD:FUN(ARGS...) on a node and print the reply as an Erlang term.")
	cmd.Arg("node", "Node name.").Required().StringVar(&c.node)
	cmd.Arg("module", "Module: erlang, or Elixir's Enum or :erlang.").Required().StringVar(&c.module)
	cmd.Arg("function", "Function.").Required().StringVar(&c.function)
	cmd.Arg("args", "Arguments as an Erlang list, e.g. '[process_count]' (default []). <0.54.0> is a pid on NODE.").
		Default("[]").StringVar(&c.args)
	register(cmd.FullCommand(), c)
}

func (c *rpcCmd) run(ctx context.Context, e *env) error {
	node, err := nodeName(c.node)
	if err != nil {
		return err
	}
	local := termtext.Options{LocalNode: etf.Atom(node)}
	args, err := termtext.ParseListWith(c.args, local)
	if err != nil {
		return fmt.Errorf("ARGS must be an Erlang list of arguments, e.g. '[process_count]': %w", err)
	}
	conn, err := e.dial(ctx, node)
	if err != nil {
		return err
	}
	defer conn.Close()
	localized, err := inspect.LocalizeArgs(ctx, conn, args)
	if err != nil {
		return err
	}
	args = localized.(etf.List)
	end, err := e.auditBegin("rpc", conn.Node(), map[string]string{"module": c.module, "function": c.function, "args": c.args})
	if err != nil {
		return fmt.Errorf("write the audit log (nothing was called): %w", err)
	}
	module, function := inspect.ModuleName(c.module), c.function // Elixir's Enum, :erlang
	if a, ok := inspect.ElixirAtom(function); ok && strings.HasPrefix(function, ":") {
		function = string(a)
	}
	reply, err := conn.Call(ctx, module, function, []etf.Term(args)...)
	end(err)
	if err != nil {
		return err
	}
	ex := e.elixir(strings.HasPrefix(module, "Elixir.")) // an Elixir module's reply, in Elixir
	if e.g.output == "json" {
		out := map[string]any{
			"node":   node,
			"mfa":    fmt.Sprintf("%s:%s/%d", module, function, len(args)),
			"result": termJSON(reply, etf.Atom(node)),
			"text":   termtext.FormatWith(reply, local),
		}
		if ex {
			out["text_elixir"] = termtext.FormatElixir(reply, local)
		}
		return writeJSON(e.stdout, out)
	}
	if ex {
		fmt.Fprintln(e.stdout, termtext.FormatElixir(reply, local))
		return nil
	}
	fmt.Fprintln(e.stdout, termtext.FormatPrettyWith(reply, local))
	return nil
}
