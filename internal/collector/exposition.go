package collector

import (
	"io"
	"time"

	"github.com/beamctl/beamctl/internal/exposition"
)

// WriteText writes samples in the Prometheus text exposition format
// (version 0.0.4), through package exposition. Samples of one name must be
// adjacent (Collect sorts them); extra labels (e.g. node) are added to
// every sample.
func WriteText(w io.Writer, samples []Sample, extra ...Label) error {
	ew := exposition.NewWriter(w)
	last := ""
	labels := make([]exposition.Label, 0, len(extra)+4)
	for _, s := range samples {
		if s.Name != last {
			ew.Family(s.Name, s.Help, s.Type.String())
			last = s.Name
		}
		labels = labels[:0]
		for _, l := range extra {
			labels = append(labels, exposition.Label(l))
		}
		for _, l := range s.Labels {
			labels = append(labels, exposition.Label(l))
		}
		ew.Sample(s.Name, labels, s.Value, time.Time{})
	}
	return ew.Flush()
}
