package collector

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// WriteText writes samples in the Prometheus text exposition format
// (version 0.0.4). Samples of one name must be adjacent (Collect sorts
// them); extra labels (e.g. node) are added to every sample.
func WriteText(w io.Writer, samples []Sample, extra ...Label) error {
	bw := bufio.NewWriter(w)
	last := ""
	for _, s := range samples {
		if s.Name != last {
			fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", s.Name, escapeHelp(s.Help), s.Name, s.Type)
			last = s.Name
		}
		bw.WriteString(s.Name)
		labels := append(append([]Label{}, extra...), s.Labels...)
		if len(labels) > 0 {
			bw.WriteByte('{')
			for i, l := range labels {
				if i > 0 {
					bw.WriteByte(',')
				}
				fmt.Fprintf(bw, "%s=\"%s\"", l.Name, escapeLabel(l.Value))
			}
			bw.WriteByte('}')
		}
		bw.WriteByte(' ')
		bw.WriteString(formatValue(s.Value))
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
func escapeLabel(s string) string { return labelEscaper.Replace(s) }
