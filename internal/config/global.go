package config

import (
	"errors"
	"time"
)

// Global holds server-wide settings.
type Global struct {
	// CollectInterval is how often a node is collected by the collectors
	// not in the fast set (default 10s).
	CollectInterval Duration `yaml:"collect_interval"`
	// FastInterval is the interval of the fast set (memory, statistics,
	// scheduler utilisation), the per-second timeline (default 1s, or
	// collect_interval when that is shorter).
	FastInterval Duration `yaml:"fast_interval"`
	// CollectTimeout bounds one collection round of one node (default 5s,
	// or collect_interval when that is shorter).
	CollectTimeout Duration `yaml:"collect_timeout"`
	// DiscoverInterval is how often seeds are crawled for new nodes
	// (default 30s).
	DiscoverInterval Duration `yaml:"discover_interval"`
	// ForgetAfter is how long a discovered node that is down and no
	// longer found by discovery is kept (default 10m, or discover_interval
	// when that is longer); then beamctl forgets it. Nodes listed in nodes
	// or seeds are never forgotten.
	ForgetAfter Duration `yaml:"forget_after"`
}

// UnmarshalYAML decodes the global block and applies its defaults.
func (g *Global) UnmarshalYAML(unmarshal func(any) error) error {
	type raw = Global
	type Global raw
	if err := unmarshal((*Global)(g)); err != nil {
		return err
	}
	g.setDefaults()
	return nil
}

// setDefaults fills the settings left unset. The fast interval and the
// collection timeout default to no more than the collection interval, so
// that a short collect_interval alone is a valid configuration.
func (g *Global) setDefaults() {
	if g.CollectInterval == 0 {
		g.CollectInterval = Duration(10 * time.Second)
	}
	if g.FastInterval == 0 {
		g.FastInterval = min(Duration(time.Second), g.CollectInterval)
	}
	if g.CollectTimeout == 0 {
		g.CollectTimeout = min(Duration(5*time.Second), g.CollectInterval)
	}
	if g.DiscoverInterval == 0 {
		g.DiscoverInterval = Duration(30 * time.Second)
	}
	if g.ForgetAfter == 0 {
		g.ForgetAfter = max(Duration(10*time.Minute), g.DiscoverInterval)
	}
}

func (g Global) validate() error {
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
	return nil
}
