package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/alarm"
)

type checkRulesCmd struct{ file string }

type testRulesCmd struct{ file string }

// registerRuleCommands adds `check rules` and `test rules`.
func registerRuleCommands(app *kingpin.Application, check *kingpin.CmdClause, register func(string, command)) {
	cr := &checkRulesCmd{}
	c := check.Command("rules", "Validate alarm rules (a file with a rules: list, as alarms.rules or a rule test file): names, severities, PromQL, descriptions.")
	c.Arg("file", "Rules file.").Required().StringVar(&cr.file)
	register(c.FullCommand(), cr)

	tr := &testRulesCmd{}
	test := app.Command("test", "Run tests.")
	t := test.Command("rules", "Run alarm rule unit tests (docs/alarms.md): input series in promtool's notation, the alarms expected active; "+
		"the built-in alarms and the file's rules are evaluated by the alarm engine.")
	t.Arg("file", "Rule test file.").Required().StringVar(&tr.file)
	register(t.FullCommand(), tr)
}

func (c *checkRulesCmd) run(_ context.Context, e *env) error {
	rt, err := alarm.LoadRuleTests(c.file)
	if err != nil {
		return err
	}
	if err := alarm.CheckRules(rt.Rules); err != nil {
		return fmt.Errorf("%s: %w", c.file, err)
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, map[string]any{"file": c.file, "rules": len(rt.Rules), "ok": true})
	}
	fmt.Fprintf(e.stdout, "%s: OK (%d rules)\n", c.file, len(rt.Rules))
	return nil
}

func (c *testRulesCmd) run(ctx context.Context, e *env) error {
	rt, err := alarm.LoadRuleTests(c.file)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "beamctl-rule-tests-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	failures, err := rt.Run(ctx, dir)
	if err != nil {
		return fmt.Errorf("%s: %w", c.file, err)
	}
	if e.g.output == "json" {
		if err := writeJSON(e.stdout, map[string]any{"file": c.file, "tests": len(rt.Tests), "failures": nonNilStrings(failures)}); err != nil {
			return err
		}
	} else {
		for _, f := range failures {
			fmt.Fprintln(e.stdout, "FAILED "+f)
		}
		fmt.Fprintf(e.stdout, "%s: %d of %d tests passed\n", c.file, len(rt.Tests)-len(failures), len(rt.Tests))
	}
	if len(failures) > 0 {
		return fmt.Errorf("%d rule tests failed", len(failures))
	}
	return nil
}
