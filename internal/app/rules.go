package app

import (
	"time"

	"github.com/beamctl/beamctl/internal/alarm"
	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/notify/receiver"
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

// CheckConfig checks what the config package cannot alone: the
// collectors' names, and the alarm rules, built by the same function as
// serve builds them.
func CheckConfig(cfg *config.Config) error {
	if err := checkCollectors(cfg); err != nil {
		return err
	}
	if _, err := alarm.Build(cfg.Alarms, alarm.Deps{}); err != nil {
		return err
	}
	// The alarm destinations as serve builds them (nothing is sent).
	_, err := receiver.Build(cfg.Alarms, "")
	return err
}

// buildRules makes every alarm rule of the configuration (alarm.Build,
// the catalogue) over this server's store, notifications and model,
// without installing them.
func (a *App) buildRules(cfg *config.Config) ([]alarm.Rule, error) {
	return alarm.Build(cfg.Alarms, alarm.Deps{Q: a.db, N: a.notes.Store(), M: alarmModel{a}})
}

// setAlarmRules builds the rules from the configuration and installs
// them in the engine.
func (a *App) setAlarmRules(cfg *config.Config) error {
	rules, err := a.buildRules(cfg)
	if err != nil {
		return err
	}
	a.alarms.SetRules(rules)
	return nil
}

// Evaluating reports whether the alarm engine has started evaluating
// rules (after the warm-up that follows a start).
func (a *App) Evaluating() bool { return a.evaluating.Load() }

// Alarms is the alarm engine (web.Model).
func (a *App) Alarms() *alarm.Engine { return a.alarms }
