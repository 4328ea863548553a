package deploy

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/severity"
)

// State is where a deploy is.
type State string

// The states: planned → running (⇄ paused) → succeeded, or failed (after an
// automatic rollback), aborted (stopped where it was), rolled_back (by an
// operator); rolling_back while a rollback runs.
const (
	Planned     State = "planned"
	Running     State = "running"
	Paused      State = "paused"
	RollingBack State = "rolling_back"
	Succeeded   State = "succeeded"
	Failed      State = "failed"
	Aborted     State = "aborted"
	RolledBack  State = "rolled_back"
)

// Active reports whether a deploy holds its nodes (two active deploys may
// not share a node).
func (s State) Active() bool { return s == Running || s == Paused || s == RollingBack }

// Duration is a time.Duration written as text ("30s") in JSON.
type Duration time.Duration

// MarshalText writes the duration as Go prints it.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a Go duration (e.g. 90s, 5m).
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a duration such as 30s or 5m", b)
	}
	*d = Duration(v)
	return nil
}

// Gate is a PromQL health gate: the wave fails if Expr returns any series.
// "$nodes" in Expr is replaced by a regular expression matching the names
// of the nodes deployed so far (use it as node=~"$nodes").
type Gate struct {
	Name string `json:"name"`
	Expr string `json:"expr"`
}

// Options are what a plan is made with; every one has a default.
type Options struct {
	// By is the node label that cuts the waves (default dc).
	By string `json:"by"`
	// Bake is how long each wave runs under the health gates before the
	// next one starts (default 5m).
	Bake Duration `json:"bake"`
	// CheckEvery is how often the gates are checked while a wave bakes
	// (default 5s): a failure is acted on within it.
	CheckEvery Duration `json:"check_every"`
	// Severity fails a wave on a new alarm at or above it on a deployed
	// node (default major).
	Severity severity.Level `json:"severity"`
	// ErrorRatio and ErrorMargin: a wave fails when its nodes' failures
	// (crash and supervisor reports, error logs) per node exceed
	// ErrorRatio times those of the control nodes plus ErrorMargin over
	// the same minutes (defaults 2 and 5).
	ErrorRatio  float64 `json:"error_ratio"`
	ErrorMargin int     `json:"error_margin"`
	Gates       []Gate  `json:"gates,omitempty"`
	// Force kills processes that still run old code after PurgeWait
	// (default 10s), as beamctl load --force; without it such a node's
	// load fails, and the deploy with it.
	Force     bool     `json:"force"`
	PurgeWait Duration `json:"purge_wait"`
	// IgnoreMismatch plans despite an active module_version_mismatch
	// alarm on the family.
	IgnoreMismatch bool `json:"ignore_mismatch"`
}

// WithDefaults fills the zero fields.
func (o Options) WithDefaults() Options {
	if o.By == "" {
		o.By = "dc"
	}
	if o.Bake == 0 {
		o.Bake = Duration(5 * time.Minute)
	}
	if o.CheckEvery == 0 {
		o.CheckEvery = Duration(5 * time.Second)
	}
	if o.Severity == severity.None {
		o.Severity = severity.Major
	}
	if o.ErrorRatio == 0 {
		o.ErrorRatio = 2
	}
	if o.ErrorMargin == 0 {
		o.ErrorMargin = 5
	}
	if o.PurgeWait == 0 {
		o.PurgeWait = Duration(10 * time.Second)
	}
	return o
}

// validate bounds the options.
func (o Options) validate() error {
	switch {
	case o.Bake < Duration(time.Second) || o.Bake > Duration(24*time.Hour):
		return fmt.Errorf("bake must be from 1s to 24h, not %s", time.Duration(o.Bake))
	case o.CheckEvery < Duration(100*time.Millisecond) || o.CheckEvery > o.Bake:
		return fmt.Errorf("check_every must be from 100ms to the bake time, not %s", time.Duration(o.CheckEvery))
	case o.PurgeWait > Duration(10*time.Minute):
		return fmt.Errorf("purge_wait must be at most 10m, not %s", time.Duration(o.PurgeWait))
	case o.ErrorRatio < 1 || o.ErrorRatio > 1000:
		return fmt.Errorf("error_ratio must be from 1 to 1000, not %g", o.ErrorRatio)
	case o.ErrorMargin < 0 || o.ErrorMargin > 1_000_000:
		return fmt.Errorf("error_margin must be from 0 to 1000000, not %d", o.ErrorMargin)
	case len(o.Gates) > 20:
		return fmt.Errorf("at most 20 gates, not %d", len(o.Gates))
	case o.Severity < severity.Warning || o.Severity > severity.Critical || o.Severity == severity.Error:
		return fmt.Errorf("severity must be warning, minor, major or critical, not %q", o.Severity)
	}
	for i, g := range o.Gates {
		if strings.TrimSpace(g.Expr) == "" {
			return fmt.Errorf("gates[%d] has no expr", i)
		}
	}
	return nil
}

// Module is one compiled module of a deploy.
type Module struct {
	BeamInfo
	File string `json:"file"`
	Size int    `json:"size"`
	MD5  string `json:"md5"` // as the nodes compute it (beam_lib:md5)
}

// Backup says how a node's current code of a module is kept for a
// rollback.
type Backup string

// Backups: a copy beamctl holds from an earlier deploy, the node's object
// code file (fetched before the load), none needed (the module is not
// loaded: a rollback deletes it), or none possible (a refusal).
const (
	BackupHeld    Backup = "held"
	BackupFile    Backup = "file"
	BackupDelete  Backup = "delete"
	BackupMissing Backup = "missing"
)

// ModulePlan is one module on one node.
type ModulePlan struct {
	inspect.LoadPlan
	Backup Backup `json:"backup"`
	// Now is the md5 loaded now, as last verified ("" when not loaded).
	Now string `json:"md5_now"`
	// Killed are the processes a forced purge killed.
	Killed []string `json:"killed,omitempty"`
}

// NodePlan is one node of a deploy.
type NodePlan struct {
	Node    string            `json:"node"`
	Labels  map[string]string `json:"labels"`
	OTP     string            `json:"otp_release"`
	Modules []ModulePlan      `json:"modules"`
	// Status: pending, loaded, rolled_back, or failed (its load or
	// rollback; Error says why).
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// Wave is a set of nodes deployed together, then baked.
type Wave struct {
	Name   string     `json:"name"`
	Nodes  []string   `json:"nodes"`
	State  string     `json:"state"` // pending, loading, baking, passed, failed
	Start  *time.Time `json:"started,omitempty"`
	Loaded *time.Time `json:"loaded,omitempty"` // the bake's start
	End    *time.Time `json:"ended,omitempty"`
}

// Failure is the gate (or step) that stopped a deploy, with its evidence.
type Failure struct {
	Gate     string    `json:"gate"` // alarms, errors, promql:<name>, load, verify
	Wave     int       `json:"wave"`
	Text     string    `json:"text"`
	Evidence []string  `json:"evidence,omitempty"`
	At       time.Time `json:"at"`
}

// Event is one line of a deploy's history.
type Event struct {
	Time time.Time `json:"time"`
	Text string    `json:"text"`
}

// Deploy is a plan and where its execution stands; it is stored whole as
// JSON (store.go).
type Deploy struct {
	ID        string     `json:"id"`
	Cluster   string     `json:"cluster"`
	Family    string     `json:"family,omitempty"` // "" for the whole cluster
	State     State      `json:"state"`
	Created   time.Time  `json:"created"`
	CreatedBy string     `json:"created_by"`
	StartedBy string     `json:"started_by,omitempty"`
	Updated   time.Time  `json:"updated"`
	Options   Options    `json:"options"`
	Modules   []Module   `json:"modules"`
	Nodes     []NodePlan `json:"nodes"`
	Waves     []Wave     `json:"waves"`
	// Wave is the index of the wave running (len(Waves) when all passed).
	Wave      int      `json:"wave"`
	Refusals  []string `json:"refusals"`
	Warnings  []string `json:"warnings"`
	Failure   *Failure `json:"failure,omitempty"`
	Events    []Event  `json:"events"`
	Rollback  bool     `json:"rollback,omitempty"` // a rollback was asked (RollingBack resumes it)
	PausedFor string   `json:"paused_for,omitempty"`
}

// Node returns the node's plan (nil if the deploy does not cover it).
func (d *Deploy) Node(name string) *NodePlan {
	for i := range d.Nodes {
		if d.Nodes[i].Node == name {
			return &d.Nodes[i]
		}
	}
	return nil
}

// NodeNames lists the deploy's nodes.
func (d *Deploy) NodeNames() []string {
	out := make([]string, len(d.Nodes))
	for i, n := range d.Nodes {
		out[i] = n.Node
	}
	return out
}

// event adds a line to the history.
func (d *Deploy) event(now time.Time, format string, args ...any) {
	d.Events = append(d.Events, Event{Time: now, Text: fmt.Sprintf(format, args...)})
	d.Updated = now
}

func (d *Deploy) clone() *Deploy {
	b, _ := json.Marshal(d)
	var c Deploy
	_ = json.Unmarshal(b, &c)
	return &c
}

// Target is a node a plan may cover, as the server knows it.
type Target struct {
	Node   string
	Family string
	OTP    string // otp_release, e.g. "25"
	Labels map[string]string
	Up     bool
}

// CutWaves orders nodes into the seed's waves: one canary node; a slice of
// the canary's group (the nodes sharing its value of label by); the rest
// of that group; a slice of every other group; everything left. Groups
// and nodes go in name order; empty waves are left out.
func CutWaves(nodes []NodePlan, by string) []Wave {
	groups := map[string][]string{}
	for _, n := range nodes {
		g := n.Labels[by]
		groups[g] = append(groups[g], n.Node)
	}
	names := make([]string, 0, len(groups))
	for g, ns := range groups {
		names = append(names, g)
		sort.Strings(ns)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil
	}
	label := func(g string) string {
		if g == "" {
			return "nodes without " + by
		}
		return by + "=" + g
	}
	first := groups[names[0]]
	var waves []Wave
	add := func(name string, ns []string) {
		if len(ns) > 0 {
			waves = append(waves, Wave{Name: name, Nodes: slices.Clone(ns), State: "pending"})
		}
	}
	add("canary", first[:1])
	rest := first[1:]
	if len(rest) >= 2 {
		k := len(rest) / 2
		add("slice of "+label(names[0]), rest[:k])
		rest = rest[k:]
	}
	add(label(names[0]), rest)
	var slice, all []string
	var sliced []string
	for _, g := range names[1:] {
		ns := groups[g]
		k := max(1, len(ns)/3)
		if len(ns) == 1 {
			k = 0 // a group of one goes with everything
		}
		if k > 0 {
			sliced = append(sliced, label(g))
		}
		slice = append(slice, ns[:k]...)
		all = append(all, ns[k:]...)
	}
	add("slice of "+strings.Join(sliced, ", "), slice)
	add("all", all)
	return waves
}
