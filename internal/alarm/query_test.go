package alarm

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/store"
)

func sample(name string, v float64, ts time.Time, labels ...string) store.Sample {
	l := []store.Label{{Name: "__name__", Value: name}, {Name: "cluster", Value: "c"}, {Name: "node", Value: "a@h"}}
	for i := 0; i+1 < len(labels); i += 2 {
		l = append(l, store.Label{Name: labels[i], Value: labels[i+1]})
	}
	return store.Sample{Labels: l, Time: ts, Value: v}
}

// TestBuiltinRules evaluates every built-in expression against the real
// store (each must parse and run) and checks a few against known samples.
func TestBuiltinRules(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(t.TempDir(), nil, nil, nil)
	require.NoError(t, err)
	defer db.Close()
	now := time.Now()
	require.NoError(t, db.Append(ctx, []store.Sample{
		sample("erlang_vm_processes", 960, now),
		sample("erlang_vm_process_limit", 1000, now),
		sample("erlang_vm_message_queue_max_length", 250000, now),
		sample("erlang_vm_message_queue_longest_info", 1, now, "pid", "<0.99.0>", "name", "stuck_server"),
	}))
	rules, err := BuiltinRules(db, map[string]Override{"atom_growth": {Disabled: true}})
	require.NoError(t, err)
	require.Len(t, rules, len(Builtins)-1)
	found := map[string]Observation{}
	for _, r := range rules {
		obs, err := r.Evaluate(ctx, now, nil)
		require.NoError(t, err, r.Name())
		for _, o := range obs {
			found[r.Name()] = o
		}
	}
	require.Equal(t, Critical, found["process_limit"].Severity)
	require.Equal(t, "a@h uses 96.0% of its process limit (+P).", found["process_limit"].Description)
	require.Equal(t, Major, found["process_message_queue"].Severity)
	require.Equal(t, "A process on a@h has 250,000 messages waiting: <0.99.0> stuck_server.", found["process_message_queue"].Description)

	_, err = BuiltinRules(db, map[string]Override{"nosuch": {}})
	require.EqualError(t, err, `unknown built-in alarm "nosuch"`)
	fiveMin := 5 * time.Minute
	rules, err = BuiltinRules(db, map[string]Override{"process_limit": {For: &fiveMin, Levels: map[Severity]float64{Critical: 0.99}}})
	require.NoError(t, err)
	for _, r := range rules {
		if r.Name() == "process_limit" {
			require.Equal(t, fiveMin, r.For())
			obs, err := r.Evaluate(ctx, now, nil)
			require.NoError(t, err)
			require.Equal(t, Major, obs[0].Severity, "critical moved to 99%")
		}
	}
}

// TestBuiltinWindow sets the range of rate and growth alarms, and refuses
// a window for an alarm that has none.
func TestBuiltinWindow(t *testing.T) {
	db, err := store.Open(t.TempDir(), nil, nil, nil)
	require.NoError(t, err)
	defer db.Close()
	d := func(x time.Duration) *time.Duration { return &x }
	for _, tc := range []struct {
		name     string
		override Override
		expr     string // of the rule made, if no error
		err      string
	}{
		{name: "long_gc", expr: `rate(erlang_vm_system_monitor_events_total{event="long_gc"}[5m]) * 60`},
		{name: "long_gc", override: Override{Window: d(30 * time.Second)}, expr: `rate(erlang_vm_system_monitor_events_total{event="long_gc"}[30s]) * 60`},
		{name: "atom_growth", override: Override{Window: d(time.Hour)}, expr: `deriv(erlang_vm_atoms[1h])`},
		{name: "process_limit", override: Override{Window: d(time.Minute)}, err: "process_limit has no window: it is not a rate or a growth"},
		{name: "busy_port", override: Override{Window: d(0)}, err: "busy_port: the window must be positive"},
	} {
		rules, err := BuiltinRules(db, map[string]Override{tc.name: tc.override})
		if tc.err != "" {
			require.EqualError(t, err, tc.err)
			continue
		}
		require.NoError(t, err)
		for _, r := range rules {
			q, ok := r.(*QueryRule)
			require.True(t, ok)
			require.NotContains(t, q.Expr+q.Text, "$window", q.RuleName)
			if q.RuleName == tc.name {
				require.Equal(t, tc.expr, q.Expr)
			}
		}
	}
}

// TestUserRule is a rule in Prometheus alerting style: every series the
// expression returns holds, keyed by its other labels.
func TestUserRule(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(t.TempDir(), nil, nil, nil)
	require.NoError(t, err)
	defer db.Close()
	now := time.Now()
	require.NoError(t, db.Append(ctx, []store.Sample{
		sample("erlang_vm_ets_table_size", 5e6, now, "table", "sessions"),
		sample("erlang_vm_ets_table_size", 10, now, "table", "small"),
	}))
	r := &QueryRule{RuleName: "big_tables", Expr: `erlang_vm_ets_table_size > 1e6`, Severity: Major, Q: db,
		Text:        `Table {{index .Labels "table"}} on {{.Node}} has {{num .Value}} rows.`,
		Labels:      map[string]string{"team": "storage"},
		Annotations: map[string]string{"runbook": `https://runbooks/ets#{{index .Labels "table"}}`}}
	require.NoError(t, r.Check())
	obs, err := r.Evaluate(ctx, now, nil)
	require.NoError(t, err)
	require.Len(t, obs, 1)
	require.Equal(t, Key{Rule: "big_tables", Cluster: "c", Node: "a@h", Subject: "table=sessions"}, obs[0].Key)
	require.Equal(t, "Table sessions on a@h has 5,000,000 rows.", obs[0].Description)
	require.Equal(t, map[string]string{"team": "storage"}, obs[0].Labels)
	require.Equal(t, map[string]string{"runbook": "https://runbooks/ets#sessions"}, obs[0].Annotations)
	bad := &QueryRule{RuleName: "bad", Expr: "up", Severity: Severity(42), Text: "{{"}
	require.Error(t, bad.Check())
	r.Expr = "rate("
	_, err = r.Evaluate(ctx, now, nil)
	require.ErrorContains(t, err, "rule big_tables")
}

func TestHumanNum(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {0.8123, "0.8123"}, {999, "999"}, {1000, "1,000"}, {30000, "30,000"},
		{-1234567.6, "-1,234,568"}, {2.5e5, "250,000"}, {1e16, "1e+16"},
	} {
		require.Equal(t, tc.want, humanNum(tc.v), "%v", tc.v)
	}
}
