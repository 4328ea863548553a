package collector

import (
	"context"
	"fmt"
	"strconv"

	"github.com/beamctl/beamctl/internal/etf"
)

func init() { registerCollector("statistics", true, func() Collector { return statisticsCollector{} }) }

// statisticsCollector reports erlang:statistics/1: reductions, runtime,
// wall clock, I/O, context switches, GC, run queues and active tasks per
// scheduler, in one round trip.
type statisticsCollector struct{}

var statisticsItems = []etf.Term{
	etf.Atom("reductions"), etf.Atom("runtime"), etf.Atom("wall_clock"), etf.Atom("io"),
	etf.Atom("context_switches"), etf.Atom("garbage_collection"), etf.Atom("run_queue_lengths"),
	etf.Atom("active_tasks"), etf.Atom("total_run_queue_lengths"), etf.Atom("total_active_tasks"),
}

func (statisticsCollector) Update(ctx context.Context, c Conn, dst *Samples) error {
	v, err := mapCall(ctx, c, "erlang", "statistics", statisticsItems)
	if err != nil {
		return err
	}
	first := func(t etf.Term) float64 { // {Total, SinceLast}-style tuples
		tup, err := etf.ToTuple(t, -1)
		if err != nil || len(tup) == 0 {
			return 0
		}
		f, _ := num(tup[0])
		return f
	}
	dst.Add(Sample{Name: "erlang_vm_statistics_reductions_total", Help: "Reductions executed.", Type: Counter, Value: first(v[0])})
	dst.Add(Sample{Name: "erlang_vm_statistics_runtime_seconds_total", Help: "CPU time of all VM threads.", Type: Counter, Value: first(v[1]) / 1000})
	dst.Add(Sample{Name: "erlang_vm_statistics_wallclock_time_seconds_total", Help: "Wall clock time since the node started.", Type: Counter, Value: first(v[2]) / 1000})
	if io, err := etf.ToTuple(v[3], 2); err == nil {
		in, _ := etf.ToTuple(io[0], 2)
		out, _ := etf.ToTuple(io[1], 2)
		if len(in) == 2 && len(out) == 2 {
			i, _ := num(in[1])
			o, _ := num(out[1])
			dst.Add(Sample{Name: "erlang_vm_statistics_bytes_received_total", Help: "Bytes received through ports.", Type: Counter, Value: i})
			dst.Add(Sample{Name: "erlang_vm_statistics_bytes_output_total", Help: "Bytes sent through ports.", Type: Counter, Value: o})
		}
	}
	dst.Add(Sample{Name: "erlang_vm_statistics_context_switches_total", Help: "Context switches.", Type: Counter, Value: first(v[4])})
	if gc, err := etf.ToTuple(v[5], 3); err == nil {
		n, _ := num(gc[0])
		words, _ := num(gc[1])
		dst.Add(Sample{Name: "erlang_vm_statistics_garbage_collections_total", Help: "Garbage collections.", Type: Counter, Value: n})
		dst.Add(Sample{Name: "erlang_vm_statistics_garbage_collection_words_reclaimed_total", Help: "Words reclaimed by garbage collection.", Type: Counter, Value: words})
	}
	if err := perScheduler(dst, v[6], "erlang_vm_statistics_run_queue_length", "Processes and ports ready to run, per run queue (the last ones are dirty run queues)."); err != nil {
		return err
	}
	if err := perScheduler(dst, v[7], "erlang_vm_statistics_active_tasks", "Active processes and ports, per run queue."); err != nil {
		return err
	}
	total, _ := num(v[8])
	dst.Add(Sample{Name: "erlang_vm_statistics_run_queues_length", Help: "Sum of all run queue lengths.", Value: total})
	active, _ := num(v[9])
	dst.Add(Sample{Name: "erlang_vm_statistics_active_tasks_all", Help: "Sum of active tasks of all run queues.", Value: active})
	dst.Add(Sample{Name: "erlang_vm_uptime_seconds", Help: "Time since the node started.", Value: first(v[2]) / 1000})
	return nil
}

func perScheduler(dst *Samples, t etf.Term, name, help string) error {
	l, err := etf.ToList(t)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for i, e := range l {
		v, _ := num(e)
		dst.Add(Sample{Name: name, Help: help, Labels: []Label{{"run_queue", strconv.Itoa(i + 1)}}, Value: v})
	}
	return nil
}
