package collector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestFailLog: a run of failures is logged at its start, then once a
// minute with the count of those not logged; a success ends the run.
func TestFailLog(t *testing.T) {
	var f failLog
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	type step struct {
		at         time.Duration
		ok         bool
		log        bool
		suppressed int
	}
	steps := []step{
		{0, false, true, 0},
		{10 * time.Second, false, false, 0},
		{20 * time.Second, false, false, 0},
		{61 * time.Second, false, true, 2},
		{70 * time.Second, false, false, 0},
		{80 * time.Second, true, true, 1}, // recovered, one not logged
		{90 * time.Second, true, false, 0},
		{100 * time.Second, false, true, 0}, // a new run
	}
	for i, s := range steps {
		var log bool
		var n int
		if s.ok {
			log, n = f.succeeded("ets", "a@h")
		} else {
			log, n = f.failed("ets", "a@h", t0.Add(s.at))
		}
		require.Equal(t, s.log, log, "step %d", i)
		require.Equal(t, s.suppressed, n, "step %d", i)
	}
	log, _ := f.failed("ets", "b@h", t0.Add(101*time.Second))
	require.True(t, log, "another node's failures are their own")
}
