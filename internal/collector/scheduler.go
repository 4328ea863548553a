package collector

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/termtext"
)

func init() {
	registerCollector("scheduler", true, func() Collector {
		return &schedulerCollector{window: 250 * time.Millisecond, hold: time.Minute, last: map[string]wallTimeReading{}}
	})
}

// schedulerCollector reports scheduler utilisation per scheduler and per
// type (normal, dirty CPU, dirty I/O) from scheduler_wall_time.
//
// With beamctl_agent, a holder process on the node keeps the flag on while
// beamctl collects (and for hold after the last round, then the flag goes
// back to what it was), and utilisation covers the whole time between two
// rounds. Switching the flag costs the node about a millisecond of CPU
// (every scheduler is interrupted), so this is done once, not per round.
//
// Without the agent it samples a short window, as recon:scheduler_usage/1
// does: one call turns the flag on, reads it, sleeps through the window,
// reads it again and turns it off. The VM counts the flag per process and
// drops the call process's count when it ends, so the flag goes back to
// what it was even if the call is killed; another user's measurement is
// never switched off.
type schedulerCollector struct {
	window, hold time.Duration

	mu   sync.Mutex
	last map[string]wallTimeReading // by node
}

type wallTimeReading struct {
	normal, dirtyCPU float64
	times            map[int][2]float64
}

// unbatched keeps the window's sleep out of the round's batch.
func (s *schedulerCollector) unbatched(c Conn) bool { return !agentLoaded(c) }

func (s *schedulerCollector) Update(ctx context.Context, c Conn, dst *Samples) error {
	if !agentLoaded(c) {
		return s.sampleWindow(ctx, c, dst)
	}
	s.mu.Lock()
	prev, ok := s.last[c.Node()]
	s.mu.Unlock()
	if !ok { // the first round: a second reading after a short window
		first, err := s.read(ctx, c)
		if err != nil {
			return err
		}
		select {
		case <-time.After(firstWindow):
		case <-ctx.Done():
			return ctx.Err()
		}
		prev = first
	}
	now, err := s.read(ctx, c)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.last[c.Node()] = now
	s.mu.Unlock()
	return utilisation(dst, prev.times, now.times, now.normal, now.dirtyCPU)
}

// firstWindow is how far apart the first two readings of a node are.
const firstWindow = 100 * time.Millisecond

// read takes one reading through the agent, which keeps the flag on.
func (s *schedulerCollector) read(ctx context.Context, c Conn) (wallTimeReading, error) {
	r, err := c.Call(ctx, agentModule, "swt", int64(s.hold.Milliseconds()))
	if err != nil {
		return wallTimeReading{}, err
	}
	t, err := etf.ToTuple(r, 3)
	if err != nil {
		return wallTimeReading{}, fmt.Errorf("beamctl_agent:swt: %w", err)
	}
	w := wallTimeReading{}
	w.normal, _ = num(t[0])
	w.dirtyCPU, _ = num(t[1])
	w.times, err = wallTimes(t[2])
	return w, err
}

// sampleWindow measures over a window in one call, without the agent.
func (s *schedulerCollector) sampleWindow(ctx context.Context, c Conn, dst *Samples) error {
	swt, all := etf.Atom("scheduler_wall_time"), etf.Atom("scheduler_wall_time_all")
	calls := []struct {
		m, f string
		args etf.List
	}{
		{"erlang", "system_info", etf.List{etf.Atom("schedulers")}},
		{"erlang", "system_info", etf.List{etf.Atom("dirty_cpu_schedulers")}},
		{"erlang", "system_flag", etf.List{swt, etf.True}},
		{"erlang", "statistics", etf.List{all}},
		{"timer", "sleep", etf.List{int64(s.window.Milliseconds())}},
		{"erlang", "statistics", etf.List{all}},
		{"erlang", "system_flag", etf.List{swt, etf.False}},
	}
	funs, args := make(etf.List, len(calls)), make(etf.List, len(calls))
	for i, cl := range calls {
		funs[i] = etf.Export{Module: etf.Atom(cl.m), Function: etf.Atom(cl.f), Arity: uint8(len(cl.args))}
		args[i] = cl.args
	}
	r, err := c.Call(ctx, "lists", "zipwith", applyExport, funs, args)
	if err != nil {
		return err
	}
	l, err := etf.ToList(r)
	if err != nil || len(l) != len(calls) {
		return fmt.Errorf("scheduler_wall_time: unexpected reply %s", termtext.Format(r))
	}
	normal, _ := num(l[0])
	dirtyCPU, _ := num(l[1])
	before, err := wallTimes(l[3])
	if err != nil {
		return err
	}
	after, err := wallTimes(l[5])
	if err != nil {
		return err
	}
	return utilisation(dst, before, after, normal, dirtyCPU)
}

// utilisation reports the busy share of each scheduler and type between
// two readings. Schedulers whose total went backwards (the flag was off in
// between, which resets the counters) are left out.
func utilisation(dst *Samples, before, after map[int][2]float64, normal, dirtyCPU float64) error {
	type sum struct{ active, total float64 }
	byType := map[string]*sum{}
	for id, a := range after {
		b, ok := before[id]
		if !ok || a[1] <= b[1] {
			continue
		}
		typ := "normal"
		switch {
		case float64(id) > normal+dirtyCPU:
			typ = "dirty_io"
		case float64(id) > normal:
			typ = "dirty_cpu"
		}
		active, total := a[0]-b[0], a[1]-b[1]
		dst.Add(Sample{Name: "erlang_vm_scheduler_utilization_ratio", Help: "Busy share of a scheduler's wall time over the sampling window.",
			Labels: []Label{{"type", typ}, {"scheduler", strconv.Itoa(id)}}, Value: active / total})
		if byType[typ] == nil {
			byType[typ] = &sum{}
		}
		byType[typ].active += active
		byType[typ].total += total
	}
	if len(byType) == 0 {
		return fmt.Errorf("%w: scheduler_wall_time did not advance (reset)", ErrNoData)
	}
	for typ, s := range byType {
		dst.Add(Sample{Name: "erlang_vm_scheduler_type_utilization_ratio", Help: "Busy share of the wall time of all schedulers of a type over the sampling window.",
			Labels: []Label{{"type", typ}}, Value: s.active / s.total})
	}
	return nil
}

// wallTimes reads statistics(scheduler_wall_time_all): id -> {active, total}.
func wallTimes(t etf.Term) (map[int][2]float64, error) {
	l, err := etf.ToList(t)
	if err != nil {
		return nil, fmt.Errorf("scheduler_wall_time_all: %s", termtext.Format(t)) // undefined: the flag is off
	}
	out := make(map[int][2]float64, len(l))
	for _, e := range l {
		tup, err := etf.ToTuple(e, 3)
		if err != nil {
			return nil, fmt.Errorf("scheduler_wall_time_all: %w", err)
		}
		id, _ := num(tup[0])
		a, _ := num(tup[1])
		tot, _ := num(tup[2])
		out[int(id)] = [2]float64{a, tot}
	}
	return out, nil
}
