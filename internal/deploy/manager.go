package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/severity"
)

// Env is what a deploy needs of the server: its nodes and connections,
// alarms, notifications, metrics, announcements and audit trail.
type Env interface {
	// Targets are the nodes of a cluster, with family, OTP and labels.
	Targets(cluster string) ([]Target, error)
	// Conn is the live connection to a node.
	Conn(ctx context.Context, cluster, node string) (inspect.Conn, error)
	// Alarms lists the active alarms raised at or after since, at or above
	// min, on the nodes (one line each: rule, node, description).
	Alarms(cluster string, nodes []string, since time.Time, min severity.Level) []string
	// FamilyMismatch describes an active module_version_mismatch alarm of
	// the family ("" when there is none).
	FamilyMismatch(cluster, family string) string
	// Failures counts each node's failures (crash and supervisor reports,
	// error logs) from since to until.
	Failures(ctx context.Context, cluster string, since, until time.Time) (map[string]int, error)
	// Query evaluates PromQL now; each sample is one line of evidence.
	Query(ctx context.Context, q string) ([]string, error)
	// Announce tells people (notifications and the alarm destinations).
	Announce(d *Deploy, kind string, sev severity.Level, text string, evidence []string)
	// Audit records an action before it runs; end records its outcome.
	Audit(action, who, node string, args map[string]string) (end func(error), err error)
}

// Manager plans, runs and stores deploys. One goroutine runs each active
// deploy; its state is saved after every step.
type Manager struct {
	st  *store
	env Env
	log *slog.Logger

	mu       sync.Mutex // guards running and the stored state changes of commands
	running  map[string]*runner
	settling map[string]settling // deploys that ended lately (Deploying)
	ctx      context.Context
	wg       sync.WaitGroup
	planning sync.Mutex // one plan at a time (its node calls and the active check)
}

// Open opens the deploy store in dir (deploys.db).
func Open(dir string, env Env, logger *slog.Logger) (*Manager, error) {
	st, err := openStore(dir)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// Until Run, a runner would have no context to end with: commands
	// before Run get a cancelled one (their deploy waits for a restart).
	done, cancel := context.WithCancel(context.Background())
	cancel()
	return &Manager{st: st, env: env, log: logger, running: map[string]*runner{}, settling: map[string]settling{}, ctx: done}, nil
}

// Run makes ctx the runners' context, then, once ready is closed (the
// server knows its nodes), resumes in the background the deploys that were
// active when the server stopped (even by kill -9). They, and those started
// later, run until ctx ends. A paused deploy stays paused.
func (m *Manager) Run(ctx context.Context, ready <-chan struct{}) {
	m.mu.Lock()
	m.ctx = ctx
	m.mu.Unlock()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		select {
		case <-ctx.Done():
			return
		case <-ready:
		}
		if err := m.resumeAll(ctx); err != nil {
			m.log.Error("Cannot resume the deploys", "err", err)
		}
	}()
}

func (m *Manager) resumeAll(ctx context.Context) error {
	ds, err := m.st.list(ctx, true, 1000)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range ds {
		if m.running[d.ID] != nil {
			continue
		}
		m.log.Info("Resuming a deploy after a restart", "deploy", d.ID, "state", d.State, "wave", d.Wave)
		d.event(time.Now(), "beamctl restarted: the deploy resumes (%s, wave %d of %d).", d.State, min(d.Wave+1, len(d.Waves)), len(d.Waves))
		if err := m.st.save(ctx, d); err != nil {
			return err
		}
		m.launch(d)
	}
	return nil
}

// Close waits for the runners to stop (their context ended) and closes
// the store.
func (m *Manager) Close() error {
	m.wg.Wait()
	return m.st.close()
}

// ModuleFile is one compiled module given to Plan.
type ModuleFile struct {
	File string // its name, for the nodes' code:which
	Beam []byte
}

// PlanRequest is what a plan is made from.
type PlanRequest struct {
	Cluster string
	Family  string // "": every node of the cluster
	Modules []ModuleFile
	Options Options
}

// maxModules bounds one deploy.
const maxModules = 200

// Plan inspects every node the deploy covers and stores the plan: waves,
// modules with old and new md5s per node, purge risk, backups, and the
// refusals that will stop Start. Nothing changes on the nodes.
func (m *Manager) Plan(ctx context.Context, req PlanRequest, who string) (*Deploy, error) {
	if len(req.Modules) == 0 || len(req.Modules) > maxModules {
		return nil, fmt.Errorf("a deploy needs from 1 to %d modules, not %d", maxModules, len(req.Modules))
	}
	o := req.Options.WithDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	for _, g := range o.Gates {
		if _, err := m.env.Query(ctx, gateExpr(g.Expr, nil)); err != nil {
			return nil, fmt.Errorf("gate %q: %w", g.Name, err)
		}
	}
	now := time.Now()
	d := &Deploy{ID: newID(now), Cluster: req.Cluster, Family: req.Family, State: Planned, Created: now, CreatedBy: who,
		Updated: now, Options: o, Refusals: []string{}, Warnings: []string{}, Events: []Event{}}
	beams := map[string][]byte{}
	for _, f := range req.Modules {
		info, err := ParseBeam(f.Beam)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.File, err)
		}
		if _, dup := beams[info.Module]; dup {
			return nil, fmt.Errorf("module %s is given twice", info.Module)
		}
		beams[info.Module] = f.Beam
		d.Modules = append(d.Modules, Module{BeamInfo: info, File: f.File, Size: len(f.Beam)})
	}
	targets, err := m.env.Targets(req.Cluster)
	if err != nil {
		return nil, err
	}
	var nodes []Target
	for _, t := range targets {
		if req.Family == "" || t.Family == req.Family {
			nodes = append(nodes, t)
		}
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("cluster %q has no node of family %q", req.Cluster, req.Family)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Node < nodes[j].Node })
	m.planning.Lock()
	defer m.planning.Unlock()
	if err := m.planNodes(ctx, d, nodes, beams); err != nil {
		return nil, err
	}
	d.refuse(m.overlapping(ctx, d))
	if mm := m.env.FamilyMismatch(req.Cluster, req.Family); mm != "" {
		if o.IgnoreMismatch {
			d.Warnings = append(d.Warnings, "The family has a module_version_mismatch alarm (going on: ignore_mismatch): "+mm)
		} else {
			d.Refusals = append(d.Refusals, "The family already has a module_version_mismatch alarm (deploy with ignore_mismatch to go on): "+mm)
		}
	}
	d.Waves = CutWaves(d.Nodes, o.By)
	d.event(now, "Planned by %s: %s on %s in %s.", who, plural(len(d.Modules), "module"), plural(len(d.Nodes), "node"), plural(len(d.Waves), "wave"))
	if err := m.st.create(ctx, d, beams); err != nil {
		return nil, err
	}
	return d, nil
}

// planNodes inspects each node (in parallel, at most 16 at once) and
// notes the refusals.
func (m *Manager) planNodes(ctx context.Context, d *Deploy, nodes []Target, beams map[string][]byte) error {
	d.Nodes = make([]NodePlan, len(nodes))
	errs := make([]error, len(nodes))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, t := range nodes {
		d.Nodes[i] = NodePlan{Node: t.Node, Labels: t.Labels, OTP: t.OTP, Status: "pending", Modules: []ModulePlan{}}
		if d.Nodes[i].Labels == nil {
			d.Nodes[i].Labels = map[string]string{}
		}
		if !t.Up {
			errs[i] = fmt.Errorf("node %s is down", t.Node)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = m.planNode(ctx, d, &d.Nodes[i], beams)
		}()
	}
	wg.Wait()
	otps := map[string][]string{}
	for i := range d.Nodes {
		np := &d.Nodes[i]
		if errs[i] != nil {
			d.Refusals = append(d.Refusals, fmt.Sprintf("Node %s cannot be planned: %v.", np.Node, errs[i]))
			continue
		}
		otps[np.OTP] = append(otps[np.OTP], np.Node)
		otp, _ := strconv.Atoi(np.OTP)
		for _, mp := range np.Modules {
			if mp.Backup == BackupMissing {
				d.Refusals = append(d.Refusals, fmt.Sprintf("%s on %s runs code (md5 %s) that beamctl does not hold and that is not its object code file: a rollback could not restore it.",
					mp.Module, np.Node, mp.MD5Before))
			}
			if len(mp.Lingering) > 0 {
				verb := "the deploy waits up to " + time.Duration(d.Options.PurgeWait).String() + " for them, then fails"
				if d.Options.Force {
					verb = "the deploy kills them after " + time.Duration(d.Options.PurgeWait).String() + " (force)"
				}
				d.Warnings = append(d.Warnings, fmt.Sprintf("%s on %s: %d processes run its old code (%s); %s.",
					mp.Module, np.Node, len(mp.Lingering), strings.Join(first(mp.Lingering, 5), ", "), verb))
			}
		}
		for _, mod := range d.Modules {
			if mod.MinOTP > 0 && otp > 0 && mod.MinOTP > otp {
				d.Refusals = append(d.Refusals, fmt.Sprintf("%s was compiled for OTP %d or later (compiler %s); %s runs OTP %s.",
					mod.Module, mod.MinOTP, mod.Compiler, np.Node, np.OTP))
			}
		}
	}
	if len(otps) > 1 {
		var parts []string
		for _, otp := range slices.Sorted(maps.Keys(otps)) {
			parts = append(parts, fmt.Sprintf("OTP %s on %s", otp, strings.Join(first(otps[otp], 3), ", ")))
		}
		d.Refusals = append(d.Refusals, "The nodes run mixed OTP releases: "+strings.Join(parts, "; ")+".")
	}
	for i := range d.Modules {
		for _, np := range d.Nodes {
			for _, mp := range np.Modules {
				if mp.Module == d.Modules[i].Module && mp.MD5New != "" {
					d.Modules[i].MD5 = mp.MD5New
				}
			}
		}
	}
	return nil
}

func (m *Manager) planNode(ctx context.Context, d *Deploy, np *NodePlan, beams map[string][]byte) error {
	c, err := m.env.Conn(ctx, d.Cluster, np.Node)
	if err != nil {
		return err
	}
	if np.OTP, err = otpRelease(ctx, c); err != nil {
		return err
	}
	for _, mod := range d.Modules {
		mp, err := m.planModule(ctx, c, beams[mod.Module])
		if err != nil {
			return fmt.Errorf("%s: %w", mod.Module, err)
		}
		np.Modules = append(np.Modules, mp)
	}
	return nil
}

// overlapping is a refusal if an active deploy holds one of d's nodes.
func (m *Manager) overlapping(ctx context.Context, d *Deploy) string {
	active, err := m.st.list(ctx, true, 1000)
	if err != nil {
		return err.Error()
	}
	mine := d.NodeNames()
	for _, a := range active {
		if a.ID == d.ID || a.Cluster != d.Cluster {
			continue
		}
		for _, n := range a.NodeNames() {
			if slices.Contains(mine, n) {
				return fmt.Sprintf("Deploy %s (%s) is %s on %s: one deploy at a time on a node.", a.ID, a.Family, a.State, n)
			}
		}
	}
	return ""
}

func (d *Deploy) refuse(why string) {
	if why != "" {
		d.Refusals = append(d.Refusals, why)
	}
}

// ErrRefused is a command the deploy's state does not allow; the API
// answers 409.
var ErrRefused = errors.New("refused")

// ErrNotFound is an unknown deploy id; the API answers 404.
var ErrNotFound = errNotFound

// Start runs a planned deploy: what runs is what was reviewed. It is
// refused if the plan has refusals, or another active deploy holds one of
// its nodes.
func (m *Manager) Start(ctx context.Context, id, who string) (*Deploy, error) {
	m.planning.Lock() // the overlap check and the state change are one step
	defer m.planning.Unlock()
	return m.command(ctx, id, who, "start", func(d *Deploy) error {
		if d.State != Planned {
			return fmt.Errorf("%w: deploy %s is %s; only a planned deploy starts", ErrRefused, d.ID, d.State)
		}
		if len(d.Refusals) > 0 {
			return fmt.Errorf("%w: the plan has refusals: %s", ErrRefused, strings.Join(d.Refusals, " "))
		}
		if why := m.overlapping(ctx, d); why != "" {
			return fmt.Errorf("%w: %s", ErrRefused, why)
		}
		d.State, d.StartedBy = Running, who
		d.event(time.Now(), "Started by %s.", who)
		return nil
	})
}

// Pause holds a running deploy after its current step (a load under way
// ends first); the bake clock restarts on resume.
func (m *Manager) Pause(ctx context.Context, id, who string) (*Deploy, error) {
	return m.command(ctx, id, who, "pause", func(d *Deploy) error {
		if d.State != Running {
			return fmt.Errorf("%w: deploy %s is %s; only a running deploy pauses", ErrRefused, d.ID, d.State)
		}
		d.State, d.PausedFor = Paused, who
		d.event(time.Now(), "Paused by %s.", who)
		return nil
	})
}

// Resume continues a paused deploy.
func (m *Manager) Resume(ctx context.Context, id, who string) (*Deploy, error) {
	return m.command(ctx, id, who, "resume", func(d *Deploy) error {
		if d.State != Paused {
			return fmt.Errorf("%w: deploy %s is %s; only a paused deploy resumes", ErrRefused, d.ID, d.State)
		}
		now := time.Now()
		d.State, d.PausedFor = Running, ""
		if d.Wave < len(d.Waves) && d.Waves[d.Wave].State == "baking" {
			d.Waves[d.Wave].Loaded = &now // the bake starts again
		}
		d.event(now, "Resumed by %s.", who)
		return nil
	})
}

// Abort stops a deploy where it is, leaving the nodes as they are (a
// rollback can follow).
func (m *Manager) Abort(ctx context.Context, id, who string) (*Deploy, error) {
	return m.command(ctx, id, who, "abort", func(d *Deploy) error {
		if d.State != Running && d.State != Paused && d.State != Planned {
			return fmt.Errorf("%w: deploy %s is %s; only a planned, running or paused deploy aborts", ErrRefused, d.ID, d.State)
		}
		d.State = Aborted
		d.event(time.Now(), "Aborted by %s: the nodes stay as they are.", who)
		return nil
	})
}

// Rollback puts every node the deploy loaded back to the code it ran
// before, md5s verified.
func (m *Manager) Rollback(ctx context.Context, id, who string) (*Deploy, error) {
	return m.command(ctx, id, who, "rollback", func(d *Deploy) error {
		switch d.State {
		case Running, Paused, Succeeded, Aborted, Failed:
		default:
			return fmt.Errorf("%w: deploy %s is %s: nothing to roll back", ErrRefused, d.ID, d.State)
		}
		d.State, d.Rollback = RollingBack, true
		d.event(time.Now(), "Rollback asked by %s.", who)
		return nil
	})
}

// Command runs one of start, pause, resume, abort and rollback (the API
// audits it; the nodes' loads and rollbacks are audited as they run).
func (m *Manager) Command(ctx context.Context, id, action, who string) (*Deploy, error) {
	switch action {
	case "start":
		return m.Start(ctx, id, who)
	case "pause":
		return m.Pause(ctx, id, who)
	case "resume":
		return m.Resume(ctx, id, who)
	case "abort":
		return m.Abort(ctx, id, who)
	case "rollback":
		return m.Rollback(ctx, id, who)
	}
	return nil, fmt.Errorf("%w: no action %q (start, pause, resume, abort, rollback)", ErrRefused, action)
}

// command changes a stored deploy, then (re)starts its runner if it is
// active.
func (m *Manager) command(ctx context.Context, id, who, action string, change func(*Deploy) error) (*Deploy, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, err := m.current(ctx, id)
	if err == nil {
		err = change(d)
	}
	if err == nil {
		err = m.st.save(ctx, d)
	}
	if err != nil {
		return nil, err
	}
	if r := m.running[id]; r != nil {
		r.poke()
	} else if d.State.Active() {
		m.launch(d)
	}
	switch action {
	case "start":
		m.env.Announce(d, "deploy_started", severity.Info, fmt.Sprintf("Deploy %s of %s to %d nodes of %s started by %s, in %d waves: %s.",
			d.ID, moduleNames(d), len(d.Nodes), d.scope(), who, len(d.Waves), waveNames(d)), nil)
	case "pause", "resume", "abort", "rollback":
		m.env.Announce(d, "deploy_"+action, severity.Warning, fmt.Sprintf("Deploy %s of %s: %s by %s.", d.ID, moduleNames(d), action, who), nil)
	}
	return d.clone(), nil
}

// current is the deploy its runner holds (changes to it are the runner's
// to see), else the stored one. The caller holds mu.
func (m *Manager) current(ctx context.Context, id string) (*Deploy, error) {
	if r := m.running[id]; r != nil {
		return r.d, nil
	}
	return m.st.get(ctx, id)
}

// Deploying maps each node (cluster, node) of an active deploy to the
// modules it rolls out, for the alarms that would see their md5s differ.
func (m *Manager) Deploying() map[[2]string]map[string]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[[2]string]map[string]bool{}
	now := time.Now()
	ds := make([]*Deploy, 0, len(m.running)+len(m.settling))
	for _, r := range m.running {
		ds = append(ds, r.d)
	}
	for id, s := range m.settling {
		if now.After(s.until) {
			delete(m.settling, id)
			continue
		}
		ds = append(ds, s.d)
	}
	for _, d := range ds {
		for _, n := range d.Nodes {
			k := [2]string{d.Cluster, n.Node}
			if out[k] == nil {
				out[k] = map[string]bool{}
			}
			for _, mod := range d.Modules {
				out[k][mod.Module] = true
			}
		}
	}
	return out
}

// settleTime is how long a deploy's modules stay in Deploying after it
// ends: the server's code snapshots (notifications.code_interval, 30s by
// default) catch up with a rollback or the last wave meanwhile.
const settleTime = 2 * time.Minute

type settling struct {
	d     *Deploy
	until time.Time
}

// Get returns one deploy.
func (m *Manager) Get(ctx context.Context, id string) (*Deploy, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, err := m.current(ctx, id)
	if err != nil {
		return nil, err
	}
	return d.clone(), nil
}

// List returns the newest deploys first.
func (m *Manager) List(ctx context.Context, limit int) ([]*Deploy, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	ds, err := m.st.list(ctx, false, limit)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, d := range ds {
		if r := m.running[d.ID]; r != nil {
			ds[i] = r.d.clone()
		}
	}
	return ds, nil
}

func newID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

func first(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(slices.Clone(s[:n]), fmt.Sprintf("and %d more", len(s)-n))
}

func moduleNames(d *Deploy) string {
	var ns []string
	for _, m := range d.Modules {
		ns = append(ns, m.Module)
	}
	return strings.Join(first(ns, 5), ", ")
}

func waveNames(d *Deploy) string {
	var ns []string
	for _, w := range d.Waves {
		ns = append(ns, fmt.Sprintf("%s (%d)", w.Name, len(w.Nodes)))
	}
	return strings.Join(ns, ", ")
}

func (d *Deploy) scope() string {
	if d.Family == "" {
		return "cluster " + d.Cluster
	}
	return "family " + d.Family + " of cluster " + d.Cluster
}
