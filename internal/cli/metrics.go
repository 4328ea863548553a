package cli

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/collector"
	"github.com/beamctl/beamctl/internal/inspect"
)

type metricsCmd struct {
	node      string
	enabled   map[string]*bool
	agentless bool
}

func registerMetrics(app *kingpin.Application, register func(string, command)) {
	c := &metricsCmd{enabled: map[string]*bool{}}
	cmd := app.Command("metrics", "Collect a node's metrics once and print them in the Prometheus text format "+
		"(what beamctl serve will store). The collectors' calls go to the node batched in one or two round trips. "+
		"The message queue, allocator and logger collectors use beamctl_agent, loaded unless --agentless.")
	cmd.Arg("node", "Node name.").Required().StringVar(&c.node)
	cmd.Flag("agentless", "Do not load beamctl_agent; the collectors that need it report nothing.").BoolVar(&c.agentless)
	names := collector.Names()
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		v := new(bool)
		cmd.Flag("collector."+n, fmt.Sprintf("Enable the %s collector.", n)).Default(strconv.FormatBool(names[n])).BoolVar(v)
		c.enabled[n] = v
	}
	register(cmd.FullCommand(), c)
}

type sampleJSON struct {
	Name   string            `json:"name"`
	Type   string            `json:"type"`
	Labels map[string]string `json:"labels"`
	Value  float64           `json:"value"`
}

func (c *metricsCmd) run(ctx context.Context, e *env) (err error) {
	overrides := map[string]collector.Override{}
	for n, v := range c.enabled {
		overrides[n] = collector.Override{Enabled: v}
	}
	set, err := collector.NewSet(e.logger, collector.SetOptions{Overrides: overrides, Timeout: e.g.timeout})
	if err != nil {
		return err
	}
	conn, err := e.dial(ctx, c.node)
	if err != nil {
		return err
	}
	defer conn.Close()
	end, err := e.auditBegin("inspect.metrics", conn.Node(), map[string]string{"agentless": strconv.FormatBool(c.agentless)})
	if err != nil {
		return fmt.Errorf("write the audit log (nothing was run): %w", err)
	}
	defer func() { end(err) }()
	var cc collector.Conn = conn
	if !c.agentless && !e.g.noAgent {
		if _, err := inspect.EnsureAgent(ctx, conn); err != nil {
			return err
		}
		cc = collector.WithAgent(conn)
	}
	start := time.Now()
	samples := set.Collect(ctx, cc)
	e.logger.Debug("Collected", "node", conn.Node(), "samples", len(samples), "duration", time.Since(start))
	if e.g.output == "json" {
		out := make([]sampleJSON, len(samples))
		for i, s := range samples {
			labels := map[string]string{"node": conn.Node()}
			for _, l := range s.Labels {
				labels[l.Name] = l.Value
			}
			out[i] = sampleJSON{Name: s.Name, Type: s.Type.String(), Labels: labels, Value: s.Value}
		}
		return writeJSON(e.stdout, out)
	}
	return collector.WriteText(e.stdout, samples, collector.Label{Name: "node", Value: conn.Node()})
}
