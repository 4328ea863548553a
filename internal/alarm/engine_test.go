package alarm

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// scripted is a rule whose observations the test sets (the engine's logic
// needs no node; the rules that read nodes are tested against real ones).
type scripted struct {
	forDur time.Duration
	obs    []Observation
	err    error
}

func (s *scripted) Name() string       { return "scripted" }
func (s *scripted) For() time.Duration { return s.forDur }
func (s *scripted) Evaluate(context.Context, time.Time, map[Key]Severity) ([]Observation, error) {
	return s.obs, s.err
}

var nodeA = Key{Cluster: "c", Node: "a@h"}

func holds(sev Severity, v float64) []Observation {
	return []Observation{{Key: nodeA, Severity: sev, Value: v, Description: "value " + sev.String()}}
}

func TestThresholds(t *testing.T) {
	th := Thresholds{Levels: []Level{{Minor, 80}, {Major, 90}, {Critical, 95}}, Hysteresis: 0.05}
	tests := []struct {
		value   float64
		current Severity
		want    Severity
	}{
		{50, None, None},
		{80, None, Minor},
		{91, None, Major},
		{99, None, Critical},
		{78, None, None},   // below 80, not raised: nothing
		{78, Minor, Minor}, // raised: held until below 76
		{75, Minor, None},  // cleared
		{88, Major, Major}, // held until below 85.5
		{85, Major, Minor}, // de-escalated, not cleared
		{94, Critical, Critical},
		{89, Minor, Minor}, // escalation needs the full threshold
		{90, Minor, Major},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, th.Level(tc.value, tc.current), "%v at %q", tc.value, tc.current)
	}
	below := Thresholds{Levels: []Level{{Major, 10}}, Hysteresis: 0.5, Below: true}
	require.Equal(t, Major, below.Level(9, None))
	require.Equal(t, Major, below.Level(14, Major))
	require.Equal(t, None, below.Level(16, Major))
}

func TestEngine(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e, err := Open(ctx, Options{Dir: dir, FlapCount: 3, FlapWindow: 10 * time.Minute})
	require.NoError(t, err)
	r := &scripted{forDur: time.Minute}
	e.SetRules([]Rule{r})
	var changes []Change
	e.OnChange(func(c Change) { changes = append(changes, c) })
	t0 := time.Unix(1_800_000_000, 0)

	// for: the condition must hold a minute.
	r.obs = holds(Minor, 81)
	e.Evaluate(ctx, t0)
	require.Empty(t, e.Active(), "pending")
	e.Evaluate(ctx, t0.Add(30*time.Second))
	require.Empty(t, e.Active(), "still pending")

	// A restart keeps the pending timer: raised a minute after t0, not after the restart.
	require.NoError(t, e.Close())
	e, err = Open(ctx, Options{Dir: dir, FlapCount: 3, FlapWindow: 10 * time.Minute})
	require.NoError(t, err)
	e.SetRules([]Rule{r})
	e.OnChange(func(c Change) { changes = append(changes, c) })
	e.Evaluate(ctx, t0.Add(61*time.Second))
	act := e.Active()
	require.Len(t, act, 1)
	id := act[0].ID
	require.Equal(t, Minor, act[0].Severity)
	require.Equal(t, Raised, changes[0].Event.Kind)

	// Escalation and de-escalation change the alarm in place.
	r.obs = holds(Major, 92)
	e.Evaluate(ctx, t0.Add(2*time.Minute))
	r.obs = holds(Minor, 85)
	e.Evaluate(ctx, t0.Add(3*time.Minute))
	act = e.Active()
	require.Len(t, act, 1)
	require.Equal(t, id, act[0].ID)
	require.Equal(t, Minor, act[0].Severity)

	// A rule that fails leaves the alarm as it is.
	r.obs, r.err = nil, errors.New("store unavailable")
	e.Evaluate(ctx, t0.Add(4*time.Minute))
	require.Len(t, e.Active(), 1)
	r.err = nil

	// A restart with the alarm raised: not raised again, not cleared.
	r.obs = holds(Minor, 85)
	require.NoError(t, e.Close())
	e, err = Open(ctx, Options{Dir: dir, FlapCount: 3, FlapWindow: 10 * time.Minute})
	require.NoError(t, err)
	defer e.Close()
	e.SetRules([]Rule{r})
	e.OnChange(func(c Change) { changes = append(changes, c) })
	before := len(changes)
	e.Evaluate(ctx, t0.Add(5*time.Minute))
	require.Len(t, e.Active(), 1)
	require.Equal(t, id, e.Active()[0].ID)
	require.Len(t, changes, before, "no event")

	// Operators: ack, comment, unack; all in the history.
	_, err = e.Ack(ctx, id, "alice")
	require.NoError(t, err)
	_, err = e.Comment(ctx, id, "alice", "looking at the queue")
	require.NoError(t, err)
	a, err := e.Unack(ctx, id, "bob")
	require.NoError(t, err)
	require.Nil(t, a.AckedAt)
	_, err = e.Unack(ctx, id, "bob")
	require.EqualError(t, err, "alarm 1 is not acknowledged")

	// The condition stops: cleared.
	r.obs = nil
	e.Evaluate(ctx, t0.Add(6*time.Minute))
	require.Empty(t, e.Active())
	a, err = e.Get(ctx, id)
	require.NoError(t, err)
	require.False(t, a.Active)
	var kinds []string
	for _, ev := range a.History {
		kinds = append(kinds, ev.Kind.String())
	}
	require.Equal(t, []string{"raised", "escalated", "deescalated", "acked", "commented", "unacked", "cleared"}, kinds)
	require.Equal(t, "alice", a.History[3].Who)
	_, err = e.Get(ctx, 999)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestFlapping(t *testing.T) {
	ctx := context.Background()
	e, err := Open(ctx, Options{Dir: t.TempDir(), FlapCount: 3, FlapWindow: 10 * time.Minute})
	require.NoError(t, err)
	defer e.Close()
	r := &scripted{}
	e.SetRules([]Rule{r})
	t0 := time.Unix(1_800_000_000, 0)
	var raised int
	e.OnChange(func(c Change) {
		if c.Event.Kind == Raised {
			raised++
		}
	})
	// On and off every minute for ten minutes: two raises, then one held alarm.
	for i := range 10 {
		if i%2 == 0 {
			r.obs = holds(Major, 1)
		} else {
			r.obs = nil
		}
		e.Evaluate(ctx, t0.Add(time.Duration(i)*time.Minute))
	}
	require.Equal(t, 2, raised, "not one alarm per flap")
	act := e.Active()
	require.Len(t, act, 1)
	require.True(t, act[0].Flapping)
	// Quiet for the window: cleared.
	r.obs = nil
	e.Evaluate(ctx, t0.Add(20*time.Minute))
	e.Evaluate(ctx, t0.Add(31*time.Minute))
	require.Empty(t, e.Active())
}

func TestOperatorClear(t *testing.T) {
	ctx := context.Background()
	e, err := Open(ctx, Options{Dir: t.TempDir()})
	require.NoError(t, err)
	defer e.Close()
	r := &scripted{forDur: time.Minute}
	e.SetRules([]Rule{r})
	t0 := time.Unix(1_800_000_000, 0)
	r.obs = holds(Critical, 1)
	e.Evaluate(ctx, t0)
	e.Evaluate(ctx, t0.Add(time.Minute))
	id := e.Active()[0].ID
	a, err := e.Clear(ctx, id, "carol")
	require.NoError(t, err)
	require.False(t, a.Active)
	require.Equal(t, ClearedByOperator, a.History[len(a.History)-1].Kind)
	_, err = e.Clear(ctx, id, "carol")
	require.EqualError(t, err, "alarm 1 is already cleared")
	e.Evaluate(ctx, t0.Add(2*time.Minute))
	require.Empty(t, e.Active(), "the condition holds again: pending for a minute")
	e.Evaluate(ctx, t0.Add(3*time.Minute))
	require.Len(t, e.Active(), 1, "raised again")
	require.NotEqual(t, id, e.Active()[0].ID)
}

// TestOutageTolerance restarts the engine after gaps of different lengths
// with a for: timer pending: a short outage keeps the timer, a long one
// starts it again, since the condition may have gone and come back.
func TestOutageTolerance(t *testing.T) {
	ctx := context.Background()
	t0 := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		name       string
		gap        time.Duration // from the last evaluation before the restart to the first after
		raisedThen bool          // at once after the restart, with the old timer
	}{
		{"restart a minute later", 70 * time.Second, true},
		{"outage within the tolerance", 50 * time.Minute, true},
		{"longer outage", 2 * time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := &scripted{forDur: 5 * time.Minute, obs: holds(Major, 1)}
			e, err := Open(ctx, Options{Dir: dir})
			require.NoError(t, err)
			e.SetRules([]Rule{r})
			e.Evaluate(ctx, t0)
			e.Evaluate(ctx, t0.Add(4*time.Minute))
			require.Empty(t, e.Active())
			require.NoError(t, e.Close())

			e, err = Open(ctx, Options{Dir: dir})
			require.NoError(t, err)
			defer e.Close()
			e.SetRules([]Rule{r})
			after := t0.Add(4*time.Minute + tc.gap)
			e.Evaluate(ctx, after)
			require.Equal(t, tc.raisedThen, len(e.Active()) == 1)
			e.Evaluate(ctx, after.Add(5*time.Minute))
			require.Len(t, e.Active(), 1, "raised once the condition held its for: again")
		})
	}
}

// TestEventKindNames checks that the typed event kinds keep their names in
// JSON and in the database.
func TestEventKindNames(t *testing.T) {
	for k := Raised; k <= ClearedByOperator; k++ {
		b, err := json.Marshal(Event{Kind: k})
		require.NoError(t, err)
		var back Event
		require.NoError(t, json.Unmarshal(b, &back))
		require.Equal(t, k, back.Kind)
		v, err := k.Value()
		require.NoError(t, err)
		var scanned EventKind
		require.NoError(t, scanned.Scan(v))
		require.Equal(t, k, scanned)
	}
	b, err := json.Marshal(Event{Kind: ClearedByOperator})
	require.NoError(t, err)
	require.Contains(t, string(b), `"kind":"cleared_by_operator"`)
	var e Event
	require.EqualError(t, json.Unmarshal([]byte(`{"kind":"exploded"}`), &e), `unknown alarm event "exploded"`)
}

// TestListFilter: the filters of List (the API's and the web UI's): rule,
// severity, and family (its nodes' alarms and its own).
func TestListFilter(t *testing.T) {
	ctx := context.Background()
	e, err := Open(ctx, Options{Dir: t.TempDir()})
	require.NoError(t, err)
	defer e.Close()
	r := &scripted{}
	e.SetRules([]Rule{r})
	r.obs = []Observation{
		{Key: Key{Cluster: "c", Node: "a@h"}, Severity: Minor, Value: 1},
		{Key: Key{Cluster: "c", Node: "b@h"}, Severity: Major, Value: 1},
		{Key: Key{Cluster: "c", Subject: "fäm mod"}, Severity: Major, Value: 1},
		{Key: Key{Cluster: "c", Subject: "fäm"}, Severity: Major, Value: 1},
		{Key: Key{Cluster: "c", Subject: "fämily mod"}, Severity: Major, Value: 1},
	}
	e.Evaluate(ctx, time.Unix(1_800_000_000, 0))
	keys := func(f Filter) []string {
		as, err := e.List(ctx, f)
		require.NoError(t, err)
		out := []string{}
		for _, a := range as {
			out = append(out, a.Node+"|"+a.Subject)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    Filter
		want []string
	}{
		{"all", Filter{}, []string{"|fämily mod", "|fäm", "|fäm mod", "b@h|", "a@h|"}},
		{"rule", Filter{Rule: "scripted"}, []string{"|fämily mod", "|fäm", "|fäm mod", "b@h|", "a@h|"}},
		{"no such rule", Filter{Rule: "other"}, []string{}},
		{"severity", Filter{Severity: Minor}, []string{"a@h|"}},
		{"family with a node", Filter{Family: "fäm", FamilyNodes: []string{"a@h"}}, []string{"|fäm", "|fäm mod", "a@h|"}},
		{"family without nodes", Filter{Family: "fäm"}, []string{"|fäm", "|fäm mod"}},
		{"family and severity", Filter{Family: "fäm", FamilyNodes: []string{"a@h"}, Severity: Major}, []string{"|fäm", "|fäm mod"}},
	} {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, keys(tc.f)) })
	}
}

// paced is a scripted rule evaluated at most once a pace, counting its
// evaluations.
type paced struct {
	scripted
	pace  time.Duration
	calls int
}

func (p *paced) Pace() time.Duration { return p.pace }
func (p *paced) Evaluate(ctx context.Context, now time.Time, active map[Key]Severity) ([]Observation, error) {
	p.calls++
	return p.scripted.Evaluate(ctx, now, active)
}

// TestPace evaluates a rule paced at 30 s every 10 s: it runs at its
// pace (a tick a little early still counts), its alarm stays raised
// between its evaluations, and clears at the next one after the
// condition went.
func TestPace(t *testing.T) {
	ctx := context.Background()
	e, err := Open(ctx, Options{Dir: t.TempDir()})
	require.NoError(t, err)
	defer e.Close()
	r := &paced{pace: 30 * time.Second}
	e.SetRules([]Rule{r})
	t0 := time.Unix(1_800_000_000, 0)
	r.obs = holds(Major, 1)
	steps := []struct {
		at     time.Duration
		obs    []Observation
		calls  int
		active bool
	}{
		{0, holds(Major, 1), 1, true},
		{10 * time.Second, nil, 1, true},
		{20 * time.Second, nil, 1, true},
		{29 * time.Second, nil, 2, false}, // 1 s early: within the slack
		{40 * time.Second, holds(Major, 1), 2, false},
		{50 * time.Second, holds(Major, 1), 2, false},
		{60 * time.Second, holds(Major, 1), 3, true},
	}
	for _, s := range steps {
		r.obs = s.obs
		e.Evaluate(ctx, t0.Add(s.at))
		require.Equal(t, s.calls, r.calls, "evaluations after the round at %v", s.at)
		require.Equal(t, s.active, len(e.Active()) == 1, "raised after the round at %v", s.at)
	}
	st := e.Rules()[0]
	require.Equal(t, 30.0, st.PaceSeconds)
	require.Equal(t, uint64(3), st.Evaluations)

	// A rule without a pace runs at every round.
	e.SetRules([]Rule{&r.scripted})
	for i := range 3 {
		e.Evaluate(ctx, t0.Add(time.Duration(70+i)*time.Second))
	}
	require.Equal(t, uint64(6), e.Rules()[0].Evaluations)
}

// TestBuiltinPaces: the built-ins over a window are paced at a tenth of
// it, the instant ones are not paced, and a window set in the
// configuration sets the pace.
func TestBuiltinPaces(t *testing.T) {
	ten := 10 * time.Second
	rules, err := BuiltinRules(nil, map[string]Override{"long_gc": {Window: &ten}})
	require.NoError(t, err)
	paces := map[string]time.Duration{}
	for _, r := range rules {
		paces[r.Name()] = r.(Paced).Pace()
	}
	require.Equal(t, time.Duration(0), paces["process_limit"])
	require.Equal(t, 30*time.Second, paces["message_queue_growing"])
	require.Equal(t, 90*time.Second, paces["binary_memory_growth"])
	require.Equal(t, time.Second, paces["long_gc"])
}
