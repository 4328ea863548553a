package cli

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRuleCommands(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"check good", []string{"check", "rules", "testdata/rules_test.yml"}, 0, "testdata/rules_test.yml: OK (2 rules)", ""},
		{"check bad PromQL", []string{"check", "rules", "testdata/rules_bad.yml"}, 1, "", `rule r: PromQL "sum(": 1:5: parse error: unclosed left parenthesis`},
		{"check missing file", []string{"check", "rules", "testdata/nosuch.yml"}, 1, "", "no such file or directory"},
		{"check config", []string{"check", "config", "testdata/config_good_alarms.yml"}, 0, "OK (1 clusters, 1 nodes or seeds)", ""},
		{"check config: a window on a level alarm", []string{"check", "config", "testdata/config_bad_window.yml"}, 1, "",
			"alarms.builtin: process_limit has no window: it is not a rate or a growth"},
		{"check config: levels on node_down", []string{"check", "config", "testdata/config_bad_levels.yml"}, 1, "",
			"alarms.builtin: node_down has no levels to set"},
		{"check config: a rule named like a built-in", []string{"check", "config", "testdata/config_rule_name_taken.yml"}, 1, "",
			`alarms: the rule name "module_clash" is used twice (a built-in alarm's name is taken)`},
		{"check config: unknown alarm", []string{"check", "config", "testdata/config_unknown_alarm.yml"}, 1, "", `unknown built-in alarm "nosuch"`},
		{"test passing", []string{"test", "rules", "testdata/rules_test.yml"}, 0, "testdata/rules_test.yml: 5 of 5 tests passed", ""},
		{"test failing", []string{"test", "rules", "testdata/rules_failing.yml"}, 1,
			"FAILED expects what does not happen: at 60s expected 1 alarms, missing [{Rule:process_limit", "1 rule tests failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, tc.args...)
			require.Equal(t, tc.wantCode, code, "stdout: %s\nstderr: %s", out, errOut)
			require.Contains(t, out, tc.wantOut)
			require.Contains(t, errOut, tc.wantErr)
		})
	}
}
