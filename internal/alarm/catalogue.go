package alarm

import (
	"fmt"
	"sort"
	"time"

	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/store"
)

// Deps are what the rules read when they are evaluated: the metric store,
// the notifications and the server's model. Rules built with zero Deps
// serve to check a configuration and must not be evaluated.
type Deps struct {
	Q Querier
	N Notifications
	M Model
}

// Build makes every rule of the configuration: the built-in query, model
// and event alarms (builtins.go) with the overrides of alarms.builtin, then
// the user's PromQL rules and event rules. It runs nothing and changes
// nothing, and fails on a configuration it cannot build; installing the
// rules (Engine.SetRules) is the separate second step. `beamctl check
// config` calls it too, so that it validates exactly what serve builds.
func Build(cfg config.Alarms, d Deps) ([]Rule, error) {
	query, err := queryOverrides(cfg.Builtin)
	if err != nil {
		return nil, err
	}
	rules, err := BuiltinRules(d.Q, query)
	if err != nil {
		return nil, fmt.Errorf("alarms.builtin: %w", err)
	}
	round := &roundNodes{}
	for _, b := range ModelBuiltins {
		o, ok := cfg.Builtin[b.Name]
		if ok && o.Disabled {
			continue
		}
		r := &modelRule{b: b, forDur: b.For, window: b.Window, m: d.M, q: d.Q, meshed: map[[2]string]bool{}, round: round}
		if o.For != nil {
			r.forDur = time.Duration(*o.For)
		}
		if o.Window != nil {
			if b.Window == 0 {
				return nil, fmt.Errorf("alarms.builtin: %s has no window: it is not a rate or a growth", b.Name)
			}
			r.window = time.Duration(*o.Window)
		}
		rules = append(rules, r)
	}
	for _, b := range EventBuiltins {
		o, ok := cfg.Builtin[b.RuleName]
		if ok && o.Disabled {
			continue
		}
		r := b
		if r.Levels != nil {
			th := *r.Levels
			r.Levels = &th
		}
		if o.For != nil {
			r.ForDur = time.Duration(*o.For)
		}
		if o.Window != nil {
			r.Window = time.Duration(*o.Window)
		}
		r.N = d.N
		rules = append(rules, &r)
	}
	for _, ur := range cfg.Rules {
		text := ur.Description
		if text == "" {
			text = ur.Name + " on {{.Node}}: {{num .Value}}"
		}
		sev, err := ParseSeverity(ur.Severity)
		if err != nil {
			return nil, fmt.Errorf("alarms.rules: rule %s: %w", ur.Name, err)
		}
		r := &QueryRule{RuleName: ur.Name, Expr: ur.Expr, Severity: sev, ForDur: time.Duration(ur.For),
			Text: text, Labels: ur.Labels, Annotations: ur.Annotations, Q: d.Q}
		if err := r.Check(); err != nil {
			return nil, fmt.Errorf("alarms.rules: %w", err)
		}
		if err := store.CheckExpr(ur.Expr); err != nil {
			return nil, fmt.Errorf("alarms.rules: rule %s: %w", ur.Name, err)
		}
		rules = append(rules, r)
	}
	for _, er := range cfg.EventRules {
		sev, err := ParseSeverity(er.Severity)
		if err != nil {
			return nil, fmt.Errorf("alarms.event_rules: rule %s: %w", er.Name, err)
		}
		rules = append(rules, &EventRule{RuleName: er.Name, Kind: er.Kind, Grep: er.Grep, Count: er.Count, Window: time.Duration(er.Window),
			GroupBy: er.GroupBy, Severity: sev, ForDur: time.Duration(er.For), Description: er.Description, N: d.N})
	}
	seen := map[string]bool{}
	for _, r := range rules {
		if seen[r.Name()] {
			return nil, fmt.Errorf("alarms: the rule name %q is used twice (a built-in alarm's name is taken)", r.Name())
		}
		seen[r.Name()] = true
	}
	return rules, nil
}

// BuiltinNames are the names of every built-in alarm, sorted.
func BuiltinNames() []string {
	var out []string
	for _, b := range Builtins {
		out = append(out, b.Name)
	}
	for _, b := range ModelBuiltins {
		out = append(out, b.Name)
	}
	for _, b := range EventBuiltins {
		out = append(out, b.RuleName)
	}
	sort.Strings(out)
	return out
}

// queryOverrides checks the overrides of alarms.builtin against the
// catalogue and returns those of the query alarms. The model and event
// alarms have a fixed severity: they take for:, window (those that have
// one) and on/off only.
func queryOverrides(builtin map[string]config.BuiltinAlarm) (map[string]Override, error) {
	fixed := map[string]bool{}
	for _, b := range ModelBuiltins {
		fixed[b.Name] = true
	}
	for _, b := range EventBuiltins {
		fixed[b.RuleName] = true
	}
	names := make([]string, 0, len(builtin))
	for name := range builtin {
		names = append(names, name)
	}
	sort.Strings(names) // the first error is always the same one
	out := map[string]Override{}
	for _, name := range names {
		b := builtin[name]
		if fixed[name] {
			if len(b.Levels) > 0 {
				return nil, fmt.Errorf("alarms.builtin: %s has no levels to set (its severity is fixed: docs/alarms.md)", name)
			}
			continue
		}
		o := Override{Disabled: b.Disabled, Levels: map[Severity]float64{}}
		if b.For != nil {
			d := time.Duration(*b.For)
			o.For = &d
		}
		if b.Window != nil {
			w := time.Duration(*b.Window)
			o.Window = &w
		}
		for lvl, v := range b.Levels {
			s, err := ParseSeverity(lvl)
			if err != nil {
				return nil, fmt.Errorf("alarms.builtin: %s: %w", name, err)
			}
			o.Levels[s] = v
		}
		out[name] = o
	}
	return out, nil
}
