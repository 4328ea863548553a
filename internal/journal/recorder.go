package journal

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// RecorderOptions configure rate limiting.
type RecorderOptions struct {
	// Rate is how many notifications per second one node may record of
	// one kind, once its Burst is spent (defaults 10 and 200).
	Rate, Burst float64
}

// Recorder stores notifications after rate limiting them per cluster,
// node and kind, and streams them to subscribers. What it drops is
// counted and recorded as one rate_limited notification per key and
// flush.
type Recorder struct {
	store *Store
	log   *slog.Logger
	opts  RecorderOptions

	mu      sync.Mutex
	buckets map[key]*bucket
	counts  map[key]*Counts
	subs    map[*subscription]struct{}
}

type key struct{ cluster, node, kind string }

type bucket struct {
	tokens  float64
	last    time.Time
	pending uint64 // dropped since the last flush
}

// Counts are what a recorder did with one cluster, node and kind:
// notifications stored, dropped by the rate limit, and lost because the
// store failed.
type Counts struct {
	Cluster, Node, Kind       string
	Recorded, Dropped, Failed uint64
}

type subscription struct {
	f       Filter
	ch      chan Notification
	dropped uint64
}

// NewRecorder records into store.
func NewRecorder(store *Store, logger *slog.Logger, o RecorderOptions) *Recorder {
	if o.Rate == 0 {
		o.Rate = 10
	}
	if o.Burst == 0 {
		o.Burst = 200
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Recorder{store: store, log: logger, opts: o, buckets: map[key]*bucket{}, counts: map[key]*Counts{},
		subs: map[*subscription]struct{}{}}
}

// Store is the recorder's store.
func (r *Recorder) Store() *Store { return r.store }

// Record stores the notifications that the rate limit lets through, in
// one transaction, then streams them. It returns the store's error: a nil
// error means what was kept is on disk.
func (r *Recorder) Record(ctx context.Context, ns ...Notification) error {
	now := time.Now()
	kept := make([]Notification, 0, len(ns))
	r.mu.Lock()
	for _, n := range ns {
		k := key{n.Cluster, n.Node, n.Kind}
		if r.allow(k, now) {
			kept = append(kept, n)
		} else {
			r.count(k).Dropped++
		}
	}
	r.mu.Unlock()
	err := r.store.Add(ctx, kept)
	r.counted(kept, err)
	if err != nil {
		return err
	}
	r.publish(kept)
	return nil
}

// counted counts notifications after the store's answer: recorded, or
// failed with err.
func (r *Recorder) counted(ns []Notification, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range ns {
		c := r.count(key{n.Cluster, n.Node, n.Kind})
		if err != nil {
			c.Failed++
		} else {
			c.Recorded++
		}
	}
}

// allow takes a token from the key's bucket. The caller holds mu.
func (r *Recorder) allow(k key, now time.Time) bool {
	b := r.buckets[k]
	if b == nil {
		b = &bucket{tokens: r.opts.Burst, last: now}
		r.buckets[k] = b
	}
	b.tokens = min(r.opts.Burst, b.tokens+now.Sub(b.last).Seconds()*r.opts.Rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	b.pending++
	return false
}

func (r *Recorder) count(k key) *Counts {
	c := r.counts[k]
	if c == nil {
		c = &Counts{Cluster: k.cluster, Node: k.node, Kind: k.kind}
		r.counts[k] = c
	}
	return c
}

// Flush records, for every key that dropped notifications since the last
// flush, one rate_limited notification with the count.
func (r *Recorder) Flush(ctx context.Context) error {
	now := time.Now()
	var ns []Notification
	r.mu.Lock()
	for k, b := range r.buckets {
		if b.pending == 0 {
			continue
		}
		ns = append(ns, Notification{Time: now, Cluster: k.cluster, Node: k.node, Kind: "rate_limited", Severity: Warning,
			Text: fmt.Sprintf("Dropped %d %s notifications from %s: more than %.0f per second after a burst of %.0f.",
				b.pending, k.kind, k.node, r.opts.Rate, r.opts.Burst),
			Fields: map[string]string{"dropped": fmt.Sprint(b.pending), "dropped_kind": k.kind}})
		b.pending = 0
	}
	r.mu.Unlock()
	sort.Slice(ns, func(i, j int) bool { return ns[i].Text < ns[j].Text })
	if err := r.store.Add(ctx, ns); err != nil {
		return err
	}
	r.publish(ns)
	return nil
}

// Counts reports, per cluster, node and kind, what was recorded and
// dropped since the recorder started.
func (r *Recorder) Counts() []Counts {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Counts, 0, len(r.counts))
	for _, c := range r.counts {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.Cluster+"\x00"+a.Node+"\x00"+a.Kind < b.Cluster+"\x00"+b.Node+"\x00"+b.Kind
	})
	return out
}

// Subscribe streams the notifications recorded from now on that match f.
// A subscriber that does not keep up loses notifications (they are still
// stored). cancel ends the subscription and closes the channel.
func (r *Recorder) Subscribe(f Filter, buf int) (<-chan Notification, func()) {
	s := &subscription{f: f, ch: make(chan Notification, buf)}
	r.mu.Lock()
	r.subs[s] = struct{}{}
	r.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			r.mu.Lock()
			delete(r.subs, s)
			r.mu.Unlock()
			close(s.ch)
		})
	}
}

func (r *Recorder) publish(ns []Notification) {
	if len(ns) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for s := range r.subs {
		for _, n := range ns {
			if !s.f.Match(n) {
				continue
			}
			select {
			case s.ch <- n:
			default:
				s.dropped++
			}
		}
	}
}

// Run flushes rate-limit summaries every flush interval and applies
// retention every minute, until ctx ends.
func (r *Recorder) Run(ctx context.Context, flush time.Duration) {
	t := time.NewTicker(flush)
	defer t.Stop()
	lastPrune := time.Time{}
	for {
		select {
		case <-ctx.Done():
			_ = r.Flush(context.WithoutCancel(ctx))
			return
		case now := <-t.C:
			if err := r.Flush(ctx); err != nil {
				r.log.Error("Cannot record rate-limit summaries", "err", err)
			}
			if now.Sub(lastPrune) >= time.Minute {
				lastPrune = now
				if n, err := r.store.Prune(ctx, now); err != nil {
					r.log.Error("Notification retention failed", "err", err)
				} else if n > 0 {
					r.log.Info("Notification retention", "dropped", n)
				}
			}
		}
	}
}
