// Package alarm is beamctl's level-based alarm engine. An alarm is a
// state, not an event: it is raised when a rule's condition has held for
// the rule's for: duration, changes severity in place when the level
// changes (no clear-and-raise storm), and is cleared when the condition
// stops holding, with hysteresis (a clear threshold below the raise
// threshold). A condition that comes and goes too often is one flapping
// alarm, not many. Operators acknowledge, comment on and clear alarms;
// every change is kept in history. State, history and the for: timers
// live in SQLite and survive restarts.
package alarm

import (
	"fmt"
	"time"

	"github.com/beamctl/beamctl/internal/severity"
)

// Severity of an alarm: warning, minor, major or critical, from beamctl's
// one vocabulary of severities (internal/severity, shared with the
// notifications); a greater Severity is more severe, and None is a
// condition that does not hold.
type Severity = severity.Level

// Severities of alarms.
const (
	Critical = severity.Critical
	Major    = severity.Major
	Minor    = severity.Minor
	Warning  = severity.Warning
	// None is no severity: the condition does not hold.
	None = severity.None
)

// ParseSeverity reads the name of an alarm severity.
func ParseSeverity(s string) (Severity, error) {
	switch l, _ := severity.Parse(s); l {
	case Critical, Major, Minor, Warning:
		return l, nil
	}
	return None, fmt.Errorf("severity %q is not critical, major, minor or warning", s)
}

// Key identifies what an alarm is about: a rule on a node (or a whole
// cluster when Node is empty), and a subject within it (a process, a
// module; empty for the node itself).
type Key struct {
	Rule, Cluster, Node, Subject string
}

func (k Key) String() string {
	s := k.Rule + " " + k.Cluster + "/" + k.Node
	if k.Subject != "" {
		s += " " + k.Subject
	}
	return s
}

// Observation is what a rule found for one key at one evaluation: the
// level (empty when the condition does not hold), the value that decided
// it, a description and evidence (queries, notification searches).
type Observation struct {
	Key         Key
	Severity    Severity
	Value       float64
	Description string
	Evidence    []string
	// Labels and Annotations are a user rule's, for Alertmanager.
	Labels, Annotations map[string]string
}

// Alarm is an alarm's state.
type Alarm struct {
	ID          int64             `json:"id"`
	Rule        string            `json:"rule"`
	Cluster     string            `json:"cluster"`
	Node        string            `json:"node,omitempty"`
	Subject     string            `json:"subject,omitempty"`
	Severity    Severity          `json:"severity"`
	Active      bool              `json:"active"`
	RaisedAt    time.Time         `json:"raised_at"`
	ClearedAt   *time.Time        `json:"cleared_at,omitempty"`
	Value       float64           `json:"value"`
	Description string            `json:"description"`
	Evidence    []string          `json:"evidence,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Flapping    bool              `json:"flapping,omitempty"`
	AckedBy     string            `json:"acked_by,omitempty"`
	AckedAt     *time.Time        `json:"acked_at,omitempty"`
	History     []Event           `json:"history,omitempty"`
}

// Key is the alarm's key.
func (a *Alarm) Key() Key { return Key{a.Rule, a.Cluster, a.Node, a.Subject} }

// Event is one change of an alarm.
type Event struct {
	Time time.Time `json:"time"`
	Kind string    `json:"kind"` // raised, escalated, deescalated, flapping, cleared, acked, unacked, commented, cleared_by_operator
	Who  string    `json:"who,omitempty"`
	Text string    `json:"text,omitempty"`
}
