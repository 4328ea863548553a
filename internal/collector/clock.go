package collector

import (
	"context"
	"fmt"
	"time"

	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/termtext"
)

func init() {
	registerCollector("clock", true, func() Collector { return clockCollector{now: time.Now} })
}

// clockCollector reports how far the node's clock is from beamctl's (the
// node's os:system_time against the middle of the call's round trip, so
// the error is at most half the round trip, which it reports too) and the
// node's UTC offset (its time zone), in its own rpc so that no other
// collector's work widens the round trip.
type clockCollector struct{ now func() time.Time }

func (clockCollector) unbatched(Conn) bool { return true }

func (c clockCollector) Update(ctx context.Context, conn Conn, dst *Samples) error {
	funs := etf.List{
		etf.Export{Module: "os", Function: "system_time", Arity: 1},
		etf.Export{Module: "calendar", Function: "local_time", Arity: 0},
		etf.Export{Module: "calendar", Function: "universal_time", Arity: 0},
	}
	args := etf.List{etf.List{etf.Atom("microsecond")}, etf.List{}, etf.List{}}
	t0 := c.now()
	r, err := conn.Call(ctx, "lists", "zipwith", applyExport, funs, args)
	t1 := c.now()
	if err != nil {
		return err
	}
	l, err := etf.ToList(r)
	if err != nil || len(l) != 3 {
		return fmt.Errorf("clock: unexpected reply %s", termtext.Format(r))
	}
	us, err := etf.ToInt64(l[0])
	if err != nil {
		return fmt.Errorf("clock: %w", err)
	}
	mid := t0.Add(t1.Sub(t0) / 2)
	dst.Add(Sample{Name: "erlang_vm_clock_offset_seconds", Help: "The node's system clock minus beamctl's (at the middle of the round trip).",
		Value: time.UnixMicro(us).Sub(mid).Seconds()})
	dst.Add(Sample{Name: "erlang_vm_clock_offset_uncertainty_seconds", Help: "Half the round trip of the clock reading: the offset's error bound.",
		Value: t1.Sub(t0).Seconds() / 2})
	local, err1 := erlangDateTime(l[1])
	utc, err2 := erlangDateTime(l[2])
	if err1 == nil && err2 == nil {
		dst.Add(Sample{Name: "erlang_vm_utc_offset_seconds", Help: "The node's local time minus UTC: its time zone.", Value: local.Sub(utc).Round(time.Minute).Seconds()})
	}
	return nil
}

// erlangDateTime reads {{Y, M, D}, {H, Mi, S}}.
func erlangDateTime(t etf.Term) (time.Time, error) {
	dt, err := etf.ToTuple(t, 2)
	if err != nil {
		return time.Time{}, err
	}
	d, err := etf.ToTuple(dt[0], 3)
	if err != nil {
		return time.Time{}, err
	}
	tm, err := etf.ToTuple(dt[1], 3)
	if err != nil {
		return time.Time{}, err
	}
	n := func(x etf.Term) int { v, _ := etf.ToInt64(x); return int(v) }
	return time.Date(n(d[0]), time.Month(n(d[1])), n(d[2]), n(tm[0]), n(tm[1]), n(tm[2]), 0, time.UTC), nil
}
