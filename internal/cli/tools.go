package cli

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/inspect"
)

// toolParams are an inspection tool's parameters (internal/inspect's
// registry) as a command's flags and arguments: names, help, defaults and
// bounds come from the registry, and the values are checked against it when
// the command line is parsed (a usage error, exit code 2).
type toolParams struct {
	tool  *inspect.Tool
	strs  map[string]*string
	bools map[string]*bool
	args  inspect.Args
}

// declareTool declares the parameters of the registry's tool name on cmd,
// after the arguments cmd already has (the node).
func declareTool(cmd *kingpin.CmdClause, name string) *toolParams {
	tp := &toolParams{tool: inspect.MustLookup(name), strs: map[string]*string{}, bools: map[string]*bool{}}
	for _, p := range tp.tool.Params {
		if p.Arg {
			a := cmd.Arg(p.Name, p.Help)
			if p.Required {
				a.Required()
			}
			tp.strs[p.Name] = new(string)
			a.StringVar(tp.strs[p.Name])
			continue
		}
		f := cmd.Flag(p.Name, p.Help)
		if p.Short != 0 {
			f.Short(p.Short)
		}
		if p.Required {
			f.Required()
		}
		if p.Default != "" {
			f.Default(p.Default)
		}
		switch p.Kind {
		case inspect.ParamBool:
			tp.bools[p.Name] = new(bool)
			f.BoolVar(tp.bools[p.Name])
		case inspect.ParamEnum:
			tp.strs[p.Name] = new(string)
			f.EnumVar(tp.strs[p.Name], p.Choices...)
		default:
			tp.strs[p.Name] = new(string)
			f.SetValue((*plainValue)(tp.strs[p.Name]))
		}
	}
	cmd.Validate(func(*kingpin.CmdClause) error {
		var err error
		tp.args, err = tp.tool.Parse(tp.raw())
		return err
	})
	return tp
}

// plainValue is a flag's text, checked by the registry; the help shows its
// default unquoted, as for a typed flag (--n=10, not --n="10").
type plainValue string

func (v *plainValue) Set(s string) error { *v = plainValue(s); return nil }
func (v *plainValue) String() string     { return string(*v) }

// raw returns the parameters' values in their syntax.
func (tp *toolParams) raw() map[string]string {
	out := map[string]string{}
	for name, s := range tp.strs {
		out[name] = *s
	}
	for name, b := range tp.bools {
		out[name] = strconv.FormatBool(*b)
	}
	return out
}

// query returns the parameters as a beamctl server takes them.
func (tp *toolParams) query() url.Values {
	q := url.Values{}
	for name, s := range tp.raw() {
		if s != "" {
			q.Set(name, s)
		}
	}
	return q
}

// extraTime is how long the tool measures beyond its round trips (top's
// window, msacc's duration, leaks' pauses), added to --timeout.
func (tp *toolParams) extraTime() time.Duration {
	if tp.tool.Time == nil {
		return 0
	}
	return tp.tool.Time(tp.args)
}

// runTool runs the command's tool on node, through the beamctl server with
// --server if the server runs this tool (its data is the same JSON), else
// over a connection of its own.
func runTool[T any](ctx context.Context, e *env, node string, tp *toolParams) (T, error) {
	var v T
	if e.g.server != "" && tp.tool.Web {
		q, err := e.serverQuery(tp)
		if err != nil {
			return v, err
		}
		err = e.fromServer(ctx, node, tp.tool.Name, q, &v)
		return v, err
	}
	conn, err := e.dial(ctx, node)
	if err != nil {
		return v, err
	}
	defer conn.Close()
	return auditedRun[T](ctx, e, e.inspectConn(conn), tp)
}

// runOn runs a tool on a connection and returns its result as T.
func runOn[T any](ctx context.Context, c inspect.Conn, t *inspect.Tool, a inspect.Args) (T, error) {
	var v T
	res, err := t.Run(ctx, c, a)
	if err != nil {
		return v, err
	}
	v, ok := res.(T)
	if !ok {
		return v, fmt.Errorf("%s returned %T, not %T", t.Name, res, v)
	}
	return v, nil
}

// serverQuery is the query for the server's run of the tool. --no-agent
// holds there too: top scans agentless, a tool that needs the agent is
// refused here.
func (e *env) serverQuery(tp *toolParams) (url.Values, error) {
	q := tp.query()
	if e.g.noAgent {
		switch tp.tool.Agent {
		case inspect.LoadsAgent:
			return nil, inspect.ErrAgentDisabled
		case inspect.AgentUnlessAgentless:
			q.Set("agentless", "true")
		}
	}
	return q, nil
}
