package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestLoadGood(t *testing.T) {
	c, err := Load("testdata/conf.good.yml")
	require.NoError(t, err)
	require.Equal(t, Duration(5*time.Second), c.Global.CollectInterval)
	require.Equal(t, Duration(5*time.Second), c.Global.CollectTimeout, "default")
	require.Equal(t, Duration(30*time.Second), c.Global.DiscoverInterval, "default")
	require.Equal(t, Duration(10*time.Minute), c.Global.ForgetAfter, "default")
	require.Len(t, c.Clusters, 2)
	require.Equal(t, "filecookie", c.Clusters[1].Cookie, "read from cookie_file, relative to the config")
	require.Equal(t, Duration(time.Second), c.Global.FastInterval, "default")
	off, on := false, true
	require.Equal(t, map[string]CollectorConfig{
		"os":         {Enabled: &off},
		"allocators": {Interval: Duration(time.Minute)},
		"ets":        {Enabled: &on, Interval: Duration(30 * time.Second)},
	}, c.Clusters[1].Collectors)
	require.True(t, c.Clusters[0].AgentEnabled(), "default")
	require.False(t, c.Clusters[1].AgentEnabled())
	require.Equal(t, "chat-server", c.Clusters[0].Family)
	require.Equal(t, []string{"a@host1", "b@host2"}, c.Clusters[0].Nodes)
	require.Equal(t, map[string]string{"dc": "west", "rack": "r2"}, c.Clusters[0].NodeLabelsOf("b@host2"), "the node's own over the cluster's")
	require.Equal(t, map[string]string{"dc": "east", "rack": "r1"}, c.Clusters[0].NodeLabelsOf("a@host1"))
	require.Equal(t, Capture{LogLevel: "warning", CodeInterval: Duration(30 * time.Second), SystemMonitor: "count"}, c.Clusters[1].Notifications, "defaults")
	require.Equal(t, "error", c.Clusters[0].Notifications.LevelOf("a@host1"))
	require.Equal(t, Duration(5*time.Second), c.Alarms.Interval)
	require.Equal(t, Duration(time.Minute), c.Alarms.ResendInterval, "default")
	require.True(t, c.Alarms.Builtin["atom_growth"].Disabled)
	require.Equal(t, map[string]float64{"major": 0.85}, c.Alarms.Builtin["process_limit"].Levels)
	require.Equal(t, Duration(time.Minute), *c.Alarms.Builtin["process_limit"].For)
	require.Equal(t, "major", c.Alarms.Rules[0].Severity)
	require.Equal(t, "warning", c.Clusters[0].Notifications.LevelOf("b@host2"))
	require.Equal(t, &TLS{CAFile: filepath.Join("testdata", "ca-cert.pem"), ServerName: "rabbit"}, c.Clusters[1].TLS, "relative to the config")
}

// TestValidation has one bad config file per rule, with its exact sentence.
func TestValidation(t *testing.T) {
	dir, _ := filepath.Abs("testdata")
	tests := []struct {
		file, want string
	}{
		{"conf.unknown-key.yml", "parse YAML: yaml: unmarshal errors:\n  line 5: field colour not found in type config.Cluster"},
		{"conf.interval-too-short.yml", "global.collect_interval must be at least 100ms"},
		{"conf.timeout-longer.yml", "global.collect_timeout must not be longer than global.collect_interval"},
		{"conf.bad-duration.yml", `parse YAML: line 2: "fast" is not a duration (e.g. 10s, 1m)`},
		{"conf.no-clusters.yml", "clusters must list at least one cluster"},
		{"conf.no-name.yml", "clusters[0].name is required"},
		{"conf.duplicate-name.yml", `clusters: the name "x" is used twice`},
		{"conf.cookie-and-file.yml", `cluster "x": give cookie or cookie_file, not both`},
		{"conf.no-cookie.yml", `cluster "x": cookie or cookie_file is required`},
		{"conf.missing-cookie-file.yml", `cluster "x": cannot read cookie_file ` + filepath.Join(dir, "missing.txt") + `: no such file or not readable`},
		{"conf.cookie-file-device.yml", `cluster "x": cannot read cookie_file /dev/zero: not a regular file`},
		{"conf.empty-cookie-file.yml", `cluster "x": cookie_file ` + filepath.Join(dir, "empty-cookie.txt") + ` is empty`},
		{"conf.no-nodes.yml", `cluster "x": nodes, seeds, epmd or dns must name at least one node`},
		{"conf.dns-no-names.yml", `cluster "x": dns.names must list at least one name`},
		{"conf.dns-bad-type.yml", `cluster "x": dns.type must be A or SRV, not "MX"`},
		{"conf.epmd-no-hosts.yml", `cluster "x": epmd.hosts must list at least one host`},
		{"conf.epmd-bad-pattern.yml", `cluster "x": epmd.name_pattern "([" is not a regular expression`},
		{"conf.fast-interval.yml", "global.fast_interval must be between 100ms and global.collect_interval"},
		{"conf.forget-after.yml", "global.forget_after must not be shorter than global.discover_interval"},
		{"conf.collector-interval.yml", `cluster "x": collectors.memory.interval must be at least 100ms`},
		{"conf.collector-bad.yml", "parse YAML: line 6: a collector is true, false or a mapping with enabled and interval"},
		{"conf.tls-no-key.yml", `cluster "x": tls needs both cert_file and key_file, or neither`},
		{"conf.tls-no-ca.yml", `cluster "x": tls needs ca_file (or insecure_skip_verify: true, for tests)`},
		{"conf.tls-missing-file.yml", `cluster "x": cannot read tls file ` + filepath.Join(dir, "ca.pem")},
		{"conf.tls-bad-ca.yml", `cluster "x": tls ca_file ` + filepath.Join(dir, "cookie.txt") + ` holds no PEM certificate`},
		{"conf.tls-bad-pair.yml", `cluster "x": tls cert_file ` + filepath.Join(dir, "ca-cert.pem") + ` and key_file ` + filepath.Join(dir, "cookie.txt") +
			` are not a PEM certificate and its key: tls: failed to find any PEM data in key input`},
		{"conf.bad-log-level.yml", `cluster "x": notifications.log_level must be a logger level (emergency … debug) or none, not "loud"`},
		{"conf.bad-node-log-level.yml", `cluster "x": notifications.node_log_levels.a@h must be a logger level (emergency … debug) or none, not "verbose"`},
		{"conf.bad-sysmon.yml", `cluster "x": notifications.system_monitor must be count, record or off, not "yes"`},
		{"conf.bad-export.yml", `exports[1]: protocol "sctp" is not udp or tcp`},
		{"conf.bad-export-severity.yml", `exports[0]: min_severity must be info, warning, error or critical, not "loud"`},
		{"conf.bad-alarm-rule.yml", `alarms.rules[0].severity must be warning, minor, major or critical, not "page"`},
		{"conf.bad-promql.yml", `alarms.rules[0].expr: PromQL "rate(erlang_vm_processes[5m]": 1:29: parse error: unclosed left parenthesis`},
		{"conf.bad-event-rule.yml", `alarms.event_rules[0].window is required (e.g. 1m)`},
		{"conf.bad-email.yml", `alarms.notifiers[0]: email needs smtp (host:port), from and to`},
		{"conf.bad-notifier.yml", `alarms.notifiers[0]: pagerduty needs routing_key`},
		{"conf.bad-notifier-url.yml", `alarms.notifiers[0]: url is not an http(s) URL (not shown: it may hold a token)`},
		{"conf.bad-alertmanager-secret.yml", `alarms.alertmanager[0]: "ftp://am.example:9093" is not an http(s) URL such as http://localhost:9093`},
		{"conf.bad-alertmanager.yml", `alarms.alertmanager[0]: "localhost:9093" is not an http(s) URL such as http://localhost:9093`},
		{"conf.bad-builtin-level.yml", `alarms.builtin.process_limit: "severe" is not for, window, warning, minor, major or critical`},
		{"conf.bad-builtin-window.yml", `alarms.builtin.long_gc: the window must be positive`},
		{"conf.code-interval.yml", `cluster "x": notifications.code_interval must be at least 1s`},
		{"conf.bad-web-role.yml", `web.roles.bob must be viewer, operator or admin, not "root"`},
		{"conf.bad-grafana-url.yml", `web.grafana_url: "grafana.example.com:3000" is not an http(s) URL such as https://grafana.example.com`},
		{"conf.bad-node.yml", `cluster "x": "justaname" is not a node name (name@host)`},
		{"conf.bad-label.yml", `cluster "x": label "data centre" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)`},
		{"conf.collector-unknown-key.yml", "parse YAML: line 6: a collector's mapping has enabled and interval, not intervall"},
		{"conf.unknown-top-key.yml", "parse YAML: yaml: unmarshal errors:\n  line 5: field alarm not found in type config.Config"},
		{"conf.unknown-global-key.yml", "parse YAML: yaml: unmarshal errors:\n  line 2: field collect_intervall not found in type config.Global"},
		{"conf.unknown-notifications-key.yml", "parse YAML: yaml: unmarshal errors:\n  line 6: field log_levl not found in type config.Capture"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			_, err := Load(filepath.Join(dir, tc.file))
			require.EqualError(t, err, "config "+filepath.Join(dir, tc.file)+": "+tc.want)
		})
	}
}

// TestDefaults checks the defaults that depend on other settings, and that
// missing or empty blocks get the defaults too.
func TestDefaults(t *testing.T) {
	const cluster = "clusters: [{name: x, cookie: c, nodes: [a@h]}]\n"
	tests := []struct {
		name, yaml string
		want       Global
	}{
		{"no global block", cluster, Global{
			CollectInterval: Duration(10 * time.Second), FastInterval: Duration(time.Second),
			CollectTimeout: Duration(5 * time.Second), DiscoverInterval: Duration(30 * time.Second), ForgetAfter: Duration(10 * time.Minute),
		}},
		{"empty global block", "global:\n" + cluster, Global{
			CollectInterval: Duration(10 * time.Second), FastInterval: Duration(time.Second),
			CollectTimeout: Duration(5 * time.Second), DiscoverInterval: Duration(30 * time.Second), ForgetAfter: Duration(10 * time.Minute),
		}},
		// collect_timeout is at most collect_interval: a short interval
		// alone is valid (it was refused for collect_timeout, a key the
		// user never wrote).
		{"collect_interval 2s", "global: {collect_interval: 2s}\n" + cluster, Global{
			CollectInterval: Duration(2 * time.Second), FastInterval: Duration(time.Second),
			CollectTimeout: Duration(2 * time.Second), DiscoverInterval: Duration(30 * time.Second), ForgetAfter: Duration(10 * time.Minute),
		}},
		{"collect_interval 500ms", "global: {collect_interval: 500ms}\n" + cluster, Global{
			CollectInterval: Duration(500 * time.Millisecond), FastInterval: Duration(500 * time.Millisecond),
			CollectTimeout: Duration(500 * time.Millisecond), DiscoverInterval: Duration(30 * time.Second), ForgetAfter: Duration(10 * time.Minute),
		}},
		// forget_after is at least discover_interval: a long discovery
		// interval alone is valid.
		{"discover_interval 20m", "global: {discover_interval: 20m}\n" + cluster, Global{
			CollectInterval: Duration(10 * time.Second), FastInterval: Duration(time.Second),
			CollectTimeout: Duration(5 * time.Second), DiscoverInterval: Duration(20 * time.Minute), ForgetAfter: Duration(20 * time.Minute),
		}},
		{"explicit timeout", "global: {collect_interval: 20s, collect_timeout: 15s}\n" + cluster, Global{
			CollectInterval: Duration(20 * time.Second), FastInterval: Duration(time.Second),
			CollectTimeout: Duration(15 * time.Second), DiscoverInterval: Duration(30 * time.Second), ForgetAfter: Duration(10 * time.Minute),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml), t.TempDir())
			require.NoError(t, err)
			require.Equal(t, tc.want, c.Global)
			require.Equal(t, Alarms{Interval: Duration(10 * time.Second), ResendInterval: Duration(time.Minute)}, c.Alarms)
			require.Equal(t, Capture{LogLevel: "warning", CodeInterval: Duration(30 * time.Second), SystemMonitor: "count"}, c.Clusters[0].Notifications)
		})
	}
	t.Run("empty blocks", func(t *testing.T) {
		c, err := Parse([]byte("alarms:\nclusters: [{name: x, cookie: c, nodes: [a@h], notifications: , dns: {names: [n]}}]\n"), t.TempDir())
		require.NoError(t, err)
		require.Equal(t, Duration(10*time.Second), c.Alarms.Interval)
		require.Equal(t, "warning", c.Clusters[0].Notifications.LogLevel)
		require.Equal(t, "A", c.Clusters[0].DNS.Type)
		require.True(t, c.Clusters[0].DNS.Pattern.MatchString("any"), "compiled in the resolve step")
	})
}

// TestValidateHasNoSideEffects checks that validation changes nothing and
// reads no file: the cookie file is read, and paths resolved, afterwards.
func TestValidateHasNoSideEffects(t *testing.T) {
	b, err := os.ReadFile("testdata/conf.good.yml")
	require.NoError(t, err)
	var c, before Config
	require.NoError(t, yaml.Unmarshal(b, &c))
	require.NoError(t, yaml.Unmarshal(b, &before))
	require.NoError(t, c.validate())
	require.Equal(t, before, c)
	require.Empty(t, c.Clusters[1].Cookie, "the cookie file is not read yet")
	require.NoError(t, c.resolve("testdata"))
	require.Equal(t, "filecookie", c.Clusters[1].Cookie)
}

// FuzzParse feeds arbitrary text to the config parser: errors, no panics.
func FuzzParse(f *testing.F) {
	f.Add([]byte("clusters:\n  - name: x\n    cookie: c\n    nodes: [a@h]\n"))
	f.Add([]byte("global: {collect_interval: 1s}\n"))
	f.Add([]byte("clusters:\n  - {name: x, cookie_file: /dev/zero, nodes: [a@h]}\n")) // once a hang: read without end
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Parse(b, t.TempDir())
	})
}
