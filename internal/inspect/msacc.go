package inspect

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/beamctl/beamctl/internal/etf"
)

// MsaccRow is the share of time one thread (or all threads of a type)
// spent in each microstate, in percent.
type MsaccRow struct {
	Type    string             `json:"type"`
	ID      int64              `json:"id"`
	Threads int                `json:"threads,omitempty"`
	Percent map[string]float64 `json:"percent"`
}

// MsaccReport is what `beamctl msacc` shows.
type MsaccReport struct {
	DurationSeconds float64    `json:"duration_seconds"`
	States          []string   `json:"states"`
	Types           []MsaccRow `json:"types"`
	Threads         []MsaccRow `json:"threads"`
	WasEnabled      bool       `json:"was_enabled"`
}

// Msacc measures microstate accounting over d. It turns accounting on,
// takes the counters before and after (their difference, so that a
// measurement already running on the node is not reset), and puts the flag
// back as it found it, also when ctx is cancelled.
func Msacc(ctx context.Context, c Conn, d time.Duration) (*MsaccReport, error) {
	flag := etf.Atom("microstate_accounting")
	prev, err := c.Call(ctx, "erlang", "system_flag", flag, etf.True)
	if err != nil {
		return nil, fmt.Errorf("enable microstate accounting: %w", err)
	}
	defer func() {
		// Restore with a fresh deadline: ctx may be the reason we stop.
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = c.Call(rctx, "erlang", "system_flag", flag, prev)
	}()
	before, err := msaccCounters(ctx, c)
	if err != nil {
		return nil, err
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	after, err := msaccCounters(ctx, c)
	if err != nil {
		return nil, err
	}
	rep := &MsaccReport{DurationSeconds: d.Seconds(), WasEnabled: prev == etf.True}
	states := map[string]bool{}
	byType := map[string]*MsaccRow{}
	typeTotals := map[string]map[string]float64{}
	for key, a := range after {
		b := before[key]
		row := MsaccRow{Type: key.typ, ID: key.id, Percent: map[string]float64{}}
		var total float64
		delta := map[string]float64{}
		for s, v := range a {
			states[s] = true
			delta[s] = float64(v - b[s])
			total += delta[s]
		}
		if typeTotals[key.typ] == nil {
			typeTotals[key.typ] = map[string]float64{}
			byType[key.typ] = &MsaccRow{Type: key.typ, Percent: map[string]float64{}}
		}
		byType[key.typ].Threads++
		for s, v := range delta {
			if total > 0 {
				row.Percent[s] = 100 * v / total
			}
			typeTotals[key.typ][s] += v
		}
		rep.Threads = append(rep.Threads, row)
	}
	for typ, totals := range typeTotals {
		var sum float64
		for _, v := range totals {
			sum += v
		}
		for s, v := range totals {
			if sum > 0 {
				byType[typ].Percent[s] = 100 * v / sum
			}
		}
		rep.Types = append(rep.Types, *byType[typ])
	}
	for s := range states {
		rep.States = append(rep.States, s)
	}
	sort.Strings(rep.States)
	sort.Slice(rep.Types, func(i, j int) bool { return rep.Types[i].Type < rep.Types[j].Type })
	sort.Slice(rep.Threads, func(i, j int) bool {
		if rep.Threads[i].Type != rep.Threads[j].Type {
			return rep.Threads[i].Type < rep.Threads[j].Type
		}
		return rep.Threads[i].ID < rep.Threads[j].ID
	})
	return rep, nil
}

type threadKey struct {
	typ string
	id  int64
}

// msaccCounters reads erlang:statistics(microstate_accounting):
// [#{type => T, id => I, counters => #{State => N}}].
func msaccCounters(ctx context.Context, c Conn) (map[threadKey]map[string]int64, error) {
	r, err := c.Call(ctx, "erlang", "statistics", etf.Atom("microstate_accounting"))
	if err != nil {
		return nil, err
	}
	l, err := etf.ToList(r)
	if err != nil {
		return nil, fmt.Errorf("microstate accounting is not available on %s: %s", c.Node(), text(r, c.Node()))
	}
	out := map[threadKey]map[string]int64{}
	for _, e := range l {
		m, err := etf.ToMap(e)
		if err != nil {
			return nil, fmt.Errorf("microstate accounting: %w", err)
		}
		typ, _ := m.Get(etf.Atom("type"))
		id, _ := m.Get(etf.Atom("id"))
		counters, _ := m.Get(etf.Atom("counters"))
		cm, err := etf.ToMap(counters)
		if err != nil {
			return nil, fmt.Errorf("microstate accounting counters: %w", err)
		}
		key := threadKey{typ: text(typ, c.Node())}
		key.id, _ = etf.ToInt64(id)
		vals := map[string]int64{}
		for _, p := range cm {
			s, _ := etf.ToAtom(p.Key)
			vals[string(s)], _ = etf.ToInt64(p.Value)
		}
		out[key] = vals
	}
	return out, nil
}
