package config

import (
	"errors"
	"fmt"
	"time"
)

// Capture sets what beamctl captures from a cluster's nodes: the
// cluster's notifications block.
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
	// local or remote (default true): a meta trace on shell:expand_hist/2.
	ShellCommands *bool `yaml:"shell_commands"`
}

// setDefaults fills the settings left unset. The cluster applies it when
// it is decoded, so that a missing notifications block has the defaults
// too.
func (c *Capture) setDefaults() {
	if c.LogLevel == "" {
		c.LogLevel = "warning"
	}
	if c.SystemMonitor == "" {
		c.SystemMonitor = "count"
	}
	if c.CodeInterval == 0 {
		c.CodeInterval = Duration(30 * time.Second)
	}
}

// validate checks the block; errors start with the key under
// notifications.
func (c Capture) validate() error {
	levels := map[string]string{"log_level": c.LogLevel}
	for n, l := range c.NodeLogLevels {
		levels["node_log_levels."+n] = l
	}
	for _, key := range sortedKeys(levels) {
		switch levels[key] {
		case "emergency", "alert", "critical", "error", "warning", "notice", "info", "debug", "none":
		default:
			return fmt.Errorf("notifications.%s must be a logger level (emergency … debug) or none, not %q", key, levels[key])
		}
	}
	switch c.SystemMonitor {
	case "count", "record", "off":
	default:
		return fmt.Errorf("notifications.system_monitor must be count, record or off, not %q", c.SystemMonitor)
	}
	if c.CodeInterval < Duration(time.Second) {
		return errors.New("notifications.code_interval must be at least 1s")
	}
	return nil
}

// RecordShells reports whether shell commands are recorded.
func (c Capture) RecordShells() bool { return c.ShellCommands == nil || *c.ShellCommands }

// LevelOf is the level from which a node's logs are forwarded.
func (c Capture) LevelOf(node string) string {
	if l, ok := c.NodeLogLevels[node]; ok {
		return l
	}
	return c.LogLevel
}
