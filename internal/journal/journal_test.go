package journal

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSeverityStrings checks that the typed severities are written as
// before: their names in the database and in JSON.
func TestSeverityStrings(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer s.Close()
	ns := []Notification{
		{Time: time.Now(), Cluster: "c", Node: "a@h", Kind: "node_down", Severity: Error, Text: "down"},
		{Time: time.Now(), Cluster: "c", Node: "a@h", Kind: "crash_dump", Severity: Critical, Text: "dump"},
	}
	require.NoError(t, s.Add(ctx, ns))
	var stored []string
	rows, err := s.db.QueryContext(ctx, "SELECT severity FROM notifications ORDER BY id")
	require.NoError(t, err)
	for rows.Next() {
		var sev string
		require.NoError(t, rows.Scan(&sev))
		stored = append(stored, sev)
	}
	require.NoError(t, rows.Close())
	require.Equal(t, []string{"error", "critical"}, stored)
	got, err := s.Query(ctx, Filter{})
	require.NoError(t, err)
	require.Equal(t, Critical, got[0].Severity)
	require.Equal(t, Error, got[1].Severity)
	b, err := json.Marshal(got[1])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	require.Equal(t, "error", m["severity"])
}
