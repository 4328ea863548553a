package app

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/alarm"
	"github.com/beamctl/beamctl/internal/notify"
)

// TestAlertOf: what notifiers are told about an alarm change.
func TestAlertOf(t *testing.T) {
	raised := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	acked := raised.Add(time.Minute)
	c := alarm.Change{
		Alarm: alarm.Alarm{ID: 3, Rule: "process_limit", Cluster: "c", Node: "a@h", Subject: "s", Severity: alarm.Major, Active: true,
			RaisedAt: raised, Value: 0.9, Description: "d", Evidence: []string{"e"}, Labels: map[string]string{"team": "db"},
			Annotations: map[string]string{"runbook": "r"}, Flapping: true, AckedBy: "alice", AckedAt: &acked},
		Event: alarm.Event{Time: acked, Kind: "acked", Who: "alice", Text: "t"},
	}
	require.Equal(t, notify.Alert{
		Alarm: notify.Alarm{ID: 3, Rule: "process_limit", Cluster: "c", Node: "a@h", Subject: "s", Severity: "major", Active: true,
			RaisedAt: raised, Value: 0.9, Description: "d", Evidence: []string{"e"}, Labels: map[string]string{"team": "db"},
			Annotations: map[string]string{"runbook": "r"}, Flapping: true, AckedBy: "alice", AckedAt: &acked},
		Event: notify.Event{Time: acked, Kind: "acked", Who: "alice", Text: "t"},
	}, alertOf(c))
}
