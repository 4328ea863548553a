package sim

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/beamctl/beamctl/internal/exposition"
)

// Exposition is the /metrics page a simulated node serves for the
// Prometheus anchor of the scale curve: the series beamctl serve stores for
// one node (testdata/otp25.prom, made by TestExpositionTemplate from a
// simulated node collected by serve, so the same names, labels and count),
// as an exporter on the node (prometheus.erl) would expose them. Counters
// grow and gauges swing, each node in its own phase, so that Prometheus
// compresses and stores moving values as it would in production.
type Exposition struct {
	families []expFamily
	start    time.Time
}

type expFamily struct {
	name, help, typ string
	series          []expSeries
}

type expSeries struct {
	labels []exposition.Label
	value  float64
}

// ExpositionFile is the committed template.
const ExpositionFile = "testdata/otp25.prom"

// ReadExposition reads a template in the Prometheus text format.
func ReadExposition(path string) (*Exposition, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("exposition template: %w", err)
	}
	defer f.Close()
	return ParseExposition(f)
}

// ParseExposition parses a template in the Prometheus text format;
// timestamps are dropped.
func ParseExposition(r io.Reader) (*Exposition, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("exposition template: %w", err)
	}
	e := &Exposition{start: time.Now()}
	names := make([]string, 0, len(fams))
	for n := range fams {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		mf := fams[n]
		typ := strings.ToLower(mf.GetType().String())
		f := expFamily{name: n, help: mf.GetHelp(), typ: typ}
		for _, m := range mf.GetMetric() {
			s := expSeries{value: metricValue(mf.GetType(), m)}
			for _, l := range m.GetLabel() {
				s.labels = append(s.labels, exposition.Label{Name: l.GetName(), Value: l.GetValue()})
			}
			f.series = append(f.series, s)
		}
		e.families = append(e.families, f)
	}
	return e, nil
}

func metricValue(t dto.MetricType, m *dto.Metric) float64 {
	switch t {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	default:
		return m.GetUntyped().GetValue()
	}
}

// Series is how many series a node exposes.
func (e *Exposition) Series() int {
	n := 0
	for _, f := range e.families {
		n += len(f.series)
	}
	return n
}

// Write writes node's page at now: counters grow by a thousandth of their
// recorded value per second (at least 1/s), gauges swing by up to 10 %
// around theirs over five minutes.
func (e *Exposition) Write(w io.Writer, node int, now time.Time) error {
	ew := exposition.NewWriter(w)
	secs := now.Sub(e.start).Seconds() + float64(node%600)
	phase := float64(node) * 0.618
	for _, f := range e.families {
		ew.Family(f.name, f.help, f.typ)
		for i, s := range f.series {
			v := s.value
			switch f.typ {
			case "counter":
				v += max(math.Abs(s.value)/1000, 1) * secs
				v = math.Floor(v)
			case "gauge":
				v *= 1 + 0.1*math.Sin(2*math.Pi*secs/300+phase+float64(i))
			}
			ew.Sample(f.name, s.labels, v, time.Time{})
		}
	}
	return ew.Flush()
}

// Handler serves GET /metrics/<n> for the simulated nodes 1..count.
func (e *Exposition) Handler(count int) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil || n < 1 || n > count {
			http.Error(w, "no such simulated node", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_ = e.Write(w, n, time.Now())
	})
	return mux
}

// WriteFileSD writes a Prometheus file_sd_configs file: one target group
// per simulated node, all at addr, each with its own metrics path.
func WriteFileSD(path, addr, prefix, host string, count int) error {
	var b strings.Builder
	b.WriteString("[\n")
	for i := 1; i <= count; i++ {
		if i > 1 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"targets":[%q],"labels":{"__metrics_path__":"/metrics/%d","node":"%s%d@%s"}}`, addr, i, prefix, i, host)
	}
	b.WriteString("\n]\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("file_sd: %w", err)
	}
	return nil
}
