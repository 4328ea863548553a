package app

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/beamctl/beamctl/internal/alarm"
	"github.com/beamctl/beamctl/internal/capture"
)

// The built-in alarms that compare what the server knows of several nodes
// (families, module readings, connections) rather than one metric.

// nodeRule is a built-in alarm computed from the server's model.
type nodeRule struct {
	name   string
	forDur time.Duration
	eval   func(ctx context.Context, now time.Time) ([]alarm.Observation, error)
}

func (r *nodeRule) Name() string       { return r.name }
func (r *nodeRule) For() time.Duration { return r.forDur }
func (r *nodeRule) Evaluate(ctx context.Context, now time.Time, _ map[alarm.Key]alarm.Severity) ([]alarm.Observation, error) {
	return r.eval(ctx, now)
}

// upNode is a connected node with what the server learnt of it.
type upNode struct {
	cluster, node, family string
	apps                  map[string]string
}

// upNodes lists the connected nodes, by cluster and family.
func (a *App) upNodes() []upNode {
	var out []upNode
	for _, n := range a.Nodes() {
		if n.State != "up" {
			continue
		}
		a.mu.Lock()
		u := upNode{cluster: n.Cluster, node: n.Node, family: n.Family}
		if info := a.nodes[nodeKey{n.Cluster, n.Node}]; info != nil {
			u.apps = info.apps
		}
		a.mu.Unlock()
		out = append(out, u)
	}
	return out
}

// families groups the connected nodes of each cluster by family.
func families(nodes []upNode) map[[2]string][]upNode {
	out := map[[2]string][]upNode{}
	for _, n := range nodes {
		if n.family != "" {
			k := [2]string{n.cluster, n.family}
			out[k] = append(out[k], n)
		}
	}
	return out
}

// modelRules are the built-in alarms over the server's model. disabled
// turns some off by name.
func (a *App) modelRules(disabled map[string]bool, fors map[string]time.Duration) []alarm.Rule {
	all := []*nodeRule{
		{name: "node_down", forDur: 30 * time.Second, eval: a.nodeDown},
		{name: "module_version_mismatch", eval: a.moduleVersionMismatch},
		{name: "old_code", forDur: 5 * time.Minute, eval: a.oldCode},
		{name: "application_version_mismatch", forDur: time.Minute, eval: a.applicationVersionMismatch},
		{name: "node_alarm", eval: a.nodeAlarms},
		{name: "partial_netsplit", forDur: 30 * time.Second, eval: a.partialNetsplit},
		{name: "config_sanity", eval: a.configSanity},
		{name: "module_clash", eval: a.moduleClash},
		{name: "time_zone_mismatch", forDur: time.Minute, eval: a.timeZoneMismatch},
	}
	var out []alarm.Rule
	for _, r := range all {
		if disabled[r.name] {
			continue
		}
		if d, ok := fors[r.name]; ok {
			r.forDur = d
		}
		out = append(out, r)
	}
	return out
}

// modelRuleNames are the names of the model's built-in alarms.
var modelRuleNames = []string{"node_down", "module_version_mismatch", "old_code", "application_version_mismatch", "node_alarm", "partial_netsplit", "config_sanity", "module_clash", "time_zone_mismatch"}

// nodeDown: a known node beamctl is not connected to, from the
// connection's own state (a distribution connection notices a dead peer
// at once, a silent one within the tick time), evaluated at once on every
// node event.
func (a *App) nodeDown(context.Context, time.Time) ([]alarm.Observation, error) {
	var out []alarm.Observation
	for _, n := range a.Nodes() {
		a.mu.Lock()
		leaving := a.leaving[nodeKey{n.Cluster, n.Node}]
		a.mu.Unlock()
		if n.State == "up" || leaving {
			continue
		}
		desc := fmt.Sprintf("Node %s is %s", n.Node, n.State)
		if n.LastError != "" && !strings.Contains(n.State, n.LastError) {
			desc += ": " + n.LastError
		}
		out = append(out, alarm.Observation{Key: alarm.Key{Cluster: n.Cluster, Node: n.Node}, Severity: alarm.Critical, Value: 1,
			Description: desc + fmt.Sprintf(" (since %s).", n.Since.Format(time.RFC3339))})
	}
	return out, nil
}

// moduleVersionMismatch: a module loaded on several nodes of one family
// with different md5s (the same release should run the same code).
// Modules loaded on some nodes only are no news: code loads on demand.
func (a *App) moduleVersionMismatch(ctx context.Context, _ time.Time) ([]alarm.Observation, error) {
	var out []alarm.Observation
	for fk, nodes := range families(a.upNodes()) {
		if len(nodes) < 2 {
			continue
		}
		md5s := map[string]map[string][]string{} // module -> md5 -> nodes
		for _, n := range nodes {
			var mods capture.Modules
			if _, err := a.notes.Store().LoadSnapshot(ctx, n.cluster, n.node, "modules", &mods); err != nil {
				return nil, err
			}
			for m, v := range mods {
				v = strings.TrimSuffix(v, "+old")
				if md5s[m] == nil {
					md5s[m] = map[string][]string{}
				}
				md5s[m][v] = append(md5s[m][v], n.node)
			}
		}
		for m, byMD5 := range md5s {
			if len(byMD5) < 2 {
				continue
			}
			out = append(out, alarm.Observation{
				Key:         alarm.Key{Cluster: fk[0], Subject: fk[1] + " " + m},
				Severity:    alarm.Major,
				Value:       float64(len(byMD5)),
				Description: fmt.Sprintf("Module %s differs between nodes of family %s: %s.", m, fk[1], whoHasWhat(byMD5)),
				Evidence:    []string{"notifications?kind=code_reloaded&grep=" + m},
			})
		}
	}
	return out, nil
}

// oldCode: a module whose old code is still loaded (not purged) long
// after a code change.
func (a *App) oldCode(ctx context.Context, _ time.Time) ([]alarm.Observation, error) {
	var out []alarm.Observation
	for _, n := range a.upNodes() {
		var mods capture.Modules
		if _, err := a.notes.Store().LoadSnapshot(ctx, n.cluster, n.node, "modules", &mods); err != nil {
			return nil, err
		}
		for m, v := range mods {
			if strings.HasSuffix(v, "+old") {
				out = append(out, alarm.Observation{Key: alarm.Key{Cluster: n.cluster, Node: n.node, Subject: m}, Severity: alarm.Warning,
					Value: 1, Description: fmt.Sprintf("Module %s on %s still has old code loaded: the next load will kill the processes running it.", m, n.node)})
			}
		}
	}
	return out, nil
}

// applicationVersionMismatch: an application running with different
// versions on nodes of one family.
func (a *App) applicationVersionMismatch(context.Context, time.Time) ([]alarm.Observation, error) {
	var out []alarm.Observation
	for fk, nodes := range families(a.upNodes()) {
		vsns := map[string]map[string][]string{} // app -> version -> nodes
		for _, n := range nodes {
			for app, v := range n.apps {
				if vsns[app] == nil {
					vsns[app] = map[string][]string{}
				}
				vsns[app][v] = append(vsns[app][v], n.node)
			}
		}
		for app, byVsn := range vsns {
			if len(byVsn) < 2 {
				continue
			}
			out = append(out, alarm.Observation{Key: alarm.Key{Cluster: fk[0], Subject: fk[1] + " " + app}, Severity: alarm.Major,
				Value: float64(len(byVsn)), Description: fmt.Sprintf("Application %s runs in different versions in family %s: %s.",
					app, fk[1], whoHasWhat(byVsn))})
		}
	}
	return out, nil
}

// nodeAlarms: what the node's own alarm_handler has set (os_mon's disk and
// memory alarms, applications' alarms), one alarm each.
func (a *App) nodeAlarms(ctx context.Context, _ time.Time) ([]alarm.Observation, error) {
	var out []alarm.Observation
	for _, n := range a.upNodes() {
		var set map[string]string
		if _, err := a.notes.Store().LoadSnapshot(ctx, n.cluster, n.node, "alarms", &set); err != nil {
			return nil, err
		}
		for id, desc := range set {
			out = append(out, alarm.Observation{Key: alarm.Key{Cluster: n.cluster, Node: n.node, Subject: id}, Severity: alarm.Minor,
				Value: 1, Description: fmt.Sprintf("%s has its own alarm %s set: %s.", n.node, id, desc)})
		}
	}
	return out, nil
}

// partialNetsplit: in a cluster meant to be a full mesh, node A is
// connected to other nodes but not to B, although beamctl sees both up.
func (a *App) partialNetsplit(ctx context.Context, now time.Time) ([]alarm.Observation, error) {
	res, err := a.db.Query(ctx, `erlang_vm_dist_connection_info{type="normal"}`, now)
	if err != nil {
		return nil, err
	}
	sees := map[[2]string]map[string]bool{} // (cluster, node) -> peers
	for _, s := range res.Series {
		k := [2]string{s.Labels["cluster"], s.Labels["node"]}
		if sees[k] == nil {
			sees[k] = map[string]bool{}
		}
		sees[k][s.Labels["peer"]] = true
	}
	up := map[string][]string{} // cluster -> nodes up
	for _, n := range a.upNodes() {
		up[n.cluster] = append(up[n.cluster], n.node)
	}
	var out []alarm.Observation
	for cluster, nodes := range up {
		sort.Strings(nodes)
		for _, x := range nodes {
			peers := sees[[2]string{cluster, x}]
			if len(peers) == 0 {
				continue // a node not meant to join others, or no reading yet
			}
			for _, y := range nodes {
				if x == y || peers[y] || len(sees[[2]string{cluster, y}]) == 0 {
					continue
				}
				out = append(out, alarm.Observation{Key: alarm.Key{Cluster: cluster, Node: x, Subject: y}, Severity: alarm.Major, Value: 1,
					Description: fmt.Sprintf("%s is not connected to %s although both are up and connected to others: a partial netsplit.", x, y),
					Evidence:    []string{`erlang_vm_dist_connection_info{node="` + x + `"}`}})
			}
		}
	}
	return out, nil
}

// timeZoneMismatch: nodes of one family whose local time is in different
// time zones (from each node's UTC offset reading), so that local times in
// their logs and schedules disagree.
func (a *App) timeZoneMismatch(ctx context.Context, now time.Time) ([]alarm.Observation, error) {
	res, err := a.db.Query(ctx, `erlang_vm_utc_offset_seconds`, now)
	if err != nil {
		return nil, err
	}
	offset := map[[2]string]float64{} // (cluster, node) -> seconds
	for _, s := range res.Series {
		if len(s.Points) == 1 {
			offset[[2]string{s.Labels["cluster"], s.Labels["node"]}] = s.Points[0].Value
		}
	}
	var out []alarm.Observation
	for fk, nodes := range families(a.upNodes()) {
		zones := map[string][]string{} // "UTC+09:00" -> nodes
		for _, n := range nodes {
			if off, ok := offset[[2]string{n.cluster, n.node}]; ok {
				z := utcOffset(off)
				zones[z] = append(zones[z], n.node)
			}
		}
		if len(zones) < 2 {
			continue
		}
		out = append(out, alarm.Observation{Key: alarm.Key{Cluster: fk[0], Subject: fk[1]}, Severity: alarm.Minor, Value: float64(len(zones)),
			Description: fmt.Sprintf("The nodes of family %s run in %d time zones (%s): local times in logs and schedules disagree.",
				fk[1], len(zones), whoHasWhat(zones)),
			Evidence: []string{`erlang_vm_utc_offset_seconds{cluster="` + fk[0] + `"}`}})
	}
	return out, nil
}

// whoHasWhat lists which nodes have which value: "v1 on a, b; v2 on c".
func whoHasWhat(nodesByValue map[string][]string) string {
	var parts []string
	for v, ns := range nodesByValue {
		sort.Strings(ns)
		parts = append(parts, fmt.Sprintf("%s on %s", v, strings.Join(ns, ", ")))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// utcOffset writes an offset in seconds as UTC+hh:mm.
func utcOffset(sec float64) string {
	sign, m := "+", int(sec)/60
	if m < 0 {
		sign, m = "-", -m
	}
	return fmt.Sprintf("UTC%s%02d:%02d", sign, m/60, m%60)
}

// configSanity: a file the running release depends on (sys.config,
// vm.args, the boot file, an .app file) that cannot be read, holds control
// characters or does not parse: the node runs, but will not restart.
func (a *App) configSanity(ctx context.Context, _ time.Time) ([]alarm.Observation, error) {
	var out []alarm.Observation
	for _, n := range a.upNodes() {
		var problems map[string]string
		if _, err := a.notes.Store().LoadSnapshot(ctx, n.cluster, n.node, "release_problems", &problems); err != nil {
			return nil, err
		}
		for f, p := range problems {
			out = append(out, alarm.Observation{Key: alarm.Key{Cluster: n.cluster, Node: n.node, Subject: f}, Severity: alarm.Major, Value: 1,
				Description: fmt.Sprintf("%s on %s %s: the node would not restart with it.", f, n.node, p)})
		}
	}
	return out, nil
}

// moduleClash: a module found in more than one directory of the code
// path: which copy loads depends on the path order.
func (a *App) moduleClash(ctx context.Context, _ time.Time) ([]alarm.Observation, error) {
	var out []alarm.Observation
	for _, n := range a.upNodes() {
		var clashes map[string][]string
		if _, err := a.notes.Store().LoadSnapshot(ctx, n.cluster, n.node, "module_clashes", &clashes); err != nil {
			return nil, err
		}
		for m, dirs := range clashes {
			out = append(out, alarm.Observation{Key: alarm.Key{Cluster: n.cluster, Node: n.node, Subject: m}, Severity: alarm.Minor,
				Value: float64(len(dirs)), Description: fmt.Sprintf("Module %s on %s is in %d code path directories (%s); the first one loads.",
					m, n.node, len(dirs), strings.Join(dirs, ", "))})
		}
	}
	return out, nil
}
