package alarm

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/beamctl/beamctl/internal/store"
)

// Querier evaluates PromQL at a time; *store.DB is one.
type Querier interface {
	Query(ctx context.Context, q string, ts time.Time) (*store.Result, error)
}

// QueryRule is a rule over the metric store: Expr gives one value per
// series; each series' cluster and node labels (and SubjectLabel, if set)
// make its key, and Thresholds its severity. Without thresholds (a user's
// rule, in Prometheus alerting style) every series the expression returns
// holds at Severity.
type QueryRule struct {
	RuleName     string
	Expr         string
	SubjectLabel string
	Thresholds   *Thresholds
	Severity     Severity
	ForDur       time.Duration
	// Every is the shortest time between two evaluations (zero: every
	// round); see Paced.
	Every time.Duration
	// Text describes a series: a text/template with .Value, .Labels
	// (map), .Node, .Cluster, .Subject and the functions pct, bytes and
	// num.
	Text string
	// Labels and Annotations (templates, like Text) go with the alarm to
	// Alertmanager, as a Prometheus alerting rule's do.
	Labels, Annotations map[string]string
	Q                   Querier

	tmpl *template.Template
	ann  map[string]*template.Template
}

var funcs = template.FuncMap{
	"pct":   func(v float64) string { return fmt.Sprintf("%.1f%%", v*100) },
	"num":   humanNum,
	"bytes": humanBytes,
}

func humanBytes(v float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// Check parses the text template; rules built from configuration are
// checked before they run.
func (r *QueryRule) Check() error {
	t, err := template.New(r.RuleName).Funcs(funcs).Parse(r.Text)
	if err != nil {
		return fmt.Errorf("rule %s: description: %w", r.RuleName, err)
	}
	r.tmpl = t
	r.ann = map[string]*template.Template{}
	for k, v := range r.Annotations {
		at, err := template.New(k).Funcs(funcs).Parse(v)
		if err != nil {
			return fmt.Errorf("rule %s: annotation %s: %w", r.RuleName, k, err)
		}
		r.ann[k] = at
	}
	if r.Thresholds == nil {
		if _, err := ParseSeverity(r.Severity.String()); err != nil {
			return fmt.Errorf("rule %s: %w", r.RuleName, err)
		}
	}
	return nil
}

func (r *QueryRule) Name() string        { return r.RuleName }
func (r *QueryRule) For() time.Duration  { return r.ForDur }
func (r *QueryRule) Pace() time.Duration { return r.Every }

// Evaluate runs the expression at now.
func (r *QueryRule) Evaluate(ctx context.Context, now time.Time, active map[Key]Severity) ([]Observation, error) {
	if r.tmpl == nil {
		if err := r.Check(); err != nil {
			return nil, err
		}
	}
	res, err := r.Q.Query(ctx, r.Expr, now)
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", r.RuleName, err)
	}
	var out []Observation
	for _, s := range res.Series {
		if len(s.Points) == 0 {
			continue
		}
		v := s.Points[len(s.Points)-1].Value
		k := Key{Rule: r.RuleName, Cluster: s.Labels["cluster"], Node: s.Labels["node"]}
		switch {
		case r.SubjectLabel != "":
			k.Subject = s.Labels[r.SubjectLabel]
		case r.Thresholds == nil:
			k.Subject = otherLabels(s.Labels)
		}
		sev := r.Severity
		if r.Thresholds != nil {
			sev = r.Thresholds.Level(v, active[k])
		}
		if sev == None {
			continue
		}
		var b strings.Builder
		data := map[string]any{"Value": v, "Labels": s.Labels, "Node": k.Node, "Cluster": k.Cluster, "Subject": k.Subject}
		if err := r.tmpl.Execute(&b, data); err != nil {
			return nil, fmt.Errorf("rule %s: description: %w", r.RuleName, err)
		}
		o := Observation{Key: k, Severity: sev, Value: v, Description: b.String(), Evidence: []string{r.Expr}, Labels: r.Labels}
		if len(r.ann) > 0 {
			o.Annotations = map[string]string{}
			for name, at := range r.ann {
				var ab strings.Builder
				if err := at.Execute(&ab, data); err != nil {
					return nil, fmt.Errorf("rule %s: annotation %s: %w", r.RuleName, name, err)
				}
				o.Annotations[name] = ab.String()
			}
		}
		out = append(out, o)
	}
	return out, nil
}

// otherLabels are a series' labels besides the name, cluster and node, as
// k=v,… (the subject of a user's rule).
func otherLabels(l map[string]string) string {
	var parts []string
	for k, v := range l {
		if k != "__name__" && k != "cluster" && k != "node" {
			parts = append(parts, k+"="+v)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// humanNum formats a figure for an alarm's text: 250,000 rather than
// 2.5e+05; four significant digits below 1,000.
func humanNum(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) < 1000 {
		return fmt.Sprintf("%.4g", v)
	}
	if math.Abs(v) >= 1e15 {
		return fmt.Sprintf("%.4g", v)
	}
	s := strconv.FormatInt(int64(math.Round(math.Abs(v))), 10)
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
