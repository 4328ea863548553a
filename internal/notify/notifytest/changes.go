package notifytest

import (
	"time"

	"github.com/beamctl/beamctl/internal/notify"
	"github.com/beamctl/beamctl/internal/severity"
)

// Changes is an alarm's life as notifiers see it: raised (critical), acked
// by alice, commented by alice, cleared.
func Changes() []notify.Alert {
	raised := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	a := notify.Alarm{ID: 7, Rule: "scripted", Cluster: "c", Node: "a@h", Severity: severity.Critical, Active: true, RaisedAt: raised,
		Value: 7, Description: "value critical", Evidence: []string{"up == 0"}}
	acked := a
	acked.AckedBy, acked.AckedAt = "alice", &[]time.Time{raised.Add(time.Minute)}[0]
	cleared := acked
	cleared.Active, cleared.ClearedAt = false, &[]time.Time{raised.Add(3 * time.Minute)}[0]
	return []notify.Alert{
		{Alarm: a, Event: notify.Event{Time: raised, Kind: "raised"}},
		{Alarm: acked, Event: notify.Event{Time: *acked.AckedAt, Kind: "acked", Who: "alice"}},
		{Alarm: acked, Event: notify.Event{Time: raised.Add(2 * time.Minute), Kind: "commented", Who: "alice", Text: "draining it"}},
		{Alarm: cleared, Event: notify.Event{Time: *cleared.ClearedAt, Kind: "cleared"}},
	}
}
