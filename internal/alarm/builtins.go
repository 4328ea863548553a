package alarm

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// This file is the catalogue of beamctl's built-in alarms: the query
// alarms over the metric store (Builtins), the model alarms over what the
// server knows of several nodes (ModelBuiltins) and the event alarms over
// notifications (EventBuiltins). Build (catalogue.go) makes every rule
// from the configuration; docs/alarms.md tells the story of each.

// Builtin is one of beamctl's own alarms over the metric store: its
// expression, default levels, for: duration, description and the failure
// it exists for (docs/alarms.md tells the stories).
type Builtin struct {
	Name       string
	Expr       string
	Subject    string // label naming the subject, if any
	Levels     []Level
	Hysteresis float64
	Below      bool
	For        time.Duration
	// Window is the range of a rate or growth expression, written $window
	// in Expr and Text (zero: the expression has none).
	Window time.Duration
	Text   string
}

// Builtins are the query-based built-in alarms.
var Builtins = []Builtin{
	{Name: "process_limit", Expr: `erlang_vm_processes / erlang_vm_process_limit`, Levels: []Level{{Minor, 0.8}, {Major, 0.9}, {Critical, 0.95}},
		Hysteresis: 0.05, For: 30 * time.Second, Text: `{{.Node}} uses {{pct .Value}} of its process limit (+P).`},
	{Name: "port_limit", Expr: `erlang_vm_ports / erlang_vm_port_limit`, Levels: []Level{{Minor, 0.8}, {Major, 0.9}, {Critical, 0.95}},
		Hysteresis: 0.05, For: 30 * time.Second, Text: `{{.Node}} uses {{pct .Value}} of its port limit (+Q).`},
	{Name: "atom_limit", Expr: `erlang_vm_atoms / erlang_vm_atom_limit`, Levels: []Level{{Minor, 0.7}, {Major, 0.85}, {Critical, 0.95}},
		Hysteresis: 0.02, Text: `{{.Node}} uses {{pct .Value}} of its atom table (+t); atoms are never freed.`},
	{Name: "ets_limit", Expr: `erlang_vm_ets_tables / erlang_vm_ets_limit`, Levels: []Level{{Minor, 0.8}, {Major, 0.9}, {Critical, 0.95}},
		Hysteresis: 0.05, For: 30 * time.Second, Text: `{{.Node}} uses {{pct .Value}} of its ETS table limit.`},
	{Name: "atom_growth", Expr: `deriv(erlang_vm_atoms[$window])`, Window: 10 * time.Minute, Levels: []Level{{Warning, 0.2}, {Minor, 1}, {Major, 10}},
		Hysteresis: 0.5, For: 10 * time.Minute, Text: `{{.Node}} creates {{num .Value}} atoms a second, steadily: a leak (list_to_atom of input?).`},
	{Name: "memory_high", Expr: `sum by (cluster, node) (erlang_vm_memory_bytes{kind="total"}) / on (cluster, node) erlang_vm_os_memory_total_bytes`,
		Levels: []Level{{Minor, 0.7}, {Major, 0.85}, {Critical, 0.95}}, Hysteresis: 0.03, For: time.Minute,
		Text: `The VM of {{.Node}} uses {{pct .Value}} of the host's memory.`},
	{Name: "host_memory_low", Expr: `erlang_vm_os_memory_available_bytes / erlang_vm_os_memory_total_bytes`, Below: true,
		Levels: []Level{{Minor, 0.15}, {Major, 0.07}, {Critical, 0.03}}, Hysteresis: 0.2, For: time.Minute,
		Text: `The host of {{.Node}} has {{pct .Value}} of its memory available.`},
	{Name: "disk_full", Expr: `1 - erlang_vm_os_disk_available_bytes / erlang_vm_os_disk_size_bytes`, Subject: "mount",
		Levels: []Level{{Minor, 0.8}, {Major, 0.9}, {Critical, 0.95}}, Hysteresis: 0.02, For: time.Minute,
		Text: `The filesystem {{.Subject}} on the host of {{.Node}} is {{pct .Value}} full: logs, crash dumps, disk_log and mnesia fail when it fills.`},
	{Name: "binary_memory_growth", Expr: `deriv(erlang_vm_memory_bytes{kind="binary"}[$window])`, Window: 15 * time.Minute,
		Levels: []Level{{Warning, 1 << 20}, {Minor, 10 << 20}, {Major, 50 << 20}}, Hysteresis: 0.5, For: 15 * time.Minute,
		Text: `Binary memory on {{.Node}} grows by {{bytes .Value}} a second (refc binaries held: see beamctl leaks).`},
	{Name: "process_message_queue",
		Expr:   `erlang_vm_message_queue_max_length * on (cluster, node) group_left (pid, name) erlang_vm_message_queue_longest_info`,
		Levels: []Level{{Minor, 10000}, {Major, 100000}, {Critical, 1000000}}, Hysteresis: 0.2, For: 30 * time.Second,
		Text: `A process on {{.Node}} has {{num .Value}} messages waiting: {{index .Labels "pid"}} {{index .Labels "name"}}.`},
	{Name: "message_queue_growing", Expr: `deriv(erlang_vm_message_queue_messages[$window])`, Window: 5 * time.Minute,
		Levels: []Level{{Minor, 100}, {Major, 1000}}, Hysteresis: 0.5, For: 5 * time.Minute,
		Text: `Messages waiting on {{.Node}} grow by {{num .Value}} a second: queues fill faster than they drain.`},
	{Name: "run_queue_high", Expr: `erlang_vm_statistics_run_queues_length / erlang_vm_schedulers_online`,
		Levels: []Level{{Minor, 2}, {Major, 5}, {Critical, 20}}, Hysteresis: 0.3, For: time.Minute,
		Text: `{{.Node}} has {{num .Value}} runnable processes and ports per scheduler: more work than CPU.`},
	{Name: "scheduler_utilisation_high", Expr: `avg_over_time(erlang_vm_scheduler_type_utilization_ratio{type="normal"}[$window])`, Window: 5 * time.Minute,
		Levels: []Level{{Minor, 0.8}, {Major, 0.9}, {Critical, 0.97}}, Hysteresis: 0.05, For: 5 * time.Minute,
		Text: `The schedulers of {{.Node}} are busy {{pct .Value}} of the time ($window average).`},
	{Name: "long_gc", Expr: `rate(erlang_vm_system_monitor_events_total{event="long_gc"}[$window]) * 60`, Window: 5 * time.Minute,
		Levels: []Level{{Warning, 1}, {Minor, 10}, {Major, 60}}, Hysteresis: 0.5,
		Text: `{{.Node}} has {{num .Value}} garbage collections a minute over 100 ms.`},
	{Name: "long_schedule", Expr: `rate(erlang_vm_system_monitor_events_total{event="long_schedule"}[$window]) * 60`, Window: 5 * time.Minute,
		Levels: []Level{{Warning, 1}, {Minor, 10}, {Major, 60}}, Hysteresis: 0.5,
		Text: `{{.Node}} has {{num .Value}} processes or ports a minute running over 100 ms without yielding.`},
	{Name: "large_heap", Expr: `rate(erlang_vm_system_monitor_events_total{event="large_heap"}[$window]) * 60`, Window: 5 * time.Minute,
		Levels: []Level{{Warning, 1}, {Minor, 10}}, Hysteresis: 0.5,
		Text: `{{.Node}} has {{num .Value}} heaps a minute over 8 Mi words.`},
	{Name: "busy_dist_port", Expr: `rate(erlang_vm_system_monitor_events_total{event="busy_dist_port"}[$window]) * 60`, Window: 5 * time.Minute,
		Levels: []Level{{Warning, 1}, {Minor, 60}, {Major, 600}}, Hysteresis: 0.5,
		Text: `Processes on {{.Node}} were suspended {{num .Value}} times a minute on a busy distribution port.`},
	{Name: "busy_port", Expr: `rate(erlang_vm_system_monitor_events_total{event="busy_port"}[$window]) * 60`, Window: 5 * time.Minute,
		Levels: []Level{{Warning, 10}, {Minor, 600}}, Hysteresis: 0.5,
		Text: `Processes on {{.Node}} were suspended {{num .Value}} times a minute on a busy port.`},
	{Name: "socket_backlog", Expr: `sum by (cluster, node) (min_over_time(erlang_vm_ports_with_queued_output{driver=~"tcp_inet|sctp_inet"}[$window]))`, Window: 2 * time.Minute,
		Levels: []Level{{Warning, 5}, {Minor, 50}, {Major, 500}},
		Text:   `{{num .Value}} sockets on {{.Node}} have had output queued in the VM throughout $window: peers that do not read, whose gen_tcp senders block (busy_port does not show them).`},
	{Name: "dist_connection_flapping", Expr: `count by (cluster, node, peer) (count_over_time(erlang_vm_dist_connection_controller_info{peer!~"beamctl_.*"}[$window])) - 1`, Window: 10 * time.Minute,
		Subject: "peer", Levels: []Level{{Minor, 3}, {Major, 10}},
		Text: `The connection from {{.Node}} to {{.Subject}} was set up again {{num .Value}} times in $window.`},
	{Name: "time_drift", Expr: `abs(erlang_vm_clock_offset_seconds) - erlang_vm_clock_offset_uncertainty_seconds`,
		Levels: []Level{{Minor, 1}, {Major, 10}, {Critical, 60}}, Hysteresis: 0.2, For: time.Minute,
		Text: `The clock of {{.Node}} is {{num .Value}} s away from beamctl's (and so from its family's): timestamps, leases and timeouts disagree.`},
	{Name: "shell_memory", Expr: `erlang_vm_shell_process_memory_bytes`, Subject: "pid",
		Levels: []Level{{Minor, 100 << 20}, {Major, 1 << 30}, {Critical, 4 << 30}}, Hysteresis: 0.2,
		Text: `A shell process {{.Subject}} on {{.Node}} (typed from {{index .Labels "from_node"}}) holds {{bytes .Value}}: a result kept in the shell's history?`},
	{Name: "open_files", Expr: `erlang_vm_os_open_fds / erlang_vm_os_max_fds`, Levels: []Level{{Minor, 0.7}, {Major, 0.85}, {Critical, 0.95}},
		Hysteresis: 0.05, For: 30 * time.Second, Text: `The VM of {{.Node}} has {{pct .Value}} of its file descriptors open (ulimit -n).`},
	{Name: "logger_error_rate", Expr: `sum by (cluster, node) (rate(erlang_vm_logger_events_total{level=~"error|critical|alert|emergency"}[$window])) * 60`, Window: 5 * time.Minute,
		Levels: []Level{{Warning, 10}, {Minor, 60}, {Major, 600}}, Hysteresis: 0.3, For: time.Minute,
		Text: `{{.Node}} logs {{num .Value}} errors a minute.`},
	// The products' alarms (the rabbitmq and mnesia collectors).
	{Name: "rabbitmq_resource_alarm", Subject: "resource",
		Expr: `label_replace(rabbitmq_alarms_memory_used_watermark, "resource", "memory", "", "")` +
			` or label_replace(rabbitmq_alarms_free_disk_space_watermark, "resource", "disk", "", "")` +
			` or label_replace(rabbitmq_alarms_file_descriptor_limit, "resource", "file_descriptors", "", "")`,
		Levels: []Level{{Critical, 1}},
		Text:   `RabbitMQ's {{.Subject}} alarm is set on {{.Node}}: every publishing connection of the cluster is blocked.`},
	{Name: "rabbitmq_partitioned", Expr: `rabbitmq_partitions`, Levels: []Level{{Critical, 1}},
		Text: `RabbitMQ on {{.Node}} reports a network partition from {{num .Value}} node(s): queues and their mirrors may have diverged.`},
	{Name: "mnesia_replica_size_mismatch", Subject: "table",
		// Per node: how far its copy stays below the largest copy of the
		// same table with the same replica set (the replicas label keeps
		// apart separate Mnesia clusters watched in one beamctl cluster).
		Expr: `max by (cluster, table, replicas) (min_over_time(erlang_mnesia_tablewise_size[$window]))` +
			` - on (cluster, table, replicas) group_right max_over_time(erlang_mnesia_tablewise_size[$window])`,
		Window: 5 * time.Minute, Levels: []Level{{Major, 1}}, For: 5 * time.Minute,
		Text: `The copy of Mnesia table {{.Subject}} on {{.Node}} has {{num .Value}} records fewer than another copy for $window: replicas diverged (a healed partition?).`},
	{Name: "mnesia_lock_queue", Expr: `min_over_time(erlang_mnesia_lock_queue[$window])`, Window: 2 * time.Minute,
		Levels: []Level{{Minor, 10}, {Major, 100}, {Critical, 1000}}, Hysteresis: 0.3,
		Text: `{{num .Value}} Mnesia lock requests or more waited on {{.Node}} at every reading for $window: transactions queue behind held locks.`},
}

// ModelBuiltin is a built-in alarm over the server's Model: a fixed
// severity and a function that finds the keys whose condition holds.
type ModelBuiltin struct {
	Name     string
	Severity Severity
	For      time.Duration
	// Window is a lookback, for the alarms that have one (zero: none).
	Window time.Duration
	// Text says what the alarm finds (for docs and the rules API).
	Text string
	Eval func(ctx context.Context, in *ModelInput) ([]Observation, error)
}

// ModelBuiltins are the built-in alarms over the server's model.
var ModelBuiltins = []ModelBuiltin{
	{Name: "node_down", Severity: Critical, For: 30 * time.Second, Eval: nodeDown,
		Text: "A known node beamctl is not connected to."},
	{Name: "module_version_mismatch", Severity: Major, Eval: moduleVersionMismatch,
		Text: "A module loaded with different md5s on nodes of one family."},
	{Name: "old_code", Severity: Warning, For: 5 * time.Minute, Eval: oldCode,
		Text: "A module whose old code is still loaded long after a code change."},
	{Name: "application_version_mismatch", Severity: Major, For: time.Minute, Eval: applicationVersionMismatch,
		Text: "An application running in different versions on nodes of one family."},
	{Name: "node_alarm", Severity: Minor, Eval: nodeAlarms,
		Text: "An alarm set in the node's own alarm_handler."},
	{Name: "partial_netsplit", Severity: Major, For: 30 * time.Second, Eval: partialNetsplit,
		Text: "Node A is connected to other nodes but not to B, both up."},
	{Name: "cluster_partitioned", Severity: Critical, For: 30 * time.Second, Window: time.Hour, Eval: clusterPartitioned,
		Text: "The up nodes of a cluster, once connected, form more than one island of connected nodes."},
	{Name: "config_sanity", Severity: Major, Eval: configSanity,
		Text: "A file the running release depends on that cannot be read or does not parse."},
	{Name: "module_clash", Severity: Minor, Eval: moduleClash,
		Text: "Modules in two directories of the code path, one alarm per node and pair of directories."},
	{Name: "time_zone_mismatch", Severity: Minor, For: time.Minute, Eval: timeZoneMismatch,
		Text: "Nodes of one family in different time zones."},
}

// EventBuiltins are the built-in alarms over notifications: restarts, and
// mnesia's own alarms from its system events.
var EventBuiltins = []EventRule{
	{RuleName: "node_restart_loop", Kind: "node_restarted", Count: 2, Window: 30 * time.Minute,
		Levels:      &Thresholds{Levels: []Level{{Severity: Minor, At: 2}, {Severity: Major, At: 3}, {Severity: Critical, At: 6}}},
		Description: "The node restarts in a loop"},
	{RuleName: "mnesia_inconsistent", Kind: "mnesia_inconsistent_database", Count: 1, Window: time.Hour, Severity: Critical,
		Description: "mnesia reports an inconsistent database (a partition healed with diverging tables)"},
	{RuleName: "mnesia_overloaded", Kind: "mnesia_overload", Count: 1, Window: 10 * time.Minute, Severity: Major,
		Description: "mnesia is overloaded (its transaction log dump falls behind)"},
}

// Override changes a built-in's defaults from the configuration.
type Override struct {
	Disabled bool
	For      *time.Duration
	Window   *time.Duration       // for rate and growth alarms only
	Levels   map[Severity]float64 // replaces the value of a level (adds it if new)
}

// WindowsPerPace: a built-in rule over a window is evaluated at most once
// every window/WindowsPerPace (30 s for a 5-minute rate, 90 s for a
// 15-minute growth); at 1,000 nodes these rules were most of the alarm
// evaluation's time (docs/scale.md).
const WindowsPerPace = 10

// BuiltinRules makes the built-in rules with the overrides (by name; an
// unknown name is an error).
func BuiltinRules(q Querier, overrides map[string]Override) ([]Rule, error) {
	known := map[string]bool{}
	for _, b := range Builtins {
		known[b.Name] = true
	}
	for name := range overrides {
		if !known[name] {
			return nil, fmt.Errorf("unknown built-in alarm %q", name)
		}
	}
	var out []Rule
	for _, b := range Builtins {
		o := overrides[b.Name]
		if o.Disabled {
			continue
		}
		levels := map[Severity]float64{}
		for _, l := range b.Levels {
			levels[l.Severity] = l.At
		}
		for s, v := range o.Levels {
			levels[s] = v
		}
		th := &Thresholds{Hysteresis: b.Hysteresis, Below: b.Below}
		for s, v := range levels {
			th.Levels = append(th.Levels, Level{s, v})
		}
		sort.Slice(th.Levels, func(i, j int) bool { return th.Levels[i].Severity < th.Levels[j].Severity })
		window := b.Window
		if o.Window != nil {
			if b.Window == 0 {
				return nil, fmt.Errorf("%s has no window: it is not a rate or a growth", b.Name)
			}
			if *o.Window <= 0 {
				return nil, fmt.Errorf("%s: the window must be positive", b.Name)
			}
			window = *o.Window
		}
		w := model.Duration(window).String()
		r := &QueryRule{RuleName: b.Name, Expr: strings.ReplaceAll(b.Expr, "$window", w), SubjectLabel: b.Subject, Thresholds: th,
			ForDur: b.For, Every: window / WindowsPerPace, Text: strings.ReplaceAll(b.Text, "$window", w), Q: q}
		if o.For != nil {
			r.ForDur = *o.For
		}
		if err := r.Check(); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
