package alarm

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Rule finds the conditions alarms are about.
type Rule interface {
	Name() string
	// For is how long a condition must hold before its alarm is raised.
	For() time.Duration
	// Evaluate returns one observation per key the rule looks at (keys
	// without an observation do not hold). active has the severities of
	// the rule's raised alarms, for hysteresis. An error leaves the rule's
	// alarms as they are.
	Evaluate(ctx context.Context, now time.Time, active map[Key]Severity) ([]Observation, error)
}

// Paced is a rule whose result moves too slowly to be worth evaluating at
// every round: a rate or growth over a window of minutes reads every
// node's samples of the whole window each time, and a tenth of the
// window later it has hardly changed.
type Paced interface {
	// Pace is the shortest time between two evaluations of the rule
	// (zero: every round).
	Pace() time.Duration
}

// Options configure an engine.
type Options struct {
	Dir string // where alarms.db lives
	// FlapCount raises of one key within FlapWindow make its alarm
	// flapping: it then stays raised until the condition has been absent
	// for FlapWindow (defaults 4 and 10 minutes).
	FlapCount  int
	FlapWindow time.Duration
	// OutageTolerance is how long evaluation may have stopped (beamctl
	// down) for the pending for: timers to be kept: after a longer gap
	// nobody knows whether the conditions held throughout, so they start
	// again (default 1h, as Prometheus' --rules.alert.for-outage-tolerance).
	OutageTolerance time.Duration
	Logger          *slog.Logger
}

// Change is an alarm after one of its events, for notifiers.
type Change struct {
	Alarm Alarm
	Event Event
}

// Engine evaluates rules and keeps the alarms. It is safe for concurrent
// use.
type Engine struct {
	st   *db
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	rules   []Rule
	health  map[string]*RuleStatus // by rule name, kept across reloads
	active  map[Key]*Alarm
	pending map[Key]time.Time // condition holds since, not raised yet
	raises  map[Key][]time.Time
	quiet   map[Key]time.Time // a flapping alarm's condition stopped holding at
	subs    []subscriber
	nextSub int
	kick    chan struct{}
	// lastEval is the last evaluation before this start (if known);
	// resumed is set once the first evaluation has checked the gap.
	lastEval      time.Time
	lastEvalKnown bool
	resumed       bool
	// evaluations counts the completed evaluations (see Evaluations).
	evaluations atomic.Uint64
	// evalNanos sums the wall time of the completed evaluations (see
	// EvaluationSeconds).
	evalNanos atomic.Int64
}

// Evaluations returns how many evaluations have completed since Open, so
// that a test can wait on evaluations rather than on time.
func (e *Engine) Evaluations() uint64 { return e.evaluations.Load() }

// EvaluationSeconds is the wall time all completed evaluations took, so
// that its rate over Evaluations' is the mean time of one round.
func (e *Engine) EvaluationSeconds() float64 {
	return time.Duration(e.evalNanos.Load()).Seconds()
}

// Open opens the engine's store and loads the raised alarms and the
// pending for: timers, so that a restart neither raises again nor clears
// silently.
func Open(ctx context.Context, o Options) (*Engine, error) {
	if o.FlapCount == 0 {
		o.FlapCount = 4
	}
	if o.FlapWindow == 0 {
		o.FlapWindow = 10 * time.Minute
	}
	if o.OutageTolerance == 0 {
		o.OutageTolerance = time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	st, err := openStore(o.Dir)
	if err != nil {
		return nil, err
	}
	e := &Engine{st: st, opts: o, log: o.Logger, health: map[string]*RuleStatus{}, active: map[Key]*Alarm{}, raises: map[Key][]time.Time{}, quiet: map[Key]time.Time{},
		kick: make(chan struct{}, 1)}
	as, err := st.list(ctx, Filter{ActiveOnly: true, Limit: 1 << 30})
	if err != nil {
		st.db.Close()
		return nil, err
	}
	for i := range as {
		e.active[as[i].Key()] = &as[i]
	}
	if e.pending, err = st.pending(ctx); err != nil {
		st.db.Close()
		return nil, err
	}
	if e.lastEval, e.lastEvalKnown, err = st.lastEvaluation(ctx); err != nil {
		st.db.Close()
		return nil, err
	}
	return e, nil
}

// Close closes the store.
func (e *Engine) Close() error { return e.st.db.Close() }

// SetRules replaces the rules (at start and on reload). Alarms of rules
// that are gone stay as they are until cleared by an operator; the
// health of a rule that stays (by name) is kept.
func (e *Engine) SetRules(rules []Rule) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rules = rules
	keep := map[string]bool{}
	for _, r := range rules {
		keep[r.Name()] = true
	}
	for name := range e.health {
		if !keep[name] {
			delete(e.health, name)
		}
	}
}

// OnChange calls f after every alarm change (from the goroutine that made
// it; f must not block). cancel ends the subscription.
func (e *Engine) OnChange(f func(Change)) (cancel func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nextSub++
	id := e.nextSub
	e.subs = append(e.subs, subscriber{id, f})
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.subs = slices.DeleteFunc(e.subs, func(s subscriber) bool { return s.id == id })
	}
}

// subscriber is a function OnChange registered.
type subscriber struct {
	id int
	f  func(Change)
}

// Run evaluates every rule each interval, and at once when kicked, until
// ctx ends.
func (e *Engine) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		e.Evaluate(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-e.kick:
		}
	}
}

// Kick asks Run for an evaluation now (e.g. a node just went down), so
// that detection does not wait for the interval.
func (e *Engine) Kick() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Evaluate runs every rule once at now and applies what they found.
func (e *Engine) Evaluate(ctx context.Context, now time.Time) {
	start := time.Now()
	defer func() { e.evalNanos.Add(int64(time.Since(start))) }()
	e.resume(ctx, now)
	e.mu.Lock()
	rules := e.rules
	e.mu.Unlock()
	for _, r := range rules {
		if e.notDue(r, now) {
			continue
		}
		e.mu.Lock()
		active := map[Key]Severity{}
		for k, a := range e.active {
			if k.Rule == r.Name() {
				active[k] = a.Severity
			}
		}
		e.mu.Unlock()
		obs, err := e.evaluate(ctx, r, now, active)
		if err != nil {
			continue
		}
		if err := e.apply(ctx, r, now, obs); err != nil {
			e.log.Error("Cannot store alarms", "rule", r.Name(), "err", err)
		}
	}
	if err := e.st.setLastEvaluation(ctx, now); err != nil {
		e.log.Error("Cannot store the evaluation time", "err", err)
	}
	e.evaluations.Add(1)
}

// notDue tells whether a paced rule was evaluated less than its pace
// before now (a tenth of slack, so that a ticker's jitter does not push
// it to the round after). Its alarms and pending timers stay as they are
// until its next evaluation.
func (e *Engine) notDue(r Rule, now time.Time) bool {
	p, ok := r.(Paced)
	if !ok || p.Pace() <= 0 {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.health[r.Name()]
	if st == nil || st.Evaluations == 0 {
		return false
	}
	since := now.Sub(st.LastEvaluation)
	return since >= 0 && since < p.Pace()-p.Pace()/10
}

// resume, at the first evaluation after a start, drops the pending for:
// timers if evaluation stopped for longer than the outage tolerance (or
// for an unknown time): a condition seen before the outage may have gone
// and come back, so its for: starts again. A shorter restart keeps them.
func (e *Engine) resume(ctx context.Context, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.resumed {
		return
	}
	e.resumed = true
	if len(e.pending) == 0 || (e.lastEvalKnown && now.Sub(e.lastEval) <= e.opts.OutageTolerance) {
		return
	}
	if err := e.st.dropPending(ctx); err != nil {
		e.log.Error("Cannot drop the pending timers", "err", err)
		return
	}
	gap := "an unknown time"
	if e.lastEvalKnown {
		gap = now.Sub(e.lastEval).Round(time.Second).String()
	}
	e.log.Info("Pending for: timers start again: rules were not evaluated for longer than the outage tolerance",
		"timers", len(e.pending), "gap", gap, "tolerance", e.opts.OutageTolerance)
	e.pending = map[Key]time.Time{}
}

// apply moves every key of the rule along: pending, raised, changed
// severity, flapping, cleared. The changes stored are delivered, also
// when a later write fails.
func (e *Engine) apply(ctx context.Context, r Rule, now time.Time, obs []Observation) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var changes []Change
	defer func() { e.notify(changes) }()
	holds := map[Key]bool{}
	for _, o := range obs {
		o.Key.Rule = r.Name()
		if o.Severity == None {
			continue
		}
		holds[o.Key] = true
		delete(e.quiet, o.Key)
		if a := e.active[o.Key]; a != nil {
			ev := Event{Time: now}
			switch {
			case o.Severity > a.Severity:
				ev.Kind, ev.Text = Escalated, fmt.Sprintf("%s to %s: %s", a.Severity, o.Severity, o.Description)
			case o.Severity < a.Severity:
				ev.Kind, ev.Text = Deescalated, fmt.Sprintf("%s to %s: %s", a.Severity, o.Severity, o.Description)
			}
			a.Severity, a.Value, a.Description, a.Evidence = o.Severity, o.Value, o.Description, o.Evidence
			if ev.Kind == NoEvent {
				// Only the value moved: kept in memory (and stored with the
				// next event), not written every round.
				continue
			}
			if err := e.st.save(ctx, a, ev); err != nil {
				return err
			}
			changes = append(changes, Change{*a, ev})
			continue
		}
		since, ok := e.pending[o.Key]
		if !ok {
			since = now
			e.pending[o.Key] = now
			if err := e.st.setPending(ctx, o.Key, now); err != nil {
				return err
			}
		}
		if now.Sub(since) < r.For() {
			continue
		}
		a := &Alarm{Rule: o.Key.Rule, Cluster: o.Key.Cluster, Node: o.Key.Node, Subject: o.Key.Subject, Severity: o.Severity,
			Active: true, RaisedAt: now, Value: o.Value, Description: o.Description, Evidence: o.Evidence,
			Labels: o.Labels, Annotations: o.Annotations}
		ev := Event{Time: now, Kind: Raised, Text: o.Description}
		raises := append(e.recentRaises(o.Key, now), now)
		e.raises[o.Key] = raises
		if len(raises) >= e.opts.FlapCount {
			a.Flapping = true
			ev.Text += fmt.Sprintf(" (flapping: raised %d times in %s)", len(raises), e.opts.FlapWindow)
		}
		if err := e.st.save(ctx, a, ev); err != nil {
			return err
		}
		e.active[o.Key] = a
		changes = append(changes, Change{*a, ev})
		delete(e.pending, o.Key)
		if err := e.st.deletePending(ctx, o.Key); err != nil {
			return err
		}
	}
	for k := range e.pending {
		if k.Rule == r.Name() && !holds[k] {
			delete(e.pending, k)
			if err := e.st.deletePending(ctx, k); err != nil {
				return err
			}
		}
	}
	for k, a := range e.active {
		if k.Rule != r.Name() || holds[k] {
			continue
		}
		if !a.Flapping && len(e.recentRaises(k, now)) >= e.opts.FlapCount-1 {
			a.Flapping = true // the next raise would make it flap: hold it now
			ev := Event{Time: now, Kind: Flapping, Text: fmt.Sprintf("raised %d times in %s: held until quiet for %s",
				len(e.recentRaises(k, now)), e.opts.FlapWindow, e.opts.FlapWindow)}
			if err := e.st.save(ctx, a, ev); err != nil {
				return err
			}
			changes = append(changes, Change{*a, ev})
		}
		if a.Flapping {
			q, ok := e.quiet[k]
			if !ok {
				e.quiet[k] = now
				continue
			}
			if now.Sub(q) < e.opts.FlapWindow {
				continue
			}
		}
		cleared := now
		a.Active, a.ClearedAt = false, &cleared
		ev := Event{Time: now, Kind: Cleared}
		if err := e.st.save(ctx, a, ev); err != nil {
			return err
		}
		delete(e.active, k)
		delete(e.quiet, k)
		changes = append(changes, Change{*a, ev})
	}
	return nil
}

// recentRaises are the key's raises within the flap window.
func (e *Engine) recentRaises(k Key, now time.Time) []time.Time {
	var out []time.Time
	for _, t := range e.raises[k] {
		if now.Sub(t) < e.opts.FlapWindow {
			out = append(out, t)
		}
	}
	return out
}

// notify calls the subscribers; the caller holds mu.
func (e *Engine) notify(changes []Change) {
	for _, c := range changes {
		for _, s := range e.subs {
			s.f(c)
		}
	}
}

// Active returns the raised alarms, most severe and newest first.
func (e *Engine) Active() []Alarm {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Alarm, 0, len(e.active))
	for _, a := range e.active {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Severity != out[j].Severity {
			return out[i].Severity > out[j].Severity
		}
		return out[i].ID > out[j].ID
	})
	return out
}

// List returns alarms from the store, newest first, active ones with
// their latest value and description.
func (e *Engine) List(ctx context.Context, f Filter) ([]Alarm, error) {
	as, err := e.st.list(ctx, f)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	byID := map[int64]*Alarm{}
	for _, a := range e.active {
		byID[a.ID] = a
	}
	for i := range as {
		if a := byID[as[i].ID]; a != nil {
			as[i].Value, as[i].Description, as[i].Evidence = a.Value, a.Description, a.Evidence
		}
	}
	return as, nil
}

// Get returns an alarm with its history.
func (e *Engine) Get(ctx context.Context, id int64) (*Alarm, error) {
	a, err := e.st.get(ctx, id)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, x := range e.active {
		if x.ID == id {
			a.Value, a.Description, a.Evidence = x.Value, x.Description, x.Evidence
		}
	}
	return a, nil
}

// Ack acknowledges an alarm for who.
func (e *Engine) Ack(ctx context.Context, id int64, who string) (*Alarm, error) {
	return e.operate(ctx, id, func(a *Alarm, now time.Time) (Event, error) {
		a.AckedBy, a.AckedAt = who, &now
		return Event{Time: now, Kind: Acked, Who: who}, nil
	})
}

// Unack takes an acknowledgement back.
func (e *Engine) Unack(ctx context.Context, id int64, who string) (*Alarm, error) {
	return e.operate(ctx, id, func(a *Alarm, now time.Time) (Event, error) {
		if a.AckedAt == nil {
			return Event{}, fmt.Errorf("alarm %d is not acknowledged", id)
		}
		a.AckedBy, a.AckedAt = "", nil
		return Event{Time: now, Kind: Unacked, Who: who}, nil
	})
}

// Comment adds a comment to an alarm's history.
func (e *Engine) Comment(ctx context.Context, id int64, who, text string) (*Alarm, error) {
	return e.operate(ctx, id, func(a *Alarm, now time.Time) (Event, error) {
		if text == "" {
			return Event{}, fmt.Errorf("a comment needs text")
		}
		return Event{Time: now, Kind: Commented, Who: who, Text: text}, nil
	})
}

// Clear clears a raised alarm by hand. If its condition still holds it is
// raised again after the rule's for: duration.
func (e *Engine) Clear(ctx context.Context, id int64, who string) (*Alarm, error) {
	return e.operate(ctx, id, func(a *Alarm, now time.Time) (Event, error) {
		if !a.Active {
			return Event{}, fmt.Errorf("alarm %d is already cleared", id)
		}
		a.Active, a.ClearedAt = false, &now
		k := a.Key()
		delete(e.active, k)
		delete(e.quiet, k)
		delete(e.pending, k)
		if err := e.st.deletePending(ctx, k); err != nil {
			return Event{}, err
		}
		return Event{Time: now, Kind: ClearedByOperator, Who: who}, nil
	})
}

// operate applies an operator's action to an alarm and records it.
func (e *Engine) operate(ctx context.Context, id int64, f func(*Alarm, time.Time) (Event, error)) (*Alarm, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var a *Alarm
	for _, x := range e.active {
		if x.ID == id {
			a = x
		}
	}
	if a == nil {
		stored, err := e.st.get(ctx, id)
		if err != nil {
			return nil, err
		}
		stored.History = nil
		a = stored
	}
	ev, err := f(a, time.Now())
	if err != nil {
		return nil, err
	}
	if err := e.st.save(ctx, a, ev); err != nil {
		return nil, err
	}
	e.notify([]Change{{*a, ev}})
	return e.st.get(ctx, id)
}
