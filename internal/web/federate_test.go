package web

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	prommodel "github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/store"
)

// federateModel is a Model with metadata for one family only.
type federateModel struct{ Model }

func (federateModel) Metadata() map[string]Metadata {
	return map[string]Metadata{"beam_fed_value": {Type: "gauge", Help: "A value with \\ and a\nnewline."}}
}

// TestFederateEscaping stores series whose label values Go's %q would
// write with escapes the exposition format does not define (\t, \u00a0,
// \xff), and reads /federate back with Prometheus's parser and promtool.
func TestFederateEscaping(t *testing.T) {
	db, err := store.Open(t.TempDir(), nil, nil, nil)
	require.NoError(t, err)
	defer db.Close()
	values := []string{"tab\there", "cr\rhere", "no\u00a0break", "café 日本 🐘", `back\slash`, `say "hi"`, "two\nlines", "bad\xffbyte", "nul\x00"}
	now := time.Now()
	var samples []store.Sample
	for i, v := range values {
		samples = append(samples,
			store.Sample{Labels: []store.Label{{Name: "__name__", Value: "beam_fed_value"}, {Name: "v", Value: v}}, Time: now, Value: float64(i)},
			store.Sample{Labels: []store.Label{{Name: "__name__", Value: "beam_fed_other"}, {Name: "v", Value: v}}, Time: now, Value: float64(i)})
	}
	require.NoError(t, db.Append(context.Background(), samples))
	srv := httptest.NewServer(New(db, federateModel{}, nil, nil, nil))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/federate?" + url.Values{"match[]": {`{__name__=~"beam_fed_.*"}`}}.Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)

	p := expfmt.NewTextParser(prommodel.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	require.NoError(t, err, "expfmt:\n%s", body)
	require.Equal(t, "A value with \\ and a\nnewline.", fams["beam_fed_value"].GetHelp())
	require.Equal(t, "Federated by beamctl.", fams["beam_fed_other"].GetHelp())
	for _, name := range []string{"beam_fed_value", "beam_fed_other"} {
		got := map[string]float64{}
		for _, m := range fams[name].GetMetric() {
			require.Len(t, m.GetLabel(), 1)
			require.GreaterOrEqual(t, m.GetTimestampMs(), now.UnixMilli(), "the query's time")
			got[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue() + m.GetUntyped().GetValue()
		}
		want := map[string]float64{}
		for i, v := range values {
			want[strings.ToValidUTF8(v, "\uFFFD")] = float64(i)
		}
		require.Equal(t, want, got, name)
	}

	promtool, err := exec.LookPath("promtool")
	require.NoError(t, err, "promtool not found: install the prometheus package (make test does)")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "promtool check metrics:\n%s\n%s", out, body)
}
