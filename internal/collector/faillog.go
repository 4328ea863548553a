package collector

import (
	"sync"
	"time"
)

// failLogEvery is how often one collector's failure on one node is logged
// while it keeps failing: at thousands of nodes a slow fleet would
// otherwise print a line per collector per node per round (the
// beamctl_collector_success series still records every failure).
const failLogEvery = time.Minute

// failLog decides which collector failures are logged: the first of a
// run of failures, then one a minute with the count of those not logged.
type failLog struct {
	mu    sync.Mutex
	state map[[2]string]*failRun // collector, node
}

type failRun struct {
	logged     time.Time
	suppressed int
}

// failed reports whether this failure is logged, and how many were not
// since the last one logged.
func (f *failLog) failed(collector, node string, now time.Time) (log bool, suppressed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.state == nil {
		f.state = map[[2]string]*failRun{}
	}
	k := [2]string{collector, node}
	r := f.state[k]
	if r == nil {
		f.state[k] = &failRun{logged: now}
		return true, 0
	}
	if now.Sub(r.logged) < failLogEvery {
		r.suppressed++
		return false, 0
	}
	suppressed = r.suppressed
	r.logged, r.suppressed = now, 0
	return true, suppressed
}

// succeeded ends a run of failures; recovered says there was one, and
// suppressed how many of its failures were not logged.
func (f *failLog) succeeded(collector, node string) (recovered bool, suppressed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := [2]string{collector, node}
	r := f.state[k]
	if r == nil {
		return false, 0
	}
	delete(f.state, k)
	return true, r.suppressed
}
