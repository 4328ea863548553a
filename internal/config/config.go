// Package config reads beamctl serve's YAML configuration. Parsing is
// strict (unknown keys are errors), defaults are applied before
// validation, and every validation error is one exact sentence naming the
// key, which tests assert verbatim.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"

	"github.com/beamctl/beamctl/internal/dist"
)

// Config is the whole configuration file.
type Config struct {
	Global   Global    `yaml:"global"`
	Clusters []Cluster `yaml:"clusters"`
	// Exports send every notification to external log systems.
	Exports []Export `yaml:"exports"`
	// Alarms configures the alarm engine.
	Alarms Alarms `yaml:"alarms"`
}

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

// Export is one destination for notifications: syslog, gelf or otlp.
type Export struct {
	Format      string            `yaml:"format"`
	Protocol    string            `yaml:"protocol"` // udp (default) or tcp
	Address     string            `yaml:"address"`  // host:port, for syslog and gelf
	URL         string            `yaml:"url"`      // for otlp
	Headers     map[string]string `yaml:"headers"`  // for otlp, e.g. an Authorization header
	Facility    string            `yaml:"facility"`
	MinSeverity string            `yaml:"min_severity"` // info (default), warning, error or critical
	Hostname    string            `yaml:"hostname"`
}

// validate checks an export's settings (package export checks them again
// when it builds the target; config stays free of its dependencies).
func (e Export) validate() error {
	switch e.Format {
	case "syslog", "gelf":
		switch e.Protocol {
		case "", "udp", "tcp":
		default:
			return fmt.Errorf("protocol %q is not udp or tcp", e.Protocol)
		}
		if _, _, err := net.SplitHostPort(e.Address); err != nil {
			return fmt.Errorf("address %q is not host:port", e.Address)
		}
		if e.Format == "syslog" && e.Facility != "" && !slices.Contains(syslogFacilities, e.Facility) {
			return fmt.Errorf("syslog facility %q is not one of kern … local7", e.Facility)
		}
	case "otlp":
		if u, err := url.Parse(e.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("otlp url %q is not an http(s) URL such as http://localhost:4318/v1/logs", e.URL)
		}
	default:
		return fmt.Errorf("format %q is not syslog, gelf or otlp", e.Format)
	}
	return nil
}

var syslogFacilities = []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}

// Global holds server-wide settings.
type Global struct {
	// CollectInterval is how often a node is collected by the collectors
	// not in the fast set (default 10s).
	CollectInterval Duration `yaml:"collect_interval"`
	// FastInterval is the interval of the fast set (memory, statistics,
	// scheduler utilisation), the per-second timeline (default 1s).
	FastInterval Duration `yaml:"fast_interval"`
	// CollectTimeout bounds one collection round of one node (default 5s).
	CollectTimeout Duration `yaml:"collect_timeout"`
	// DiscoverInterval is how often seeds are crawled for new nodes
	// (default 30s).
	DiscoverInterval Duration `yaml:"discover_interval"`
	// ForgetAfter is how long a discovered node that is down and no
	// longer found by discovery is kept (default 10m); then beamctl
	// forgets it. Nodes listed in nodes or seeds are never forgotten.
	ForgetAfter Duration `yaml:"forget_after"`
}

// Cluster is one set of nodes sharing a cookie.
type Cluster struct {
	Name       string                     `yaml:"name"`
	Cookie     string                     `yaml:"cookie"`
	CookieFile string                     `yaml:"cookie_file"`
	Nodes      []string                   `yaml:"nodes"` // static list
	Seeds      []string                   `yaml:"seeds"` // crawled: every node they are connected to
	Epmd       *EpmdScan                  `yaml:"epmd"`  // names registered in these hosts' epmd
	DNS        *DNSScan                   `yaml:"dns"`   // hosts from DNS, then their epmd
	Collectors map[string]CollectorConfig `yaml:"collectors"`
	// Agent lets beamctl load its helper module beamctl_agent on the
	// nodes for the collectors that scan processes or allocators on the
	// node (default true). Without it those collectors report nothing.
	Agent *bool `yaml:"agent"`
	// Family, when set, is the node family of every node of the cluster;
	// by default a node's family is its release name and version.
	Family string `yaml:"family"`
	// TLS connects with TLS distribution (nodes run -proto_dist inet_tls).
	TLS *TLS `yaml:"tls"`
	// Notifications sets what is captured from the nodes as
	// notifications besides their lifecycle.
	Notifications Capture `yaml:"notifications"`
}

// Capture sets what beamctl captures from a cluster's nodes.
type Capture struct {
	// LogLevel forwards logger events at this level and above
	// (emergency … debug; default warning; none: no forwarding).
	LogLevel string `yaml:"log_level"`
	// NodeLogLevels overrides LogLevel for some nodes (node name -> level).
	NodeLogLevels map[string]string `yaml:"node_log_levels"`
	// CodeInterval is how often the loaded modules' md5s are compared
	// (default 30s; at least 1s).
	CodeInterval Duration `yaml:"code_interval"`
	// SystemMonitor is count (default: long_gc, long_schedule,
	// large_heap, busy_port and busy_dist_port events are counted as
	// metrics), record (also recorded as notifications) or off.
	SystemMonitor string `yaml:"system_monitor"`
	// SystemMonitorSteal takes the node's one system_monitor slot even
	// when another process owns it.
	SystemMonitorSteal bool `yaml:"system_monitor_steal"`
	// CrashDump is where a node writes its crash dump, as the node sees
	// it (default: $ERL_CRASH_DUMP, else erl_crash.dump in its working
	// directory). When a node comes up with a dump there, beamctl fetches
	// it, then renames it on the node.
	CrashDump string `yaml:"crash_dump"`
	// ShellCommands records the commands typed in shells on the nodes,
	// local or remote (default true): a call trace on shell:shell_cmd/6.
	ShellCommands *bool `yaml:"shell_commands"`
}

// RecordShells reports whether shell commands are recorded.
func (c Capture) RecordShells() bool { return c.ShellCommands == nil || *c.ShellCommands }

// TLS names the PEM files for TLS distribution; relative paths are
// resolved against the configuration file's directory.
type TLS struct {
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	CAFile             string `yaml:"ca_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// AgentEnabled reports whether beamctl may load its agent on the nodes.
func (c *Cluster) AgentEnabled() bool { return c.Agent == nil || *c.Agent }

// CollectorConfig turns a collector on or off and may set its interval.
// In YAML it is a boolean (`os: false`) or a mapping
// (`allocators: {interval: 30s}`, `ets: {enabled: true, interval: 1m}`).
type CollectorConfig struct {
	Enabled  *bool    `yaml:"enabled"`
	Interval Duration `yaml:"interval"`
}

// UnmarshalYAML accepts a boolean or a mapping.
func (cc *CollectorConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var b bool
		if err := n.Decode(&b); err != nil {
			return fmt.Errorf("line %d: a collector is true, false or a mapping with enabled and interval", n.Line)
		}
		cc.Enabled = &b
		return nil
	}
	type plain CollectorConfig // without this method
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*cc = CollectorConfig(p)
	return nil
}

// String is the setting as YAML would show it (for comparing configs).
func (cc CollectorConfig) String() string {
	e := "default"
	if cc.Enabled != nil {
		e = fmt.Sprint(*cc.Enabled)
	}
	return e + "/" + time.Duration(cc.Interval).String()
}

// DNSScan discovers hosts from DNS (A/AAAA records, e.g. a Kubernetes
// headless service, or SRV records) and then their nodes through epmd.
// With A records the nodes are name@IP, as nodes started with
// -name name@$POD_IP are; with SRV records they are name@target.
type DNSScan struct {
	Names       []string `yaml:"names"`
	Type        string   `yaml:"type"` // A (default) or SRV
	NamePattern string   `yaml:"name_pattern"`
	// Pattern is NamePattern compiled.
	Pattern *regexp.Regexp `yaml:"-"`
}

// EpmdScan discovers nodes by asking each host's epmd for its names.
type EpmdScan struct {
	Hosts []string `yaml:"hosts"`
	// NamePattern keeps the names it matches (a Go regular expression;
	// default: every name).
	NamePattern string `yaml:"name_pattern"`
	// Pattern is NamePattern compiled.
	Pattern *regexp.Regexp `yaml:"-"`
}

// Duration is a time.Duration written as "10s" in YAML.
type Duration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: a duration must be a string such as 10s", n.Line)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (e.g. 10s, 1m)", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// Load reads and validates a configuration file.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(b, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse reads and validates configuration text; relative cookie_file paths
// are resolved against dir.
func Parse(b []byte, dir string) (*Config, error) {
	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) { // EOF: an empty file
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	c.applyDefaults()
	if err := c.validate(dir); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) applyDefaults() {
	if c.Global.CollectInterval == 0 {
		c.Global.CollectInterval = Duration(10 * time.Second)
	}
	if c.Global.FastInterval == 0 {
		c.Global.FastInterval = Duration(time.Second)
		if c.Global.CollectInterval < c.Global.FastInterval {
			c.Global.FastInterval = c.Global.CollectInterval
		}
	}
	if c.Global.CollectTimeout == 0 {
		c.Global.CollectTimeout = Duration(5 * time.Second)
	}
	if c.Global.DiscoverInterval == 0 {
		c.Global.DiscoverInterval = Duration(30 * time.Second)
	}
	if c.Global.ForgetAfter == 0 {
		c.Global.ForgetAfter = Duration(10 * time.Minute)
	}
}

func (c *Config) validate(dir string) error {
	g := c.Global
	if g.CollectInterval < Duration(100*time.Millisecond) {
		return errors.New("global.collect_interval must be at least 100ms")
	}
	if g.CollectTimeout > g.CollectInterval {
		return errors.New("global.collect_timeout must not be longer than global.collect_interval")
	}
	if g.FastInterval < Duration(100*time.Millisecond) || g.FastInterval > g.CollectInterval {
		return errors.New("global.fast_interval must be between 100ms and global.collect_interval")
	}
	if g.ForgetAfter < g.DiscoverInterval {
		return errors.New("global.forget_after must not be shorter than global.discover_interval")
	}
	if len(c.Clusters) == 0 {
		return errors.New("clusters must list at least one cluster")
	}
	if err := c.Alarms.validate(); err != nil {
		return err
	}
	for i, e := range c.Exports {
		switch e.MinSeverity {
		case "", "info", "warning", "error", "critical":
		default:
			return fmt.Errorf("exports[%d]: min_severity must be info, warning, error or critical, not %q", i, e.MinSeverity)
		}
		if err := e.validate(); err != nil {
			return fmt.Errorf("exports[%d]: %w", i, err)
		}
	}
	names := map[string]bool{}
	for i := range c.Clusters {
		cl := &c.Clusters[i]
		where := fmt.Sprintf("clusters[%d]", i)
		if cl.Name == "" {
			return fmt.Errorf("%s.name is required", where)
		}
		if names[cl.Name] {
			return fmt.Errorf("clusters: the name %q is used twice", cl.Name)
		}
		names[cl.Name] = true
		where = fmt.Sprintf("cluster %q", cl.Name)
		switch {
		case cl.Cookie != "" && cl.CookieFile != "":
			return fmt.Errorf("%s: give cookie or cookie_file, not both", where)
		case cl.Cookie == "" && cl.CookieFile == "":
			return fmt.Errorf("%s: cookie or cookie_file is required", where)
		case cl.CookieFile != "":
			p := cl.CookieFile
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			b, err := readSmallFile(p, 4096) // not /dev/zero, a FIFO or a log file by mistake
			if err != nil {
				return fmt.Errorf("%s: cannot read cookie_file %s: %s", where, p, err.Error())
			}
			cl.Cookie = strings.TrimSpace(string(b))
			if cl.Cookie == "" {
				return fmt.Errorf("%s: cookie_file %s is empty", where, p)
			}
		}
		if cl.Epmd != nil {
			if len(cl.Epmd.Hosts) == 0 {
				return fmt.Errorf("%s: epmd.hosts must list at least one host", where)
			}
			p, err := regexp.Compile(cl.Epmd.NamePattern)
			if err != nil {
				return fmt.Errorf("%s: epmd.name_pattern %q is not a regular expression", where, cl.Epmd.NamePattern)
			}
			cl.Epmd.Pattern = p
		}
		if cl.DNS != nil {
			if len(cl.DNS.Names) == 0 {
				return fmt.Errorf("%s: dns.names must list at least one name", where)
			}
			switch cl.DNS.Type {
			case "":
				cl.DNS.Type = "A"
			case "A", "SRV":
			default:
				return fmt.Errorf("%s: dns.type must be A or SRV, not %q", where, cl.DNS.Type)
			}
			p, err := regexp.Compile(cl.DNS.NamePattern)
			if err != nil {
				return fmt.Errorf("%s: dns.name_pattern %q is not a regular expression", where, cl.DNS.NamePattern)
			}
			cl.DNS.Pattern = p
		}
		if len(cl.Nodes) == 0 && len(cl.Seeds) == 0 && cl.Epmd == nil && cl.DNS == nil {
			return fmt.Errorf("%s: nodes, seeds, epmd or dns must name at least one node", where)
		}
		if cl.Notifications.LogLevel == "" {
			cl.Notifications.LogLevel = "warning"
		}
		levels := map[string]string{"log_level": cl.Notifications.LogLevel}
		for n, l := range cl.Notifications.NodeLogLevels {
			levels["node_log_levels."+n] = l
		}
		for _, key := range sortedKeys(levels) {
			switch levels[key] {
			case "emergency", "alert", "critical", "error", "warning", "notice", "info", "debug", "none":
			default:
				return fmt.Errorf("%s: notifications.%s must be a logger level (emergency … debug) or none, not %q", where, key, levels[key])
			}
		}
		switch cl.Notifications.SystemMonitor {
		case "":
			cl.Notifications.SystemMonitor = "count"
		case "count", "record", "off":
		default:
			return fmt.Errorf("%s: notifications.system_monitor must be count, record or off, not %q", where, cl.Notifications.SystemMonitor)
		}
		switch ci := cl.Notifications.CodeInterval; {
		case ci == 0:
			cl.Notifications.CodeInterval = Duration(30 * time.Second)
		case ci < Duration(time.Second):
			return fmt.Errorf("%s: notifications.code_interval must be at least 1s", where)
		}
		for name, cc := range cl.Collectors {
			if cc.Interval != 0 && cc.Interval < Duration(100*time.Millisecond) {
				return fmt.Errorf("%s: collectors.%s.interval must be at least 100ms", where, name)
			}
		}
		if t := cl.TLS; t != nil {
			if (t.CertFile == "") != (t.KeyFile == "") {
				return fmt.Errorf("%s: tls needs both cert_file and key_file, or neither", where)
			}
			for _, f := range []*string{&t.CertFile, &t.KeyFile, &t.CAFile} {
				if *f == "" {
					continue
				}
				if !filepath.IsAbs(*f) {
					*f = filepath.Join(dir, *f)
				}
				if fi, err := os.Stat(*f); err != nil || !fi.Mode().IsRegular() {
					return fmt.Errorf("%s: cannot read tls file %s", where, *f)
				}
			}
			if t.CAFile == "" && !t.InsecureSkipVerify {
				return fmt.Errorf("%s: tls needs ca_file (or insecure_skip_verify: true, for tests)", where)
			}
		}
		for _, n := range append(append([]string{}, cl.Nodes...), cl.Seeds...) {
			if _, err := dist.ParseNodeName(n); err != nil {
				return fmt.Errorf("%s: %q is not a node name (name@host)", where, n)
			}
		}
	}
	return nil
}

func (a *Alarms) validate() error {
	if a.Interval == 0 {
		a.Interval = Duration(10 * time.Second)
	}
	if a.ResendInterval == 0 {
		a.ResendInterval = Duration(time.Minute)
	}
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
		switch r.Severity {
		case "warning", "minor", "major", "critical":
		default:
			return fmt.Errorf("%s.severity must be warning, minor, major or critical, not %q", where, r.Severity)
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
		switch r.Severity {
		case "warning", "minor", "major", "critical":
		default:
			return fmt.Errorf("%s.severity must be warning, minor, major or critical, not %q", where, r.Severity)
		}
	}
	for i, n := range a.Notifiers {
		switch n.Format {
		case "", "webhook", "slack":
		case "pagerduty":
			if n.RoutingKey == "" {
				return fmt.Errorf("alarms.notifiers[%d]: pagerduty needs routing_key", i)
			}
		case "email":
			if _, _, err := net.SplitHostPort(n.SMTP); err != nil || n.From == "" || len(n.To) == 0 {
				return fmt.Errorf("alarms.notifiers[%d]: email needs smtp (host:port), from and to", i)
			}
			continue
		default:
			return fmt.Errorf("alarms.notifiers[%d]: format must be webhook, pagerduty, slack or email, not %q", i, n.Format)
		}
		if p, err := url.Parse(n.URL); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("alarms.notifiers[%d]: url %q is not an http(s) URL", i, n.URL)
		}
	}
	for i, u := range a.Alertmanager {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("alarms.alertmanager[%d]: %q is not an http(s) URL such as http://localhost:9093", i, u)
		}
	}
	return nil
}

// LevelOf is the level from which a node's logs are forwarded.
func (c Capture) LevelOf(node string) string {
	if l, ok := c.NodeLogLevels[node]; ok {
		return l
	}
	return c.LogLevel
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// readSmallFile reads a regular file of at most max bytes.
func readSmallFile(path string, max int64) ([]byte, error) {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return nil, errors.New("no such file or not readable")
	case !fi.Mode().IsRegular():
		return nil, errors.New("not a regular file")
	case fi.Size() > max:
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.New("not readable")
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, max))
}

// Secrets returns the cookies, so that callers can keep them out of logs.
func (c *Config) Secrets() []string {
	var out []string
	for _, cl := range c.Clusters {
		out = append(out, cl.Cookie)
	}
	return out
}
