package sim

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// TestExpositionTemplate derives the simulated node's /metrics page from
// what beamctl serve stores for a simulated node (its /federate output,
// without the cluster and node labels Prometheus would add as target
// labels, and without beamctl's own beamctl_* series, which an exporter on
// the node would not have), and checks that the committed template holds
// the same series. -update rewrites the template.
func TestExpositionTemplate(t *testing.T) {
	srv, replay := replayServer(t, "expo")
	n, err := srv.AddNode("expo", replay)
	require.NoError(t, err)
	t.Setenv("ERL_EPMD_PORT", strconv.Itoa(srv.EpmdPort()))
	a, err := StartServe(context.Background(), ServeOptions{
		Nodes: []string{string(n.Name)}, Cookie: "expo", Storage: t.TempDir(),
		CollectInterval: 2 * time.Second, FastInterval: time.Second, CollectTimeout: 2 * time.Second,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Stop() })

	// Every collector has run twice when the series set stops growing.
	var page []byte
	var prev int
	for i := 0; i < 20; i++ {
		time.Sleep(2 * time.Second)
		page = federated(t, a.Addr(), string(n.Name))
		count := strings.Count(string(page), "\n")
		if count == prev && i >= 4 { // two rounds of every collector at least
			break
		}
		prev = count
	}
	fresh, err := ParseExposition(bytes.NewReader(page))
	require.NoError(t, err)
	if *update {
		require.NoError(t, os.WriteFile(ExpositionFile, page, 0o644))
	}
	committed, err := ReadExposition(ExpositionFile)
	require.NoError(t, err)
	require.Equal(t, keys(fresh), keys(committed), "series of %s (run with -update after the collectors change)", ExpositionFile)
	t.Logf("%d series in %d families", committed.Series(), len(committed.families))
}

// federated is serve's /federate page for node, cut to what an exporter
// on the node would expose.
func federated(t *testing.T, addr, node string) []byte {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/federate?" + url.Values{"match[]": {`{node="` + node + `",__name__!~"beamctl_.*"}`}}.Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	var out bytes.Buffer
	names := make([]string, 0, len(fams))
	for name := range fams {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		mf := fams[name]
		for _, m := range mf.Metric {
			kept := m.Label[:0]
			for _, l := range m.Label {
				if l.GetName() != "cluster" && l.GetName() != "node" {
					kept = append(kept, l)
				}
			}
			m.Label = kept
			m.TimestampMs = nil
		}
		_, err := expfmt.MetricFamilyToText(&out, mf)
		require.NoError(t, err)
	}
	return out.Bytes()
}

// serverName matches the node name of the server that collected a
// simulated node (beamctl_root_srv0@…, srv1 when another server runs on
// the host): a label value (dist's peer) that varies from run to run.
var serverName = regexp.MustCompile(`^beamctl_[a-z0-9_]+@`)

// keys is the series of an exposition as "name{label=value,...}", the
// server's node name as beamctl@….
func keys(e *Exposition) []string {
	var out []string
	for _, f := range e.families {
		for _, s := range f.series {
			var ls []string
			for _, l := range s.labels {
				ls = append(ls, l.Name+"="+serverName.ReplaceAllString(l.Value, "beamctl@"))
			}
			out = append(out, f.typ+" "+f.name+"{"+strings.Join(ls, ",")+"}")
		}
	}
	sort.Strings(out)
	return out
}

// TestExpositionHandler scrapes two simulated nodes twice: valid pages,
// the template's series, counters that grow, 404 for a node that is not.
func TestExpositionHandler(t *testing.T) {
	e, err := ReadExposition(ExpositionFile)
	require.NoError(t, err)
	e.start = time.Now().Add(-time.Minute)
	h := httptest.NewServer(e.Handler(2))
	defer h.Close()
	scrape := func(n string) map[string]float64 {
		resp, err := http.Get(h.URL + "/metrics/" + n)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		got, err := ParseExposition(bytes.NewReader(body))
		require.NoError(t, err)
		require.Equal(t, keys(e), keys(got))
		vals := map[string]float64{}
		for _, f := range got.families {
			if f.typ == "counter" && len(f.series) > 0 {
				vals[f.name] = f.series[0].value
			}
		}
		return vals
	}
	first := scrape("1")
	require.NotEmpty(t, first)
	time.Sleep(1100 * time.Millisecond)
	second := scrape("1")
	for name, v := range first {
		require.Greater(t, second[name], v, "counter %s does not grow", name)
	}
	scrape("2")
	for _, bad := range []string{"0", "3", "x"} {
		resp, err := http.Get(h.URL + "/metrics/" + bad)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode, bad)
	}
}
