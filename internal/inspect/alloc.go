package inspect

import (
	"context"
	"fmt"
	"sort"

	"github.com/beamctl/beamctl/internal/etf"
)

// AllocStats is the usage of one allocator type, or of one instance of it.
type AllocStats struct {
	Type           string  `json:"type"`
	Instance       int64   `json:"instance"` // -1 for the sum of all instances
	Strategy       string  `json:"strategy"`
	AllocatedBytes int64   `json:"allocated_bytes"` // carriers
	UsedBytes      int64   `json:"used_bytes"`      // blocks
	FreeBytes      int64   `json:"free_bytes"`
	Blocks         int64   `json:"blocks"`
	AvgBlockBytes  float64 `json:"avg_block_bytes"`
	UtilPercent    float64 `json:"util_percent"`
}

// AllocReport is what `beamctl alloc` shows.
type AllocReport struct {
	Types     []AllocStats `json:"types"`
	Total     AllocStats   `json:"total"`
	Instances []AllocStats `json:"instances"`
	// Fragmented are the instances of at least 1 MiB with the worst
	// used/allocated ratio (recon_alloc:fragmentation's view).
	Fragmented []AllocStats `json:"fragmented"`
}

// Alloc reads every alloc_util allocator's carriers and blocks on the node
// (beamctl_agent) in one round trip.
func Alloc(ctx context.Context, c Conn) (*AllocReport, error) {
	if _, err := EnsureAgent(ctx, c); err != nil {
		return nil, err
	}
	r, err := c.Call(ctx, AgentModule, "alloc")
	if err != nil {
		return nil, err
	}
	l, err := etf.ToList(r)
	if err != nil {
		return nil, fmt.Errorf("alloc: %w", err)
	}
	rep := &AllocReport{Total: AllocStats{Type: "total", Instance: -1}}
	byType := map[string]*AllocStats{}
	var order []string
	for _, e := range l {
		t, err := etf.ToTuple(e, 6)
		if err != nil {
			return nil, fmt.Errorf("alloc: %w", err)
		}
		n := func(i int) int64 { v, _ := etf.ToInt64(t[i]); return v }
		typ := text(t[0], c.Node())
		inst := AllocStats{Type: typ, Instance: n(1), Strategy: text(t[2], c.Node()),
			AllocatedBytes: n(3), UsedBytes: n(4), Blocks: n(5)}
		finish(&inst)
		rep.Instances = append(rep.Instances, inst)
		agg := byType[typ]
		if agg == nil {
			agg = &AllocStats{Type: typ, Instance: -1, Strategy: inst.Strategy}
			byType[typ] = agg
			order = append(order, typ)
		}
		for _, s := range []*AllocStats{agg, &rep.Total} {
			s.AllocatedBytes += inst.AllocatedBytes
			s.UsedBytes += inst.UsedBytes
			s.Blocks += inst.Blocks
		}
	}
	for _, typ := range order {
		finish(byType[typ])
		rep.Types = append(rep.Types, *byType[typ])
	}
	finish(&rep.Total)
	for _, in := range rep.Instances {
		if in.AllocatedBytes >= 1<<20 {
			rep.Fragmented = append(rep.Fragmented, in)
		}
	}
	sort.SliceStable(rep.Fragmented, func(i, j int) bool { return rep.Fragmented[i].UtilPercent < rep.Fragmented[j].UtilPercent })
	if len(rep.Fragmented) > 5 {
		rep.Fragmented = rep.Fragmented[:5]
	}
	return rep, nil
}

func finish(s *AllocStats) {
	s.FreeBytes = s.AllocatedBytes - s.UsedBytes
	if s.Blocks > 0 {
		s.AvgBlockBytes = float64(s.UsedBytes) / float64(s.Blocks)
	}
	if s.AllocatedBytes > 0 {
		s.UtilPercent = 100 * float64(s.UsedBytes) / float64(s.AllocatedBytes)
	}
}
