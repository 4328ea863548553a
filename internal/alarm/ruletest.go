package alarm

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/beamctl/beamctl/internal/store"
)

// RuleTests is a file of rule unit tests, in the spirit of promtool's:
// input series in promtool's expanding notation, evaluated by the engine
// with the built-in alarms and the file's own rules, and the alarms
// expected active at given times.
type RuleTests struct {
	// Rules are user rules under test (the same fields as alarms.rules).
	Rules []TestRule `yaml:"rules"`
	Tests []RuleTest `yaml:"tests"`
}

// TestRule is a user rule in a test file.
type TestRule struct {
	Name        string `yaml:"name"`
	Expr        string `yaml:"expr"`
	For         string `yaml:"for"`
	Severity    string `yaml:"severity"`
	Description string `yaml:"description"`
}

// RuleTest is one test case.
type RuleTest struct {
	Name string `yaml:"name"`
	// Interval is the time between two input values and between two
	// evaluations (default 10s).
	Interval    string        `yaml:"interval"`
	InputSeries []InputSeries `yaml:"input_series"`
	// At is the time, from the first input value, at which Expect holds.
	At     string          `yaml:"at"`
	Expect []ExpectedAlarm `yaml:"expect"`
}

// InputSeries is one series and its values ("1+1x10", "_" for a gap).
type InputSeries struct {
	Series string `yaml:"series"`
	Values string `yaml:"values"`
}

// ExpectedAlarm is an alarm that must be active (fields left empty match
// anything).
type ExpectedAlarm struct {
	Rule     string `yaml:"rule"`
	Cluster  string `yaml:"cluster"`
	Node     string `yaml:"node"`
	Subject  string `yaml:"subject"`
	Severity string `yaml:"severity"`
}

// LoadRuleTests reads a test file strictly.
func LoadRuleTests(path string) (*RuleTests, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read rule tests: %w", err)
	}
	var rt RuleTests
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&rt); err != nil {
		return nil, fmt.Errorf("rule tests %s: %w", path, err)
	}
	return &rt, nil
}

// CheckRules validates user rules: names, severities, PromQL and the
// description templates.
func CheckRules(rules []TestRule) error {
	seen := map[string]bool{}
	for i, r := range rules {
		switch {
		case r.Name == "":
			return fmt.Errorf("rules[%d].name is required", i)
		case seen[r.Name]:
			return fmt.Errorf("rules: the name %q is used twice", r.Name)
		}
		seen[r.Name] = true
		if err := store.CheckExpr(r.Expr); err != nil {
			return fmt.Errorf("rule %s: %w", r.Name, err)
		}
		if r.For != "" {
			if _, err := time.ParseDuration(r.For); err != nil {
				return fmt.Errorf("rule %s: for %q is not a duration", r.Name, r.For)
			}
		}
		sev, err := ParseSeverity(r.Severity)
		if err != nil {
			return fmt.Errorf("rule %s: %w", r.Name, err)
		}
		q := &QueryRule{RuleName: r.Name, Severity: sev, Text: r.Description}
		if err := q.Check(); err != nil {
			return err
		}
	}
	return nil
}

// Run runs every test; it returns one failure text per test that failed.
func (rt *RuleTests) Run(ctx context.Context, dir string) ([]string, error) {
	if err := CheckRules(rt.Rules); err != nil {
		return nil, err
	}
	var failures []string
	for i, tc := range rt.Tests {
		name := tc.Name
		if name == "" {
			name = fmt.Sprintf("tests[%d]", i)
		}
		if msg, err := tc.run(ctx, fmt.Sprintf("%s/%d", dir, i), rt.Rules); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		} else if msg != "" {
			failures = append(failures, name+": "+msg)
		}
	}
	return failures, nil
}

func (tc RuleTest) run(ctx context.Context, dir string, userRules []TestRule) (string, error) {
	interval := 10 * time.Second
	if tc.Interval != "" {
		d, err := time.ParseDuration(tc.Interval)
		if err != nil || d <= 0 {
			return "", fmt.Errorf("interval %q is not a duration", tc.Interval)
		}
		interval = d
	}
	at, err := time.ParseDuration(tc.At)
	if err != nil {
		return "", fmt.Errorf("at %q is not a duration", tc.At)
	}
	db, err := store.Open(dir+"/store", nil, nil, nil)
	if err != nil {
		return "", err
	}
	defer db.Close()
	t0 := time.Now().Add(-at).Truncate(time.Second)
	byTime := map[time.Time][]store.Sample{}
	for _, in := range tc.InputSeries {
		ls, vs, err := store.ParseSeries(in.Series, in.Values)
		if err != nil {
			return "", err
		}
		for i, v := range vs {
			if !v.Omitted {
				ts := t0.Add(time.Duration(i) * interval)
				byTime[ts] = append(byTime[ts], store.Sample{Labels: ls, Time: ts, Value: v.Value})
			}
		}
	}
	times := make([]time.Time, 0, len(byTime))
	for ts := range byTime {
		times = append(times, ts)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	for _, ts := range times { // in time order: the store's head only moves forward
		if err := db.Append(ctx, byTime[ts]); err != nil {
			return "", err
		}
	}
	rules, err := BuiltinRules(db, nil)
	if err != nil {
		return "", err
	}
	for _, r := range userRules {
		var d time.Duration
		if r.For != "" {
			d, _ = time.ParseDuration(r.For)
		}
		text := r.Description
		if text == "" {
			text = r.Name
		}
		sev, err := ParseSeverity(r.Severity)
		if err != nil {
			return "", fmt.Errorf("rule %s: %w", r.Name, err)
		}
		rules = append(rules, &QueryRule{RuleName: r.Name, Expr: r.Expr, Severity: sev, ForDur: d, Text: text, Q: db})
	}
	e, err := Open(ctx, Options{Dir: dir + "/alarms"})
	if err != nil {
		return "", err
	}
	defer e.Close()
	e.SetRules(rules)
	for ts := time.Duration(0); ts <= at; ts += interval {
		e.Evaluate(ctx, t0.Add(ts))
	}
	var got []string
	for _, a := range e.Active() {
		got = append(got, fmt.Sprintf("%s %s/%s %s %s", a.Rule, a.Cluster, a.Node, a.Subject, a.Severity))
	}
	sort.Strings(got)
	var missing []string
	matched := map[int]bool{}
	for _, x := range tc.Expect {
		found := false
		for i, a := range e.Active() {
			if !matched[i] && (x.Rule == "" || x.Rule == a.Rule) && (x.Cluster == "" || x.Cluster == a.Cluster) &&
				(x.Node == "" || x.Node == a.Node) && (x.Subject == "" || x.Subject == a.Subject) &&
				(x.Severity == "" || x.Severity == a.Severity.String()) {
				matched[i], found = true, true
				break
			}
		}
		if !found {
			missing = append(missing, fmt.Sprintf("%+v", x))
		}
	}
	if len(missing) > 0 || len(matched) != len(e.Active()) {
		return fmt.Sprintf("at %s expected %d alarms, missing %v; active: %v", tc.At, len(tc.Expect), missing, got), nil
	}
	return "", nil
}
