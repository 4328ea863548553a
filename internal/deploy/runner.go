package deploy

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/beamctl/beamctl/internal/severity"
)

// runner is one active deploy's goroutine. Its deploy, d, is the truth
// while it runs: commands change it under the manager's mu and poke the
// runner; the runner works on clones and writes each step back through
// update, which saves it.
type runner struct {
	d    *Deploy
	wake chan struct{}
}

func (r *runner) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// launch starts d's runner. The caller holds mu.
func (m *Manager) launch(d *Deploy) {
	r := &runner{d: d, wake: make(chan struct{}, 1)}
	m.running[d.ID] = r
	ctx := m.ctx
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.run(ctx, r)
		m.mu.Lock()
		delete(m.running, d.ID)
		m.settling[d.ID] = settling{d: r.d.clone(), until: time.Now().Add(settleTime)}
		m.mu.Unlock()
	}()
}

// snapshot is a copy of the runner's deploy.
func (m *Manager) snapshot(r *runner) *Deploy {
	m.mu.Lock()
	defer m.mu.Unlock()
	return r.d.clone()
}

// update applies a step to the deploy and saves it. A save that fails is
// logged and retried by the next step: the state on disk may lag, never
// run ahead.
func (m *Manager) update(ctx context.Context, r *runner, f func(d *Deploy)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(r.d)
	if err := m.st.save(context.WithoutCancel(ctx), r.d); err != nil {
		m.log.Error("Cannot save a deploy's state", "deploy", r.d.ID, "err", err)
	}
}

// run drives a deploy until it ends, or ctx does (a server stop: the
// stored state resumes at the next start).
func (m *Manager) run(ctx context.Context, r *runner) {
	for ctx.Err() == nil {
		d := m.snapshot(r)
		switch {
		case d.State == Paused:
			select {
			case <-ctx.Done():
			case <-r.wake:
			}
		case d.State == RollingBack:
			m.rollbackAll(ctx, r, d)
			return
		case d.State != Running:
			return
		case d.Wave >= len(d.Waves):
			m.update(ctx, r, func(d *Deploy) {
				d.State = Succeeded
				d.event(time.Now(), "Every wave passed: the deploy succeeded.")
			})
			m.env.Announce(d, "deploy_succeeded", severity.Info, fmt.Sprintf("Deploy %s of %s to %s succeeded: %d nodes in %d waves, md5s verified.",
				d.ID, moduleNames(d), d.scope(), len(d.Nodes), len(d.Waves)), nil)
			return
		case d.Waves[d.Wave].State == "baking":
			m.bake(ctx, r, d)
		default:
			m.loadWave(ctx, r, d)
		}
	}
}

// loadWave loads the wave's nodes, at most 8 at once, then starts its
// bake; a node that fails fails the deploy (and rolls it back).
func (m *Manager) loadWave(ctx context.Context, r *runner, d *Deploy) {
	i := d.Wave
	w := d.Waves[i]
	now := time.Now()
	m.update(ctx, r, func(d *Deploy) {
		d.Waves[i].State = "loading"
		if d.Waves[i].Start == nil {
			d.Waves[i].Start = &now
		}
		d.event(now, "Wave %d of %d (%s): loading on %s.", i+1, len(d.Waves), w.Name, strings.Join(first(w.Nodes, 10), ", "))
	})
	m.env.Announce(d, "deploy_wave", severity.Info, fmt.Sprintf("Deploy %s of %s: wave %d of %d (%s) loads on %s.",
		d.ID, moduleNames(d), i+1, len(d.Waves), w.Name, strings.Join(first(w.Nodes, 10), ", ")), nil)
	var mu sync.Mutex
	var errs []string
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, name := range w.Nodes {
		np := *d.Node(name)
		np.Modules = slices.Clone(np.Modules)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			err := m.loadOne(ctx, d, &np)
			m.update(ctx, r, func(d *Deploy) {
				*d.Node(np.Node) = np
			})
			if err != nil {
				mu.Lock()
				errs = append(errs, err.Error())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return // the server stops: the load resumes at the next start
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		m.fail(ctx, r, &Failure{Gate: "load", Wave: i, Text: fmt.Sprintf("Wave %d (%s) could not be loaded on %d of %d nodes.", i+1, w.Name, len(errs), len(w.Nodes)),
			Evidence: errs, At: time.Now()})
		return
	}
	loaded := time.Now()
	m.update(ctx, r, func(d *Deploy) {
		d.Waves[i].State, d.Waves[i].Loaded = "baking", &loaded
		d.event(loaded, "Wave %d loaded and verified (md5) on %s in %s; baking for %s.", i+1, plural(len(w.Nodes), "node"),
			loaded.Sub(now).Round(time.Millisecond), time.Duration(d.Options.Bake))
	})
}

// loadOne loads the deploy on one node, under the audit trail.
func (m *Manager) loadOne(ctx context.Context, d *Deploy, np *NodePlan) error {
	end, err := m.env.Audit("deploy.load", d.StartedBy, np.Node, map[string]string{"deploy": d.ID, "modules": moduleNames(d)})
	if err == nil {
		conn, cerr := m.env.Conn(ctx, d.Cluster, np.Node)
		if err = cerr; err == nil {
			err = m.loadNode(ctx, d, conn, np)
		}
		end(err)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		np.Status, np.Error = "failed", err.Error()
		return err
	}
	np.Status, np.Error = "loaded", ""
	return nil
}

// bake checks the gates every CheckEvery until the bake time has passed
// (the wave passes) or a gate fails (the deploy rolls back). A command
// (pause, abort, rollback) ends it early.
func (m *Manager) bake(ctx context.Context, r *runner, d *Deploy) {
	i := d.Wave
	w := d.Waves[i]
	o := d.Options
	end := w.Loaded.Add(time.Duration(o.Bake))
	t := time.NewTicker(time.Duration(o.CheckEvery))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
			cur := m.snapshot(r)
			if cur.State != Running || !cur.Waves[i].Loaded.Equal(*w.Loaded) {
				return
			}
			continue
		case <-t.C:
		}
		now := time.Now()
		if f := m.checkGates(ctx, d, i, now); f != nil {
			m.fail(ctx, r, f)
			return
		}
		if now.Before(end) {
			continue
		}
		m.update(ctx, r, func(d *Deploy) {
			d.Waves[i].State, d.Waves[i].End = "passed", &now
			d.Wave = i + 1
			d.event(now, "Wave %d of %d (%s) passed: the gates held for %s.", i+1, len(d.Waves), w.Name, time.Duration(o.Bake))
		})
		m.env.Announce(d, "deploy_wave_passed", severity.Info, fmt.Sprintf("Deploy %s of %s: wave %d of %d (%s) passed its bake of %s.",
			d.ID, moduleNames(d), i+1, len(d.Waves), w.Name, time.Duration(o.Bake)), nil)
		return
	}
}

// checkGates returns the first gate that fails, or nil.
func (m *Manager) checkGates(ctx context.Context, d *Deploy, wave int, now time.Time) *Failure {
	w := d.Waves[wave]
	var deployed, control []string
	for _, n := range d.Nodes {
		switch {
		case n.Status == "loaded":
			deployed = append(deployed, n.Node)
		case n.Status == "pending":
			control = append(control, n.Node)
		}
	}
	since := *w.Start
	if ev := m.env.Alarms(d.Cluster, deployed, since, d.Options.Severity); len(ev) > 0 {
		return &Failure{Gate: "alarms", Wave: wave, At: now, Evidence: ev,
			Text: fmt.Sprintf("%d new alarms at %s or above on deployed nodes since wave %d started.", len(ev), d.Options.Severity, wave+1)}
	}
	if f := m.errorGate(ctx, d, wave, w.Nodes, control, since, now); f != nil {
		return f
	}
	for _, g := range d.Options.Gates {
		lines, err := m.env.Query(ctx, gateExpr(g.Expr, deployed))
		if err != nil {
			m.log.Warn("A deploy gate's query failed", "deploy", d.ID, "gate", g.Name, "err", err)
			continue // a store hiccup is not the build's fault; the next check runs it again
		}
		if len(lines) > 0 {
			return &Failure{Gate: "promql:" + g.Name, Wave: wave, At: now, Evidence: first(lines, 20),
				Text: fmt.Sprintf("Gate %s returned %d series: %s", g.Name, len(lines), g.Expr)}
		}
	}
	return nil
}

// errorGate compares the failures per node of the wave's nodes with those
// of the control nodes (not yet deployed) over the same minutes; with no
// control nodes left (the last wave), with the wave's own nodes over as
// many minutes before the wave started.
func (m *Manager) errorGate(ctx context.Context, d *Deploy, wave int, nodes, control []string, since, now time.Time) *Failure {
	counts, err := m.env.Failures(ctx, d.Cluster, since, now)
	if err != nil {
		m.log.Warn("A deploy's error gate cannot count failures", "deploy", d.ID, "err", err)
		return nil
	}
	what := fmt.Sprintf("%s not yet deployed, same minutes", plural(len(control), "node"))
	base := counts
	if len(control) == 0 {
		control = nodes
		what = "the same nodes before the wave"
		if base, err = m.env.Failures(ctx, d.Cluster, since.Add(-now.Sub(since)), since); err != nil {
			return nil
		}
	}
	sum := func(c map[string]int, ns []string) (int, []string) {
		total, lines := 0, []string{}
		for _, n := range ns {
			total += c[n]
			if c[n] > 0 {
				lines = append(lines, fmt.Sprintf("%s: %d", n, c[n]))
			}
		}
		return total, lines
	}
	got, lines := sum(counts, nodes)
	ctl, ctlLines := sum(base, control)
	perNode := float64(got) / float64(len(nodes))
	ctlPerNode := float64(ctl) / float64(len(control))
	limit := d.Options.ErrorRatio*ctlPerNode + float64(d.Options.ErrorMargin)
	if perNode <= limit {
		return nil
	}
	ev := []string{fmt.Sprintf("wave nodes: %d failures (crash/supervisor reports, error logs) in %s, %.1f per node: %s",
		got, now.Sub(since).Round(time.Second), perNode, strings.Join(first(lines, 10), ", ")),
		fmt.Sprintf("control (%s): %d failures, %.1f per node%s", what, ctl, ctlPerNode, prefixed(": ", strings.Join(first(ctlLines, 10), ", "))),
		fmt.Sprintf("limit: %.1f per node (%g × control + %d)", limit, d.Options.ErrorRatio, d.Options.ErrorMargin),
		"notifications?kind=crash_report&since=" + since.UTC().Format(time.RFC3339)}
	return &Failure{Gate: "errors", Wave: wave, At: now, Evidence: ev,
		Text: fmt.Sprintf("Wave %d's nodes logged %.1f failures per node against %.1f on %s.", wave+1, perNode, ctlPerNode, what)}
}

// plural is "1 node", "2 nodes".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

// gateExpr puts the deployed nodes' names, as a regular expression, for
// $nodes in a gate's expression (a pattern that matches nothing when
// none are).
func gateExpr(expr string, nodes []string) string {
	quoted := make([]string, len(nodes))
	for i, n := range nodes {
		quoted[i] = regexp.QuoteMeta(n)
	}
	re := strings.Join(quoted, "|")
	if re == "" {
		re = "$^"
	}
	re = strings.ReplaceAll(strings.ReplaceAll(re, `\`, `\\`), `"`, `\"`)
	return strings.ReplaceAll(expr, "$nodes", re)
}

// fail records the failed gate, tells people, and turns to the rollback.
func (m *Manager) fail(ctx context.Context, r *runner, f *Failure) {
	var d *Deploy
	m.update(ctx, r, func(x *Deploy) {
		x.Failure = f
		x.Waves[f.Wave].State = "failed"
		x.Waves[f.Wave].End = &f.At
		x.State, x.Rollback = RollingBack, true
		x.event(f.At, "Gate %s failed: %s Rolling back.", f.Gate, f.Text)
		d = x.clone()
	})
	m.log.Warn("A deploy failed a gate: rolling back", "deploy", d.ID, "gate", f.Gate, "text", f.Text)
	m.env.Announce(d, "deploy_failed", severity.Critical, fmt.Sprintf("Deploy %s of %s to %s failed gate %s in wave %d (%s): %s Rolling back automatically.",
		d.ID, moduleNames(d), d.scope(), f.Gate, f.Wave+1, d.Waves[f.Wave].Name, f.Text), f.Evidence)
}

// rollbackAll rolls back every node the deploy touched, at most 8 at once.
func (m *Manager) rollbackAll(ctx context.Context, r *runner, d *Deploy) {
	end, err := m.env.Audit("deploy.rollback_nodes", "beamctl", "", map[string]string{"deploy": d.ID})
	if err != nil {
		m.log.Error("Cannot audit a rollback: it waits", "deploy", d.ID, "err", err)
		return
	}
	start := time.Now()
	var mu sync.Mutex
	var errs []string
	touched := 0
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, n := range d.Nodes {
		if n.Status != "loaded" && n.Status != "failed" {
			continue
		}
		touched++
		np := n
		np.Modules = slices.Clone(n.Modules)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			conn, err := m.env.Conn(ctx, d.Cluster, np.Node)
			if err == nil {
				err = m.rollbackNode(ctx, d, conn, &np)
			}
			if err != nil {
				np.Status, np.Error = "failed", "rollback: "+err.Error()
				mu.Lock()
				errs = append(errs, np.Node+": "+err.Error())
				mu.Unlock()
			} else {
				np.Status, np.Error = "rolled_back", ""
			}
			m.update(ctx, r, func(d *Deploy) { *d.Node(np.Node) = np })
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		end(ctx.Err())
		return // resumes at the next start
	}
	var final *Deploy
	m.update(ctx, r, func(x *Deploy) {
		now := time.Now()
		if x.Failure != nil {
			x.State = Failed
		} else {
			x.State = RolledBack
		}
		if len(errs) > 0 {
			x.event(now, "Rollback failed on %d of %d nodes (run rollback again): %s", len(errs), touched, strings.Join(errs, "; "))
		} else {
			x.event(now, "Rolled back %s in %s: md5s verified.", plural(touched, "node"), now.Sub(start).Round(time.Millisecond))
		}
		final = x.clone()
	})
	if len(errs) > 0 {
		end(fmt.Errorf("rollback failed on %d nodes", len(errs)))
		m.env.Announce(final, "deploy_rollback_failed", severity.Critical, fmt.Sprintf("Deploy %s: rollback failed on %d of %d nodes; run beamctl deploy rollback %s again.",
			d.ID, len(errs), touched, d.ID), errs)
		return
	}
	end(nil)
	m.env.Announce(final, "deploy_rolled_back", severity.Warning, fmt.Sprintf("Deploy %s of %s rolled back on %d nodes of %s: md5s verified.",
		d.ID, moduleNames(d), touched, d.scope()), nil)
}
