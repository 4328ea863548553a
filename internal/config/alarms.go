package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/beamctl/beamctl/internal/redact"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// Alarms configures the alarm engine: how often rules run, the built-in
// alarms' levels, the user's rules and where alarms go.
type Alarms struct {
	// Interval is how often every rule is evaluated (default 10s).
	Interval Duration `yaml:"interval"`
	// Builtin overrides built-in alarms by name: false turns one off; a
	// mapping sets its for:, window (of rate and growth alarms) and levels
	// (warning, minor, major, critical).
	Builtin map[string]BuiltinAlarm `yaml:"builtin"`
	// Rules are the user's PromQL rules, as Prometheus alerting rules: every
	// series the expression returns holds.
	Rules []AlarmRule `yaml:"rules"`
	// Alertmanager lists Alertmanager URLs (e.g. http://localhost:9093)
	// that receive every alarm.
	Alertmanager []string `yaml:"alertmanager"`
	// ResendInterval is how often active alarms are sent to Alertmanager
	// again (default 1m), so its dedup, grouping and silences keep working.
	ResendInterval Duration `yaml:"resend_interval"`
	// Notifiers receive every alarm change directly.
	Notifiers []Notifier `yaml:"notifiers"`
	// EventRules count notifications: at least count of a kind within
	// window, per node, cluster or field.
	EventRules []EventRule `yaml:"event_rules"`
}

// UnmarshalYAML decodes the alarms block and applies its defaults.
func (a *Alarms) UnmarshalYAML(unmarshal func(any) error) error {
	type raw = Alarms
	type Alarms raw
	if err := unmarshal((*Alarms)(a)); err != nil {
		return err
	}
	a.setDefaults()
	return nil
}

func (a *Alarms) setDefaults() {
	if a.Interval == 0 {
		a.Interval = Duration(10 * time.Second)
	}
	if a.ResendInterval == 0 {
		a.ResendInterval = Duration(time.Minute)
	}
}

// EventRule is a rule over notifications.
type EventRule struct {
	Name        string   `yaml:"name"`
	Kind        string   `yaml:"kind"`
	Grep        string   `yaml:"grep"`
	Count       int      `yaml:"count"`
	Window      Duration `yaml:"window"`
	GroupBy     string   `yaml:"group_by"` // node (default), cluster or a field name
	Severity    string   `yaml:"severity"`
	For         Duration `yaml:"for"`
	Description string   `yaml:"description"`
}

// Notifier is a direct alarm destination.
type Notifier struct {
	Format     string `yaml:"format"` // webhook (default), pagerduty, slack or email
	URL        string `yaml:"url"`
	RoutingKey string `yaml:"routing_key"` // PagerDuty integration key
	// SMTP (host:port), From, To and optionally Username and Password are
	// the email format's.
	SMTP     string   `yaml:"smtp"`
	From     string   `yaml:"from"`
	To       []string `yaml:"to"`
	Username string   `yaml:"username"`
	Password string   `yaml:"password"`
}

// BuiltinAlarm overrides a built-in alarm.
type BuiltinAlarm struct {
	Disabled bool
	For      *Duration          `yaml:"for"`
	Window   *Duration          `yaml:"window"` // the range of a rate or growth alarm
	Levels   map[string]float64 `yaml:",inline"`
}

// UnmarshalYAML accepts false (off) or a mapping of for and levels.
func (b *BuiltinAlarm) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var on bool
		if err := n.Decode(&on); err != nil {
			return fmt.Errorf("line %d: a built-in alarm is false or a mapping of for, window and levels", n.Line)
		}
		b.Disabled = !on
		return nil
	}
	var m map[string]yaml.Node
	if err := n.Decode(&m); err != nil {
		return err
	}
	b.Levels = map[string]float64{}
	for k, v := range m {
		if k == "for" || k == "window" {
			var d Duration
			if err := v.Decode(&d); err != nil {
				return err
			}
			if k == "for" {
				b.For = &d
			} else {
				b.Window = &d
			}
			continue
		}
		var f float64
		if err := v.Decode(&f); err != nil {
			return fmt.Errorf("line %d: %s must be a number", v.Line, k)
		}
		b.Levels[k] = f
	}
	return nil
}

// AlarmRule is a user's rule.
type AlarmRule struct {
	Name        string   `yaml:"name"`
	Expr        string   `yaml:"expr"`
	For         Duration `yaml:"for"`
	Severity    string   `yaml:"severity"`
	Description string   `yaml:"description"`
	// Labels and Annotations (templates) go to Alertmanager with the alarm.
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func (a Alarms) validate() error {
	if a.Interval < Duration(time.Second) {
		return errors.New("alarms.interval must be at least 1s")
	}
	for name, b := range a.Builtin {
		if b.Window != nil && *b.Window <= 0 {
			return fmt.Errorf("alarms.builtin.%s: the window must be positive", name)
		}
		for lvl := range b.Levels {
			switch lvl {
			case "warning", "minor", "major", "critical":
			default:
				return fmt.Errorf("alarms.builtin.%s: %q is not for, window, warning, minor, major or critical", name, lvl)
			}
		}
	}
	names := map[string]bool{}
	for i, r := range a.Rules {
		where := fmt.Sprintf("alarms.rules[%d]", i)
		switch {
		case r.Name == "":
			return fmt.Errorf("%s.name is required", where)
		case names[r.Name]:
			return fmt.Errorf("alarms.rules: the name %q is used twice", r.Name)
		case r.Expr == "":
			return fmt.Errorf("%s.expr is required", where)
		}
		names[r.Name] = true
		if err := validSeverity(r.Severity); err != nil {
			return fmt.Errorf("%s.%w", where, err)
		}
		if _, err := parser.NewParser(parser.Options{}).ParseExpr(r.Expr); err != nil {
			return fmt.Errorf("%s.expr: PromQL %q: %w", where, r.Expr, err)
		}
	}
	for i, r := range a.EventRules {
		where := fmt.Sprintf("alarms.event_rules[%d]", i)
		switch {
		case r.Name == "":
			return fmt.Errorf("%s.name is required", where)
		case names[r.Name]:
			return fmt.Errorf("alarms: the rule name %q is used twice", r.Name)
		case r.Kind == "":
			return fmt.Errorf("%s.kind is required (a notification kind such as crash_report)", where)
		case r.Count < 1:
			return fmt.Errorf("%s.count must be at least 1", where)
		case r.Window <= 0:
			return fmt.Errorf("%s.window is required (e.g. 1m)", where)
		}
		names[r.Name] = true
		if err := validSeverity(r.Severity); err != nil {
			return fmt.Errorf("%s.%w", where, err)
		}
	}
	for i, n := range a.Notifiers {
		if err := n.validate(); err != nil {
			return fmt.Errorf("alarms.notifiers[%d]: %w", i, err)
		}
	}
	for i, u := range a.Alertmanager {
		if !httpURL(u) {
			return fmt.Errorf("alarms.alertmanager[%d]: %q is not an http(s) URL such as http://localhost:9093", i, shownURL(u))
		}
	}
	return nil
}

// validSeverity checks a rule's severity; the error starts with the key.
func validSeverity(s string) error {
	switch s {
	case "warning", "minor", "major", "critical":
		return nil
	}
	return fmt.Errorf("severity must be warning, minor, major or critical, not %q", s)
}

func (n Notifier) validate() error {
	switch n.Format {
	case "", "webhook", "slack":
	case "pagerduty":
		if n.RoutingKey == "" {
			return errors.New("pagerduty needs routing_key")
		}
	case "email":
		if _, _, err := net.SplitHostPort(n.SMTP); err != nil || n.From == "" || len(n.To) == 0 {
			return errors.New("email needs smtp (host:port), from and to")
		}
		return nil
	default:
		return fmt.Errorf("format must be webhook, pagerduty, slack or email, not %q", n.Format)
	}
	if !httpURL(n.URL) {
		return errors.New("url is not an http(s) URL (not shown: it may hold a token)")
	}
	return nil
}

// httpURL reports whether s is an absolute http or https URL.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// shownURL is s as an error may quote it: scheme and host only, as
// everywhere (redact.URL), so that a mistyped URL does not put its token
// into logs.
func shownURL(s string) string { return redact.URL(s) }
