package collector

import (
	"context"
	"fmt"

	"github.com/beamctl/beamctl/internal/etf"
)

func init() { registerCollector("logger", true, func() Collector { return loggerCollector{} }) }

// loggerCollector reports log events per level that passed the node's
// primary logger level. beamctl_agent:log_counts/0 installs, on first use,
// a logger handler (beamctl_log_counter) that only bumps a counter per
// event; the counts start then, so they are counters that restart when
// the handler is installed again (a node restart, `beamctl agent remove`).
type loggerCollector struct{}

func (loggerCollector) Update(ctx context.Context, c Conn, dst *Samples) error {
	if !agentLoaded(c) {
		return fmt.Errorf("%w: counting log events needs beamctl_agent (agent: false)", ErrNoData)
	}
	r, err := c.Call(ctx, agentModule, "log_counts")
	if err != nil {
		return err
	}
	l, err := etf.ToList(r)
	if err != nil {
		return fmt.Errorf("beamctl_agent:log_counts: %w", err)
	}
	for _, e := range l {
		t, err := etf.ToTuple(e, 2)
		if err != nil {
			return fmt.Errorf("beamctl_agent:log_counts: %w", err)
		}
		level, _ := t[0].(etf.Atom)
		n, _ := num(t[1])
		dst.Add(Sample{Name: "erlang_vm_logger_events_total", Help: "Log events that passed the primary level, per level, since beamctl began counting.",
			Type: Counter, Labels: []Label{{"level", string(level)}}, Value: n})
	}
	return nil
}
