package alarm

import (
	"context"
	"time"
)

// Resolve clears the raised alarm of k now, with reason as the clearing
// event's text, and drops its pending for: timer: for a condition that
// ended because its subject went away (a node that left the cluster),
// rather than because it stopped holding. It reports whether an alarm was
// raised.
func (e *Engine) Resolve(ctx context.Context, k Key, reason string) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.pending[k]; ok {
		delete(e.pending, k)
		if err := e.st.deletePending(ctx, k); err != nil {
			return false, err
		}
	}
	if e.active[k] == nil {
		return false, nil
	}
	a := *e.active[k] // changed only once stored
	now := time.Now()
	a.Active, a.ClearedAt = false, &now
	ev := Event{Time: now, Kind: Cleared, Text: reason}
	if err := e.st.save(ctx, &a, ev); err != nil {
		return false, err
	}
	delete(e.active, k)
	delete(e.quiet, k)
	e.notify([]Change{{a, ev}})
	return true, nil
}
