package alarm

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDeliverWhatWasStored raises two alarms in one pass where the store
// refuses the second (a trigger on the real SQLite file): the first is
// stored, so it is delivered and active; the second is neither.
func TestDeliverWhatWasStored(t *testing.T) {
	ctx := context.Background()
	e, err := Open(ctx, Options{Dir: t.TempDir()})
	require.NoError(t, err)
	defer e.Close()
	_, err = e.st.db.ExecContext(ctx, `CREATE TRIGGER refuse_b BEFORE INSERT ON alarms WHEN NEW.node = 'b@h'
		BEGIN SELECT RAISE(ABORT, 'disk full'); END`)
	require.NoError(t, err)
	var delivered []string
	cancel := e.OnChange(func(c Change) { delivered = append(delivered, c.Event.Kind.String()+" "+c.Alarm.Node) })
	defer cancel()
	e.SetRules([]Rule{&scripted{obs: []Observation{
		{Key: Key{Cluster: "c", Node: "a@h"}, Severity: Major, Value: 1},
		{Key: Key{Cluster: "c", Node: "b@h"}, Severity: Major, Value: 1},
	}}})
	e.Evaluate(ctx, time.Now())
	require.Equal(t, []string{"raised a@h"}, delivered)
	active := e.Active()
	require.Len(t, active, 1)
	require.Equal(t, "a@h", active[0].Node)
	stored, err := e.List(ctx, Filter{})
	require.NoError(t, err)
	require.Len(t, stored, 1)
}
