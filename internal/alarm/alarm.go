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
	"database/sql/driver"
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
	Kind EventKind `json:"kind"`
	Who  string    `json:"who,omitempty"`
	Text string    `json:"text,omitempty"`
}

// EventKind is what changed in an alarm; its name (raised, escalated, …)
// is what JSON, the database and the notifiers carry.
type EventKind int

// Event kinds.
const (
	// NoEvent is no change.
	NoEvent EventKind = iota
	// Raised: the condition held for the rule's for: duration.
	Raised
	// Escalated: the alarm moved to a more severe level.
	Escalated
	// Deescalated: the alarm moved to a less severe level.
	Deescalated
	// Flapping: the alarm was raised too often and is held raised.
	Flapping
	// Cleared: the condition no longer holds.
	Cleared
	// Acked: an operator acknowledged the alarm.
	Acked
	// Unacked: an operator took an acknowledgement back.
	Unacked
	// Commented: an operator commented.
	Commented
	// ClearedByOperator: an operator cleared the alarm by hand.
	ClearedByOperator
)

var eventKinds = [...]string{NoEvent: "", Raised: "raised", Escalated: "escalated", Deescalated: "deescalated", Flapping: "flapping",
	Cleared: "cleared", Acked: "acked", Unacked: "unacked", Commented: "commented", ClearedByOperator: "cleared_by_operator"}

func (k EventKind) String() string {
	if k < 0 || int(k) >= len(eventKinds) {
		return fmt.Sprintf("event(%d)", int(k))
	}
	return eventKinds[k]
}

// MarshalText writes the name.
func (k EventKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a name.
func (k *EventKind) UnmarshalText(b []byte) error {
	for i, n := range eventKinds {
		if n == string(b) {
			*k = EventKind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown alarm event %q", b)
}

// Value stores the name in the database.
func (k EventKind) Value() (driver.Value, error) { return k.String(), nil }

// Scan reads a stored name.
func (k *EventKind) Scan(src any) error {
	switch v := src.(type) {
	case string:
		return k.UnmarshalText([]byte(v))
	case []byte:
		return k.UnmarshalText(v)
	}
	return fmt.Errorf("alarm event: cannot read %T", src)
}
