package journal

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRecorderCountsAfterWrite records into a store that cannot write (it
// is closed): nothing is counted as recorded or streamed, the loss is
// counted as failed.
func TestRecorderCountsAfterWrite(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	r := NewRecorder(s, nil, RecorderOptions{})
	live, cancel := r.Subscribe(Filter{}, 10)
	defer cancel()
	n := Notification{Cluster: "c", Node: "a@h", Kind: "log", Severity: Error, Text: "stored"}
	require.NoError(t, r.Record(ctx, n))
	require.Equal(t, "stored", (<-live).Text)

	require.NoError(t, s.Close())
	n.Text = "lost"
	require.Error(t, r.Record(ctx, n, n))
	require.Equal(t, []Counts{{Cluster: "c", Node: "a@h", Kind: "log", Recorded: 1, Failed: 2}}, r.Counts())
	require.Empty(t, live, "what was not stored is not streamed")
}
