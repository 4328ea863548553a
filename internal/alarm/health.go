package alarm

import (
	"context"
	"sort"
	"time"
)

// RuleHealth is how a rule's last evaluation went, as in Prometheus'
// rules API.
type RuleHealth int

// Rule healths.
const (
	// HealthUnknown is a rule not evaluated yet.
	HealthUnknown RuleHealth = iota
	// HealthGood is a rule whose last evaluation succeeded.
	HealthGood
	// HealthBad is a rule whose last evaluation failed (its alarms stay as
	// they are).
	HealthBad
)

func (h RuleHealth) String() string {
	switch h {
	case HealthGood:
		return "ok"
	case HealthBad:
		return "err"
	}
	return "unknown"
}

// MarshalText writes the health as Prometheus does: unknown, ok or err.
func (h RuleHealth) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// RuleStatus is a rule and the health of its evaluations.
type RuleStatus struct {
	Name string `json:"name"`
	// Type is query (PromQL), model (over the server's model) or event
	// (counting notifications).
	Type string `json:"type"`
	// Query is a query rule's expression.
	Query  string     `json:"query,omitempty"`
	Health RuleHealth `json:"health"`
	// LastError is the error of the last evaluation if it failed.
	LastError      string    `json:"last_error,omitempty"`
	LastEvaluation time.Time `json:"last_evaluation"`
	// EvaluationSeconds is how long the last evaluation took.
	EvaluationSeconds float64 `json:"evaluation_seconds"`
	Evaluations       uint64  `json:"evaluations"`
	Failures          uint64  `json:"failures"`
	// Active counts the rule's raised alarms.
	Active int `json:"active"`
	// ForSeconds is how long a condition must hold before its alarm is
	// raised.
	ForSeconds float64 `json:"for_seconds"`
	// PaceSeconds is the shortest time between two evaluations of a rule
	// evaluated less often than every round (see Paced).
	PaceSeconds float64 `json:"pace_seconds,omitempty"`
	// Labels and Annotations are a query rule's own (the annotations as
	// templates, unexpanded), as Prometheus' rules API shows them.
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ruleType names the kind of a rule for its status.
func ruleType(r Rule) (typ, query string) {
	switch x := r.(type) {
	case *QueryRule:
		return "query", x.Expr
	case *modelRule:
		return "model", ""
	case *EventRule:
		return "event", ""
	}
	return "other", ""
}

// evaluate runs one rule and keeps the health of the evaluation; a rule
// that starts failing is logged once, and again when it recovers, not at
// every round.
func (e *Engine) evaluate(ctx context.Context, r Rule, now time.Time, active map[Key]Severity) ([]Observation, error) {
	start := time.Now()
	obs, err := r.Evaluate(ctx, now, active)
	took := time.Since(start)
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.health[r.Name()]
	if st == nil {
		st = &RuleStatus{Name: r.Name()}
		e.health[r.Name()] = st
	}
	was := st.Health
	st.LastEvaluation, st.EvaluationSeconds = now, took.Seconds()
	st.Evaluations++
	if err != nil {
		st.Failures++
		st.Health, st.LastError = HealthBad, err.Error()
		if was != HealthBad {
			e.log.Warn("Alarm rule fails; its alarms stay as they are until it recovers (see /api/v1/alarm-rules)", "rule", r.Name(), "err", err)
		}
		return nil, err
	}
	st.Health, st.LastError = HealthGood, ""
	if was == HealthBad {
		e.log.Info("Alarm rule recovered", "rule", r.Name())
	}
	return obs, nil
}

// Rules returns the installed rules with the health of their
// evaluations, by name.
func (e *Engine) Rules() []RuleStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	active := map[string]int{}
	for k := range e.active {
		active[k.Rule]++
	}
	out := make([]RuleStatus, 0, len(e.rules))
	for _, r := range e.rules {
		st := RuleStatus{Name: r.Name()}
		if h := e.health[r.Name()]; h != nil {
			st = *h
		}
		st.Type, st.Query = ruleType(r)
		st.Active = active[r.Name()]
		st.ForSeconds = r.For().Seconds()
		if p, ok := r.(Paced); ok {
			st.PaceSeconds = p.Pace().Seconds()
		}
		if q, ok := r.(*QueryRule); ok {
			st.Labels, st.Annotations = q.Labels, q.Annotations
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// PendingKey is a condition that holds but whose rule's for: has not
// elapsed yet: Prometheus calls its alert pending.
type PendingKey struct {
	Key   Key       `json:"key"`
	Since time.Time `json:"since"`
}

// Pending returns the conditions waiting for their rule's for: duration,
// by rule and key.
func (e *Engine) Pending() []PendingKey {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]PendingKey, 0, len(e.pending))
	for k, since := range e.pending {
		out = append(out, PendingKey{Key: k, Since: since})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key.String() < out[j].Key.String() })
	return out
}
