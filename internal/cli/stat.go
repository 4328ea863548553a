package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/inspect"
)

type statCmd struct {
	nodes     []string
	cluster   string
	count     int
	aggregate bool
	*toolParams
}

func registerStat(app *kingpin.Application, register func(string, command)) {
	c := &statCmd{}
	cmd := app.Command("stat", inspect.MustLookup("stat").Summary)
	cmd.Arg("node", "Node names.").StringsVar(&c.nodes)
	c.toolParams = declareTool(cmd, "stat")
	cmd.Flag("cluster", "Watch this node and every node it is connected to.").StringVar(&c.cluster)
	cmd.Flag("count", "Number of lines per node (0: until interrupted).").Default("0").IntVar(&c.count)
	cmd.Flag("aggregate", "One line per interval for all nodes together.").BoolVar(&c.aggregate)
	register(cmd.FullCommand(), c)
}

func (c *statCmd) untimed() bool { return true }

// run samples every node each interval. It uses the registry's stat
// parameters but not its Run, which measures one interval of one node.
func (c *statCmd) run(ctx context.Context, e *env) error {
	interval := c.args.Duration("interval")
	names := c.nodes
	if c.cluster != "" {
		dctx, cancel := context.WithTimeout(ctx, e.g.timeout)
		seed, err := e.dial(dctx, c.cluster)
		if err != nil {
			cancel()
			return err
		}
		v, err := viewCluster(dctx, seed)
		_ = seed.Close()
		cancel()
		if err != nil {
			return err
		}
		names = append([]string{v.Node}, v.Visible...)
	}
	if len(names) == 0 {
		return errors.New("give node names or --cluster SEED")
	}
	var stats []*inspect.Stat
	defer func() {
		for _, s := range stats {
			s.Close()
		}
	}()
	for _, n := range names {
		sctx, cancel := context.WithTimeout(ctx, e.g.timeout)
		conn, err := e.dial(sctx, n)
		if err != nil {
			cancel()
			return err
		}
		defer conn.Close()
		s, err := inspect.NewStat(sctx, e.inspectConn(conn), !c.args.Bool("no-queues"))
		cancel()
		if err != nil {
			return err
		}
		stats = append(stats, s)
	}
	enc := json.NewEncoder(e.stdout)
	for i := 0; c.count == 0 || i < c.count; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
		var lines []inspect.StatLine
		for _, s := range stats {
			sctx, cancel := context.WithTimeout(ctx, e.g.timeout)
			line, err := s.Next(sctx)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			lines = append(lines, line)
		}
		if c.aggregate {
			lines = []inspect.StatLine{aggregate(lines)}
		}
		for j, l := range lines {
			if e.g.output == "json" {
				if err := enc.Encode(l); err != nil { // one JSON object per line
					return err
				}
				continue
			}
			if (i*len(lines)+j)%20 == 0 {
				statHeader(e.stdout)
			}
			statLine(e.stdout, l)
		}
	}
	return nil
}

func aggregate(lines []inspect.StatLine) inspect.StatLine {
	a := inspect.StatLine{Time: lines[0].Time, Node: fmt.Sprintf("%d nodes", len(lines))}
	for _, l := range lines {
		a.Processes += l.Processes
		a.MsgQueueTotal += l.MsgQueueTotal
		a.MsgQueueMax = max(a.MsgQueueMax, l.MsgQueueMax)
		a.NonEmptyQueues += l.NonEmptyQueues
		a.RunQueue += l.RunQueue
		a.ReductionsPerSec += l.ReductionsPerSec
		a.DistMsgsInPerSec += l.DistMsgsInPerSec
		a.DistMsgsOutPerSec += l.DistMsgsOutPerSec
		a.DistKBInPerSec += l.DistKBInPerSec
		a.DistKBOutPerSec += l.DistKBOutPerSec
		a.SchedulerUtil += l.SchedulerUtil / float64(len(lines))
		a.GCPerSec += l.GCPerSec
		a.MemoryTotalMB += l.MemoryTotalMB
		a.MemoryProcsMB += l.MemoryProcsMB
		a.MemorySystemMB += l.MemorySystemMB
	}
	return a
}

const statFormat = "%-8s %-20s %8s %8s %7s %6s %5s %10s %8s %8s %8s %8s %6s %7s %8s %8s %8s\n"

func statHeader(w io.Writer) {
	fmt.Fprintf(w, statFormat, "time", "node", "procs", "msgq", "maxq", "qnz", "runq", "reds/s",
		"dmsg_in", "dmsg_out", "dkb_in", "dkb_out", "sched%", "gc/s", "mem_mb", "procs_mb", "sys_mb")
}

func statLine(w io.Writer, l inspect.StatLine) {
	q := func(v int64) string {
		if v < 0 {
			return "-"
		}
		return fmt.Sprint(v)
	}
	f := func(v float64) string { return fmt.Sprintf("%.0f", v) }
	fmt.Fprintf(w, statFormat, l.Time.Format(time.TimeOnly), l.Node, fmt.Sprint(l.Processes), q(l.MsgQueueTotal),
		q(l.MsgQueueMax), q(l.NonEmptyQueues), fmt.Sprint(l.RunQueue), f(l.ReductionsPerSec),
		f(l.DistMsgsInPerSec), f(l.DistMsgsOutPerSec), fmt.Sprintf("%.1f", l.DistKBInPerSec), fmt.Sprintf("%.1f", l.DistKBOutPerSec),
		fmt.Sprintf("%.1f", l.SchedulerUtil), f(l.GCPerSec), fmt.Sprintf("%.1f", l.MemoryTotalMB),
		fmt.Sprintf("%.1f", l.MemoryProcsMB), fmt.Sprintf("%.1f", l.MemorySystemMB))
}
