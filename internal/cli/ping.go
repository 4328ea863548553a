package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/etf"
)

type pingCmd struct {
	nodes []string
}

func registerPing(app *kingpin.Application, register func(string, command)) {
	c := &pingCmd{}
	cmd := app.Command("ping", "Connect to nodes as a hidden node and check that they answer.")
	cmd.Arg("node", "Node names (name@host; a bare name means name@<this host>).").Required().StringsVar(&c.nodes)
	register(cmd.FullCommand(), c)
}

type pingResult struct {
	Node       string  `json:"node"`
	Result     string  `json:"result"`
	RTTSeconds float64 `json:"rtt_seconds,omitempty"`
	OTPRelease string  `json:"otp_release,omitempty"`
	Self       string  `json:"beamctl_node,omitempty"`
	Error      string  `json:"error,omitempty"`
}

func (c *pingCmd) run(ctx context.Context, e *env) error {
	var results []pingResult
	failed := 0
	for _, node := range c.nodes {
		r := ping(ctx, e, node)
		if r.Error != "" {
			failed++
		}
		results = append(results, r)
	}
	if e.g.output == "json" {
		if err := writeJSON(e.stdout, results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			if r.Error != "" {
				fmt.Fprintf(e.stdout, "pang %s: %s\n", r.Node, r.Error)
				continue
			}
			fmt.Fprintf(e.stdout, "pong %s in %s (OTP %s; beamctl is hidden node %s)\n",
				r.Node, time.Duration(r.RTTSeconds*float64(time.Second)).Round(time.Microsecond), r.OTPRelease, r.Self)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d nodes did not answer", failed, len(results))
	}
	return nil
}

func ping(ctx context.Context, e *env, node string) pingResult {
	r := pingResult{Node: node, Result: "pang"}
	conn, err := e.dial(ctx, node)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer conn.Close()
	r.Node, r.Self = conn.Node(), conn.Self()
	start := time.Now()
	rel, err := conn.Call(ctx, "erlang", "system_info", etf.Atom("otp_release"))
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.RTTSeconds = time.Since(start).Seconds()
	if s, err := etf.ToString(rel); err == nil {
		r.OTPRelease = s
	} else {
		r.Error = errors.New("unexpected otp_release reply").Error()
		return r
	}
	r.Result = "pong"
	return r
}
