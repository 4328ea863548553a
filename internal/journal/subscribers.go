package journal

// Subscribers returns how many subscriptions are open, so that a test can
// wait until a consumer has subscribed rather than sleep.
func (r *Recorder) Subscribers() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.subs)
}
