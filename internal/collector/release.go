package collector

import (
	"context"

	"github.com/beamctl/beamctl/internal/etf"
)

func init() { registerCollector("release", true, func() Collector { return releaseCollector{} }) }

// releaseCollector reports the node's boot script release name and version
// (init:script_id/0) as an info metric. Nodes of one release and version
// form a family: they should run the same code.
type releaseCollector struct{}

func (releaseCollector) Update(ctx context.Context, c Conn, dst *Samples) error {
	r, err := c.Call(ctx, "init", "script_id")
	if err != nil {
		return err
	}
	t, err := etf.ToTuple(r, 2)
	if err != nil {
		return ErrNoData
	}
	name, _ := etf.ToString(t[0])
	vsn, _ := etf.ToString(t[1])
	dst.Add(Sample{Name: "erlang_vm_release_info", Help: "The node's release (boot script) name and version (value 1).",
		Labels: []Label{{"release", name}, {"version", vsn}}, Value: 1})
	return nil
}
