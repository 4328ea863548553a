package alarm

import (
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/config"
)

// TestBuild builds the rules of configurations without running anything,
// as `beamctl check config` does, and checks the errors of bad overrides.
func TestBuild(t *testing.T) {
	d := func(v time.Duration) *config.Duration { c := config.Duration(v); return &c }
	all := len(Builtins) + len(ModelBuiltins) + len(EventBuiltins)
	tests := []struct {
		name  string
		cfg   config.Alarms
		rules int
		err   string
	}{
		{name: "defaults", rules: all},
		{name: "off", cfg: config.Alarms{Builtin: map[string]config.BuiltinAlarm{"node_down": {Disabled: true}, "long_gc": {Disabled: true},
			"mnesia_overloaded": {Disabled: true}}}, rules: all - 3},
		{name: "user rules", rules: all + 2, cfg: config.Alarms{
			Rules:      []config.AlarmRule{{Name: "mine", Expr: "up == 0", Severity: "major"}},
			EventRules: []config.EventRule{{Name: "crashes", Kind: "crash_report", Count: 5, Window: config.Duration(time.Minute), Severity: "minor"}}}},
		{name: "partitioned window", cfg: config.Alarms{Builtin: map[string]config.BuiltinAlarm{"cluster_partitioned": {Window: d(24 * time.Hour)}}}, rules: all},
		{name: "unknown", cfg: config.Alarms{Builtin: map[string]config.BuiltinAlarm{"nosuch": {}}},
			err: `alarms.builtin: unknown built-in alarm "nosuch"`},
		{name: "model levels", cfg: config.Alarms{Builtin: map[string]config.BuiltinAlarm{"module_clash": {Levels: map[string]float64{"major": 3}}}},
			err: "alarms.builtin: module_clash has no levels to set (its severity is fixed: docs/alarms.md)"},
		{name: "model window", cfg: config.Alarms{Builtin: map[string]config.BuiltinAlarm{"partial_netsplit": {Window: d(time.Minute)}}},
			err: "alarms.builtin: partial_netsplit has no window: it is not a rate or a growth"},
		{name: "query window", cfg: config.Alarms{Builtin: map[string]config.BuiltinAlarm{"process_limit": {Window: d(time.Minute)}}},
			err: "alarms.builtin: process_limit has no window: it is not a rate or a growth"},
		{name: "name taken", cfg: config.Alarms{Rules: []config.AlarmRule{{Name: "node_down", Expr: "up == 0", Severity: "major"}}},
			err: `alarms: the rule name "node_down" is used twice (a built-in alarm's name is taken)`},
		{name: "bad template", cfg: config.Alarms{Rules: []config.AlarmRule{{Name: "mine", Expr: "up", Severity: "major", Description: "{{.Value"}}},
			err: "alarms.rules: rule mine: description: template: mine:1: unclosed action"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rules, err := Build(tc.cfg, Deps{})
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Len(t, rules, tc.rules)
		})
	}
}

// TestCatalogueDocumented checks that every built-in alarm has its row in
// docs/alarms.md, and that the names are unique.
func TestCatalogueDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/alarms.md")
	require.NoError(t, err)
	names := BuiltinNames()
	seen := map[string]bool{}
	for _, n := range names {
		require.False(t, seen[n], "%s twice", n)
		seen[n] = true
		require.True(t, regexp.MustCompile(`(?m)^\| `+n+` \|`).Match(doc), "docs/alarms.md has no row for %s", n)
	}
}
