package app

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/beamctl/beamctl/internal/alarm"
	"github.com/beamctl/beamctl/internal/config"
)

// warmUp waits, before the first alarm evaluation, for every cluster's
// first discovery pass (at most a minute), then for d (two collection
// ticks), so that a restart of beamctl does not clear alarms of nodes it
// has not reconnected to yet, and raise them again a moment later.
func (a *App) warmUp(d time.Duration) {
	done := make(chan struct{})
	go func() { a.firstPasses.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
	case <-a.rootCtx.Done():
		return
	}
	select {
	case <-time.After(d):
	case <-a.rootCtx.Done():
	}
}

// builtinOverrides splits the configuration's built-in alarm overrides
// into those of the query rules and the on/off and for: of the others
// (computed from the model or from notifications), which have no window
// and no levels to set.
func builtinOverrides(cfg *config.Config) (query map[string]alarm.Override, off map[string]bool, fors map[string]time.Duration, err error) {
	query, off, fors = map[string]alarm.Override{}, map[string]bool{}, map[string]time.Duration{}
	for name, b := range cfg.Alarms.Builtin {
		if slices.Contains(modelRuleNames, name) || name == "mnesia_inconsistent" || name == "mnesia_overloaded" || name == "node_restart_loop" {
			if b.Window != nil && slices.Contains(modelRuleNames, name) {
				return nil, nil, nil, fmt.Errorf("alarms.builtin: %s has no window: it is not a rate or a growth", name)
			}
			if len(b.Levels) > 0 {
				return nil, nil, nil, fmt.Errorf("alarms.builtin: %s has no levels to set (its severity is fixed: docs/alarms.md)", name)
			}
			off[name] = b.Disabled
			if b.For != nil {
				fors[name] = time.Duration(*b.For)
			}
			continue
		}
		o := alarm.Override{Disabled: b.Disabled, Levels: map[alarm.Severity]float64{}}
		if b.For != nil {
			d := time.Duration(*b.For)
			o.For = &d
		}
		if b.Window != nil {
			w := time.Duration(*b.Window)
			o.Window = &w
		}
		for lvl, v := range b.Levels {
			o.Levels[alarm.Severity(lvl)] = v
		}
		query[name] = o
	}
	return query, off, fors, nil
}

// CheckConfig checks what the config package cannot alone: the
// collectors' names and the built-in alarms' overrides.
func CheckConfig(cfg *config.Config) error {
	if err := checkCollectors(cfg); err != nil {
		return err
	}
	overrides, _, _, err := builtinOverrides(cfg)
	if err != nil {
		return err
	}
	if _, err := alarm.BuiltinRules(nil, overrides); err != nil {
		return fmt.Errorf("alarms.builtin: %w", err)
	}
	return nil
}

// setAlarmRules builds the built-in and the user's alarm rules from the
// configuration and gives them to the engine.
func (a *App) setAlarmRules(cfg *config.Config) error {
	rules, err := a.alarmRules(cfg)
	if err != nil {
		return err
	}
	a.alarms.SetRules(rules)
	return nil
}

// alarmRules builds the built-in and the user's alarm rules from the
// configuration, changing nothing.
func (a *App) alarmRules(cfg *config.Config) ([]alarm.Rule, error) {
	overrides, modelOff, modelFor, err := builtinOverrides(cfg)
	if err != nil {
		return nil, err
	}
	rules, err := alarm.BuiltinRules(a.db, overrides)
	if err != nil {
		return nil, fmt.Errorf("alarms.builtin: %w", err)
	}
	rules = append(rules, a.modelRules(modelOff, modelFor)...)
	for _, ur := range cfg.Alarms.Rules {
		text := ur.Description
		if text == "" {
			text = ur.Name + " on {{.Node}}: {{num .Value}}"
		}
		r := &alarm.QueryRule{RuleName: ur.Name, Expr: ur.Expr, Severity: alarm.Severity(ur.Severity), ForDur: time.Duration(ur.For),
			Text: text, Labels: ur.Labels, Annotations: ur.Annotations, Q: a.db}
		if err := r.Check(); err != nil {
			return nil, fmt.Errorf("alarms.rules: %w", err)
		}
		if _, err := a.db.Query(context.Background(), ur.Expr, time.Now()); err != nil {
			return nil, fmt.Errorf("alarms.rules: rule %s: %w", ur.Name, err)
		}
		rules = append(rules, r)
	}
	// Built-in event rules: restarts, and mnesia's own alarms from its
	// system events.
	for _, br := range []*alarm.EventRule{
		{RuleName: "node_restart_loop", Kind: "node_restarted", Count: 2, Window: 30 * time.Minute,
			Levels:      &alarm.Thresholds{Levels: []alarm.Level{{Severity: alarm.Minor, At: 2}, {Severity: alarm.Major, At: 3}, {Severity: alarm.Critical, At: 6}}},
			Description: "The node restarts in a loop"},
		{RuleName: "mnesia_inconsistent", Kind: "mnesia_inconsistent_database", Count: 1, Window: time.Hour, Severity: alarm.Critical,
			Description: "mnesia reports an inconsistent database (a partition healed with diverging tables)"},
		{RuleName: "mnesia_overloaded", Kind: "mnesia_overload", Count: 1, Window: 10 * time.Minute, Severity: alarm.Major,
			Description: "mnesia is overloaded (its transaction log dump falls behind)"},
	} {
		if b, ok := cfg.Alarms.Builtin[br.RuleName]; ok && b.Disabled {
			continue
		}
		if b, ok := cfg.Alarms.Builtin[br.RuleName]; ok && b.For != nil {
			br.ForDur = time.Duration(*b.For)
		}
		if b, ok := cfg.Alarms.Builtin[br.RuleName]; ok && b.Window != nil {
			br.Window = time.Duration(*b.Window)
		}
		br.N = a.notes.Store()
		rules = append(rules, br)
	}
	for _, er := range cfg.Alarms.EventRules {
		rules = append(rules, &alarm.EventRule{RuleName: er.Name, Kind: er.Kind, Grep: er.Grep, Count: er.Count, Window: time.Duration(er.Window),
			GroupBy: er.GroupBy, Severity: alarm.Severity(er.Severity), ForDur: time.Duration(er.For), Description: er.Description,
			N: a.notes.Store()})
	}
	return rules, nil
}

// Evaluating reports whether the alarm engine has started evaluating
// rules (after the warm-up that follows a start).
func (a *App) Evaluating() bool { return a.evaluating.Load() }

// Alarms is the alarm engine (web.Model).
func (a *App) Alarms() *alarm.Engine { return a.alarms }
