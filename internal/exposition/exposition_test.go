package exposition

import (
	"bytes"
	"math"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

func TestEscapeLabelValue(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`plain`, `plain`},
		{`back\slash`, `back\\slash`},
		{`say "hi"`, `say \"hi\"`},
		{"two\nlines", `two\nlines`},
		// Everything else is written as itself: tab, carriage return and
		// other control characters, no-break space, non-ASCII text.
		{"tab\there", "tab\there"},
		{"cr\rhere", "cr\rhere"},
		{"nul\x00bell\x07", "nul\x00bell\x07"},
		{"no\u00a0break", "no\u00a0break"},
		{"café 日本 🐘", "café 日本 🐘"},
		// Invalid UTF-8 becomes U+FFFD.
		{"bad\xffbyte", "bad\uFFFDbyte"},
		{"\xc3(", "\uFFFD("},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			require.Equal(t, tc.want, EscapeLabelValue(tc.in))
		})
	}
	require.Equal(t, `a\\b\nc "q" `+"\uFFFD", EscapeHelp("a\\b\nc \"q\" \xff"))
}

func TestWriter(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.Family("x_total", "Things\ncounted.", "counter")
	w.Sample("x_total", []Label{{"node", "a@h"}, {"v", "q\"\\\n"}}, 1.5, time.Time{})
	w.Sample("x_total", nil, math.Inf(1), time.UnixMilli(1700000000123))
	require.NoError(t, w.Flush())
	require.Equal(t, "# HELP x_total Things\\ncounted.\n# TYPE x_total counter\n"+
		"x_total{node=\"a@h\",v=\"q\\\"\\\\\\n\"} 1.5\n"+
		"x_total +Inf 1700000000123\n", buf.String())
}

// hostile are label values that Go's %q would write with escapes the
// exposition format does not define (\t, \u00a0, \xff).
var hostile = []string{
	"tab\there", "cr\rhere", "nul\x00bell\x07esc\x1b", "no\u00a0break", "café 日本 🐘",
	`back\slash`, `say "hi"`, "two\nlines", "bad\xffbyte", `\u00e9 is not an escape`, "",
}

// TestRoundTrip writes hostile label values and HELP text and reads them
// back with Prometheus's own parser (expfmt) and promtool: every value
// comes back as it was, invalid UTF-8 replaced.
func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.Family("beam_test_value", "Help with \\ and \"quotes\", a\nnewline, café and \xff.", "gauge")
	for i, v := range hostile {
		w.Sample("beam_test_value", []Label{{"node", "a@h"}, {"v", v}}, float64(i), time.UnixMilli(int64(1000+i)))
	}
	require.NoError(t, w.Flush())

	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err, "expfmt:\n%s", buf.String())
	fam := fams["beam_test_value"]
	require.NotNil(t, fam)
	require.Equal(t, "Help with \\ and \"quotes\", a\nnewline, café and \uFFFD.", fam.GetHelp())
	require.Len(t, fam.GetMetric(), len(hostile))
	for i, m := range fam.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		require.Equal(t, map[string]string{"node": "a@h", "v": strings.ToValidUTF8(hostile[i], "\uFFFD")}, got)
		require.Equal(t, float64(i), m.GetGauge().GetValue())
		require.Equal(t, int64(1000+i), m.GetTimestampMs())
	}

	promtool, err := exec.LookPath("promtool")
	require.NoError(t, err, "promtool not found: install the prometheus package (make test does)")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(buf.Bytes())
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "promtool check metrics:\n%s\n%s", out, buf.String())
}
