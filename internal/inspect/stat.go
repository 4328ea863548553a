package inspect

import (
	"context"
	"fmt"
	"time"

	"github.com/beamctl/beamctl/internal/etf"
)

// StatLine is one line of the wsar-style realtime table: rates over the
// last interval and current levels.
type StatLine struct {
	Time              time.Time `json:"time"`
	Node              string    `json:"node"`
	Processes         int64     `json:"processes"`
	MsgQueueTotal     int64     `json:"msgq_total"` // -1: not scanned
	MsgQueueMax       int64     `json:"msgq_max"`
	NonEmptyQueues    int64     `json:"msgq_nonempty"`
	RunQueue          int64     `json:"run_queue"`
	ReductionsPerSec  float64   `json:"reductions_per_sec"`
	DistMsgsInPerSec  float64   `json:"dist_msgs_in_per_sec"`
	DistMsgsOutPerSec float64   `json:"dist_msgs_out_per_sec"`
	DistKBInPerSec    float64   `json:"dist_kb_in_per_sec"`
	DistKBOutPerSec   float64   `json:"dist_kb_out_per_sec"`
	SchedulerUtil     float64   `json:"scheduler_util_percent"`
	GCPerSec          float64   `json:"gc_per_sec"`
	MemoryTotalMB     float64   `json:"memory_total_mb"`
	MemoryProcsMB     float64   `json:"memory_processes_mb"`
	MemorySystemMB    float64   `json:"memory_system_mb"`
}

// Stat samples one node for the realtime table. Open it with NewStat and
// Close it when done: while open it keeps scheduler_wall_time on through a
// holder process on the node that also ends if beamctl goes away, so the
// flag is never left on.
type Stat struct {
	c      Conn
	queues bool
	holder etf.Term
	prev   etf.Map
}

// maxHold bounds how long the scheduler_wall_time holder lives.
const maxHold = 24 * time.Hour

// NewStat loads the agent, starts the scheduler_wall_time holder and takes
// the first sample. queues scans every message queue each interval.
func NewStat(ctx context.Context, c Conn, queues bool) (*Stat, error) {
	if _, err := EnsureAgent(ctx, c); err != nil {
		return nil, err
	}
	holder, err := c.Call(ctx, AgentModule, "hold_swt", c.Pid(), maxHold.Milliseconds())
	if err != nil {
		return nil, err
	}
	s := &Stat{c: c, queues: queues, holder: holder}
	if s.prev, err = s.sample(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close stops the holder; the VM turns scheduler_wall_time back off unless
// another process of the node's own wants it.
func (s *Stat) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.c.Send(ctx, s.holder, etf.Atom("stop"))
}

func (s *Stat) sample(ctx context.Context) (etf.Map, error) {
	r, err := s.c.Call(ctx, AgentModule, "sample", s.queues)
	if err != nil {
		return nil, err
	}
	m, err := etf.ToMap(r)
	if err != nil {
		return nil, fmt.Errorf("stat sample: %w", err)
	}
	return m, nil
}

// Next samples again and returns the line for the interval since the
// previous sample.
func (s *Stat) Next(ctx context.Context) (StatLine, error) {
	cur, err := s.sample(ctx)
	if err != nil {
		return StatLine{}, err
	}
	prev := s.prev
	s.prev = cur
	num := func(m etf.Map, k string) int64 {
		v, _ := m.Get(etf.Atom(k))
		n, _ := etf.ToInt64(v)
		return n
	}
	secs := float64(num(cur, "time_ms")-num(prev, "time_ms")) / 1000
	if secs <= 0 {
		secs = 1e-3
	}
	rate := func(k string) float64 { return float64(num(cur, k)-num(prev, k)) / secs }
	line := StatLine{
		Time:             time.Now(),
		Node:             s.c.Node(),
		Processes:        num(cur, "processes"),
		RunQueue:         num(cur, "run_queue"),
		ReductionsPerSec: rate("reductions"),
		GCPerSec:         rate("gcs"),
		MsgQueueTotal:    -1, MsgQueueMax: -1, NonEmptyQueues: -1,
	}
	if mem, ok := cur.Get(etf.Atom("memory")); ok {
		mm, _ := etf.ToMap(mem)
		line.MemoryTotalMB = float64(num(mm, "total")) / (1 << 20)
		line.MemoryProcsMB = float64(num(mm, "processes")) / (1 << 20)
		line.MemorySystemMB = float64(num(mm, "system")) / (1 << 20)
	}
	if q, ok := cur.Get(etf.Atom("queues")); ok {
		if t, err := etf.ToTuple(q, 3); err == nil {
			line.MsgQueueTotal, _ = etf.ToInt64(t[0])
			line.MsgQueueMax, _ = etf.ToInt64(t[1])
			line.NonEmptyQueues, _ = etf.ToInt64(t[2])
		}
	}
	d1, _ := cur.Get(etf.Atom("dist"))
	d0, _ := prev.Get(etf.Atom("dist"))
	if t1, err := etf.ToTuple(d1, 4); err == nil {
		if t0, err := etf.ToTuple(d0, 4); err == nil {
			delta := func(i int) float64 {
				a, _ := etf.ToInt64(t1[i])
				b, _ := etf.ToInt64(t0[i])
				return float64(a-b) / secs
			}
			line.DistKBInPerSec, line.DistKBOutPerSec = delta(0)/1024, delta(1)/1024
			line.DistMsgsInPerSec, line.DistMsgsOutPerSec = delta(2), delta(3)
		}
	}
	line.SchedulerUtil = schedUtil(prev, cur)
	return line, nil
}

// schedUtil is the share of wall time normal schedulers were active between
// two samples of statistics(scheduler_wall_time), in percent.
func schedUtil(prev, cur etf.Map) float64 {
	read := func(m etf.Map) map[int64][2]int64 {
		out := map[int64][2]int64{}
		v, _ := m.Get(etf.Atom("swt"))
		l, err := etf.ToList(v)
		if err != nil {
			return out
		}
		for _, e := range l {
			t, err := etf.ToTuple(e, 3)
			if err != nil {
				continue
			}
			id, _ := etf.ToInt64(t[0])
			a, _ := etf.ToInt64(t[1])
			tot, _ := etf.ToInt64(t[2])
			out[id] = [2]int64{a, tot}
		}
		return out
	}
	p, c := read(prev), read(cur)
	var active, total int64
	for id, v := range c {
		if pv, ok := p[id]; ok {
			active += v[0] - pv[0]
			total += v[1] - pv[1]
		}
	}
	if total <= 0 {
		return 0
	}
	return 100 * float64(active) / float64(total)
}
