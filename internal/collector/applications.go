package collector

import (
	"context"

	"github.com/beamctl/beamctl/internal/etf"
)

func init() {
	registerCollector("applications", true, func() Collector { return applicationsCollector{} })
}

// applicationsCollector reports loaded applications as info metrics (value
// 1) with their version and whether they run. One round trip.
type applicationsCollector struct{}

func (applicationsCollector) Update(ctx context.Context, c Conn, dst *Samples) error {
	r, err := CallAll(ctx, c, MFA{"application", "loaded_applications", nil}, MFA{"application", "which_applications", nil})
	if err != nil {
		return err
	}
	loaded, running := r[0], r[1]
	isRunning := map[etf.Atom]bool{}
	rl, _ := etf.ToList(running)
	for _, e := range rl {
		if t, err := etf.ToTuple(e, 3); err == nil {
			a, _ := etf.ToAtom(t[0])
			isRunning[a] = true
		}
	}
	ll, err := etf.ToList(loaded)
	if err != nil {
		return err
	}
	for _, e := range ll {
		t, err := etf.ToTuple(e, 3)
		if err != nil {
			continue
		}
		name, _ := etf.ToAtom(t[0])
		vsn, _ := etf.ToString(t[2])
		state := "loaded"
		if isRunning[name] {
			state = "running"
		}
		dst.Add(Sample{Name: "erlang_vm_application_info", Help: "A loaded application (value 1), its version and state.",
			Labels: []Label{{"application", string(name)}, {"version", vsn}, {"state", state}}, Value: 1})
	}
	return nil
}
