// Package severity is beamctl's one vocabulary of severities, shared by
// alarms (warning, minor, major, critical) and notifications (info,
// warning, error, critical): a typed, ordered enum whose names are what
// the JSON API, the databases and the wire formats carry.
package severity

import (
	"database/sql/driver"
	"fmt"
)

// Level is a severity; a greater Level is more severe. The zero Level,
// None, is no severity (a condition that does not hold), written "".
type Level int

// Levels, least severe first. Alarms use Warning, Minor, Major and
// Critical; notifications use Info, Warning, Error and Critical.
const (
	// None is no severity.
	None Level = iota
	// Info is a notification of a normal change (a node up, a code load).
	Info
	// Warning is the least severe alarm, and a notification that may need
	// a look.
	Warning
	// Minor is an alarm that needs action soon.
	Minor
	// Major is an alarm that needs action now.
	Major
	// Error is a notification of a failure (a node down, a crash).
	Error
	// Critical is an alarm or notification of an outage or data at risk.
	Critical
)

var names = [...]string{None: "", Info: "info", Warning: "warning", Minor: "minor", Major: "major", Error: "error", Critical: "critical"}

func (l Level) String() string {
	if l < 0 || int(l) >= len(names) {
		return fmt.Sprintf("severity(%d)", int(l))
	}
	return names[l]
}

// Parse reads a severity name ("" is None).
func Parse(s string) (Level, error) {
	for l, n := range names {
		if n == s {
			return Level(l), nil
		}
	}
	return None, fmt.Errorf("unknown severity %q", s)
}

// MarshalText writes the name, so that JSON carries it.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads a name.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// Value stores the name in a database.
func (l Level) Value() (driver.Value, error) { return l.String(), nil }

// Scan reads a stored name.
func (l *Level) Scan(src any) error {
	switch v := src.(type) {
	case string:
		return l.UnmarshalText([]byte(v))
	case []byte:
		return l.UnmarshalText(v)
	case nil:
		*l = None
		return nil
	}
	return fmt.Errorf("severity: cannot read %T", src)
}
