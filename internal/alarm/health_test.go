package alarm

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/store"
)

// TestRuleHealth evaluates a PromQL rule that parses but fails at every
// evaluation (label_replace's regular expression is compiled then): its
// health, last error and counts are visible, it is logged once, not once
// per round, and its recovery is seen.
func TestRuleHealth(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(t.TempDir(), nil, nil, nil)
	require.NoError(t, err)
	defer db.Close()
	now := time.Now()
	require.NoError(t, db.Append(ctx, []store.Sample{sample("erlang_vm_processes", 960, now)}))
	var logs bytes.Buffer
	e, err := Open(ctx, Options{Dir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	defer e.Close()

	bad := &QueryRule{RuleName: "broken", Expr: `label_replace(erlang_vm_processes, "x", "$1", "node", "(")`, Severity: Major, Text: "x", Q: db}
	good := &QueryRule{RuleName: "fine", Expr: `erlang_vm_processes > 100`, Severity: Minor, Text: "many", Q: db}
	require.NoError(t, bad.Check())
	require.NoError(t, good.Check())
	e.SetRules([]Rule{bad, good})
	st := e.Rules()
	require.Len(t, st, 2)
	require.Equal(t, HealthUnknown, st[0].Health)

	for i := range 3 {
		e.Evaluate(ctx, now.Add(time.Duration(i)*time.Second))
	}
	st = e.Rules()
	require.Equal(t, "broken", st[0].Name)
	require.Equal(t, HealthBad, st[0].Health)
	require.Equal(t, "query", st[0].Type)
	require.Contains(t, st[0].LastError, "invalid regular expression")
	require.Equal(t, uint64(3), st[0].Evaluations)
	require.Equal(t, uint64(3), st[0].Failures)
	require.Equal(t, now.Add(2*time.Second), st[0].LastEvaluation)
	require.Positive(t, st[0].EvaluationSeconds)
	require.Equal(t, "fine", st[1].Name)
	require.Equal(t, HealthGood, st[1].Health)
	require.Empty(t, st[1].LastError)
	require.Equal(t, uint64(0), st[1].Failures)
	require.Equal(t, 1, st[1].Active)
	require.Equal(t, 1, strings.Count(logs.String(), "Alarm rule fails"), logs.String())
	require.Contains(t, logs.String(), "rule=broken")

	// The rule fixed (a reload keeps the health of a rule by name).
	fixed := &QueryRule{RuleName: "broken", Expr: `erlang_vm_processes > 2000`, Severity: Major, Text: "x", Q: db}
	require.NoError(t, fixed.Check())
	e.SetRules([]Rule{fixed})
	e.Evaluate(ctx, now.Add(3*time.Second))
	e.Evaluate(ctx, now.Add(4*time.Second))
	st = e.Rules()
	require.Len(t, st, 1)
	require.Equal(t, HealthGood, st[0].Health)
	require.Empty(t, st[0].LastError)
	require.Equal(t, uint64(5), st[0].Evaluations)
	require.Equal(t, uint64(3), st[0].Failures)
	require.Equal(t, 1, strings.Count(logs.String(), "Alarm rule recovered"), logs.String())
	require.Equal(t, 1, strings.Count(logs.String(), "Alarm rule fails"), logs.String())
}
