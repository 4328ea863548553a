package alarm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
)

// Model is what the server knows of its nodes beyond single metrics
// (families, module readings, connections): the model alarms compare it
// across nodes. The app provides it.
type Model interface {
	// Nodes are the known nodes, connected or not.
	Nodes() []ModelNode
	// Snapshot returns a node's latest snapshot (modules, alarms,
	// release_problems, module_clashes) as stored (JSON), nil if there is
	// none. The caller must not change the bytes.
	Snapshot(ctx context.Context, cluster, node, name string) ([]byte, error)
}

// ModelNode is a known node with what the server learnt of it.
type ModelNode struct {
	Cluster, Node string
	// State is "up" when beamctl is connected to the node.
	State     string
	LastError string
	Since     time.Time
	Family    string
	// Apps are the running applications and their versions.
	Apps map[string]string
	// Deploying are the modules an active deploy is rolling out to the
	// node: their md5s differ across the family on purpose.
	Deploying map[string]bool
}

// ModelInput is what a model alarm evaluates: the model and the metric
// store at one time.
type ModelInput struct {
	M   Model
	Q   Querier
	Now time.Time
	// Window is the alarm's lookback (cluster_partitioned only).
	Window time.Duration
	// Meshed remembers, for the rule's lifetime, the nodes seen connected
	// to others of their cluster (cluster_partitioned only).
	Meshed map[[2]string]bool

	decoded []decodedSnapshot // the last few decoded by load, to share
	nextDec int
	round   *roundNodes // the evaluation's node list, shared by the model rules
}

// roundNodes is the model's nodes at one evaluation, listed once for
// every model rule of it (each rule listed every node, twice, at every
// evaluation: a tenth of the server's allocations at 1,000 nodes). An
// evaluation is known by its time: the engine gives every rule the same.
type roundNodes struct {
	mu      sync.Mutex
	at      time.Time
	all, up []ModelNode
	listed  bool
}

// get returns the model's nodes and the connected ones at now; what it
// returns is shared: read only.
func (c *roundNodes) get(m Model, now time.Time) (all, up []ModelNode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.listed || !c.at.Equal(now) {
		c.all, c.up, c.at, c.listed = m.Nodes(), nil, now, true
		for _, n := range c.all {
			if n.State == "up" {
				c.up = append(c.up, n)
			}
		}
	}
	return c.all, c.up
}

// nodes lists the model's nodes (shared with the evaluation's other
// model rules: read only).
func (in *ModelInput) nodes() []ModelNode {
	if in.round == nil {
		return in.M.Nodes()
	}
	all, _ := in.round.get(in.M, in.Now)
	return all
}

// decodedSnapshot is a snapshot's JSON and the value it decoded into.
type decodedSnapshot struct {
	raw []byte
	v   reflect.Value
}

// shareDecoded is how many distinct snapshots an evaluation keeps decoded.
const shareDecoded = 4

// load reads a node's snapshot into v (a pointer); nothing if there is
// none. Nodes whose snapshot holds the same bytes as one of the last few
// decoded (the nodes of one release load the same modules) get that
// value: decoding each node's modules at every evaluation was a tenth of
// the server's CPU at 1,000 nodes. What v then holds is shared: read only.
func (in *ModelInput) load(ctx context.Context, n ModelNode, name string, v any) error {
	raw, err := in.M.Snapshot(ctx, n.Cluster, n.Node, name)
	if err != nil || raw == nil {
		return err
	}
	dst := reflect.ValueOf(v).Elem()
	for _, d := range in.decoded {
		if d.v.Type() == dst.Type() && bytes.Equal(d.raw, raw) {
			dst.Set(d.v)
			return nil
		}
	}
	dst.SetZero() // not into a value shared before (json merges into maps)
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("snapshot %s of %s: %w", name, n.Node, err)
	}
	kept := reflect.New(dst.Type()).Elem() // not v itself, which the caller may reuse
	kept.Set(dst)
	d := decodedSnapshot{raw: raw, v: kept}
	if len(in.decoded) < shareDecoded {
		in.decoded = append(in.decoded, d)
	} else {
		in.decoded[in.nextDec] = d
		in.nextDec = (in.nextDec + 1) % shareDecoded
	}
	return nil
}

// up lists the connected nodes (read only, as nodes).
func (in *ModelInput) up() []ModelNode {
	if in.round != nil {
		_, up := in.round.get(in.M, in.Now)
		return up
	}
	var out []ModelNode
	for _, n := range in.M.Nodes() {
		if n.State == "up" {
			out = append(out, n)
		}
	}
	return out
}

// modelRule is a built-in alarm over the Model.
type modelRule struct {
	b      ModelBuiltin
	forDur time.Duration
	window time.Duration
	m      Model
	q      Querier

	mu     sync.Mutex // one evaluation at a time: meshed is the rule's memory
	meshed map[[2]string]bool
	round  *roundNodes // shared by the model rules of one catalogue
}

func (r *modelRule) Name() string       { return r.b.Name }
func (r *modelRule) For() time.Duration { return r.forDur }

// Evaluate runs the built-in's function over the model at now.
func (r *modelRule) Evaluate(ctx context.Context, now time.Time, _ map[Key]Severity) ([]Observation, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	obs, err := r.b.Eval(ctx, &ModelInput{M: r.m, Q: r.q, Now: now, Window: r.window, Meshed: r.meshed, round: r.round})
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", r.b.Name, err)
	}
	for i := range obs {
		obs[i].Severity = r.b.Severity
	}
	return obs, nil
}

// families groups the connected nodes of each cluster by family.
func families(nodes []ModelNode) map[[2]string][]ModelNode {
	out := map[[2]string][]ModelNode{}
	for _, n := range nodes {
		if n.Family != "" {
			k := [2]string{n.Cluster, n.Family}
			out[k] = append(out[k], n)
		}
	}
	return out
}

// nodeDown: a known node beamctl is not connected to, from the
// connection's own state (a distribution connection notices a dead peer
// at once, a silent one within the tick time), evaluated at once on every
// node event.
func nodeDown(_ context.Context, in *ModelInput) ([]Observation, error) {
	var out []Observation
	for _, n := range in.nodes() {
		if n.State == "up" {
			continue
		}
		desc := fmt.Sprintf("Node %s is %s", n.Node, n.State)
		if n.LastError != "" && !strings.Contains(n.State, n.LastError) {
			desc += ": " + n.LastError
		}
		out = append(out, Observation{Key: Key{Cluster: n.Cluster, Node: n.Node}, Value: 1,
			Description: desc + fmt.Sprintf(" (since %s).", n.Since.Format(time.RFC3339))})
	}
	return out, nil
}

// moduleVersionMismatch: a module loaded on several nodes of one family
// with different md5s (the same release should run the same code).
// Modules loaded on some nodes only are no news: code loads on demand.
func moduleVersionMismatch(ctx context.Context, in *ModelInput) ([]Observation, error) {
	var out []Observation
	for fk, nodes := range families(in.up()) {
		if len(nodes) < 2 {
			continue
		}
		md5s := map[string]map[string][]string{} // module -> md5 -> nodes
		deploying := map[string]bool{}
		for _, n := range nodes {
			maps.Copy(deploying, n.Deploying)
			var mods map[string]string
			if err := in.load(ctx, n, "modules", &mods); err != nil {
				return nil, err
			}
			for m, v := range mods {
				v = strings.TrimSuffix(v, "+old")
				if md5s[m] == nil {
					md5s[m] = map[string][]string{}
				}
				md5s[m][v] = append(md5s[m][v], n.Node)
			}
		}
		for m, byMD5 := range md5s {
			if len(byMD5) < 2 || deploying[m] {
				continue
			}
			out = append(out, Observation{
				Key:         Key{Cluster: fk[0], Subject: fk[1] + " " + m},
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
func oldCode(ctx context.Context, in *ModelInput) ([]Observation, error) {
	var out []Observation
	for _, n := range in.up() {
		var mods map[string]string
		if err := in.load(ctx, n, "modules", &mods); err != nil {
			return nil, err
		}
		for m, v := range mods {
			if strings.HasSuffix(v, "+old") {
				out = append(out, Observation{Key: Key{Cluster: n.Cluster, Node: n.Node, Subject: m}, Value: 1,
					Description: fmt.Sprintf("Module %s on %s still has old code loaded: the next load will kill the processes running it.", m, n.Node)})
			}
		}
	}
	return out, nil
}

// applicationVersionMismatch: an application running with different
// versions on nodes of one family.
func applicationVersionMismatch(_ context.Context, in *ModelInput) ([]Observation, error) {
	var out []Observation
	for fk, nodes := range families(in.up()) {
		vsns := map[string]map[string][]string{} // app -> version -> nodes
		for _, n := range nodes {
			for app, v := range n.Apps {
				if vsns[app] == nil {
					vsns[app] = map[string][]string{}
				}
				vsns[app][v] = append(vsns[app][v], n.Node)
			}
		}
		for app, byVsn := range vsns {
			if len(byVsn) < 2 {
				continue
			}
			out = append(out, Observation{Key: Key{Cluster: fk[0], Subject: fk[1] + " " + app},
				Value: float64(len(byVsn)), Description: fmt.Sprintf("Application %s runs in different versions in family %s: %s.",
					app, fk[1], whoHasWhat(byVsn))})
		}
	}
	return out, nil
}

// nodeAlarms: what the node's own alarm_handler has set (os_mon's disk and
// memory alarms, applications' alarms), one alarm each.
func nodeAlarms(ctx context.Context, in *ModelInput) ([]Observation, error) {
	var out []Observation
	for _, n := range in.up() {
		var set map[string]string
		if err := in.load(ctx, n, "alarms", &set); err != nil {
			return nil, err
		}
		for id, desc := range set {
			out = append(out, Observation{Key: Key{Cluster: n.Cluster, Node: n.Node, Subject: id}, Value: 1,
				Description: fmt.Sprintf("%s has its own alarm %s set: %s.", n.Node, id, desc)})
		}
	}
	return out, nil
}

// connections reads, from the metric store, which nodes each node has a
// normal (not hidden) distribution connection to: now, or with a
// lookback, at any time within it.
func connections(ctx context.Context, q Querier, now time.Time, lookback time.Duration) (map[[2]string]map[string]bool, error) {
	expr := `erlang_vm_dist_connection_info{type="normal"}`
	if lookback > 0 {
		expr = `last_over_time(` + expr + `[` + model.Duration(lookback).String() + `])`
	}
	res, err := q.Query(ctx, expr, now)
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
	return sees, nil
}

// upByCluster lists the connected nodes of each cluster, sorted.
func upByCluster(nodes []ModelNode) map[string][]string {
	up := map[string][]string{}
	for _, n := range nodes {
		up[n.Cluster] = append(up[n.Cluster], n.Node)
	}
	for _, ns := range up {
		sort.Strings(ns)
	}
	return up
}

// partialNetsplit: in a cluster meant to be a full mesh, node A is
// connected to other nodes but not to B, although beamctl sees both up.
func partialNetsplit(ctx context.Context, in *ModelInput) ([]Observation, error) {
	sees, err := connections(ctx, in.Q, in.Now, 0)
	if err != nil {
		return nil, err
	}
	var out []Observation
	for cluster, nodes := range upByCluster(in.up()) {
		for _, x := range nodes {
			peers := sees[[2]string{cluster, x}]
			if len(peers) == 0 {
				continue // a node not meant to join others, or no reading yet
			}
			for _, y := range nodes {
				if x == y || peers[y] || len(sees[[2]string{cluster, y}]) == 0 {
					continue
				}
				out = append(out, Observation{Key: Key{Cluster: cluster, Node: x, Subject: y}, Value: 1,
					Description: fmt.Sprintf("%s is not connected to %s although both are up and connected to others: a partial netsplit.", x, y),
					Evidence:    []string{`erlang_vm_dist_connection_info{node="` + x + `"}`}})
			}
		}
	}
	return out, nil
}

// clusterPartitioned: the up nodes of a cluster that were connected to
// one another (within the window, or at any time since the rule was
// built) now form more than one island of connected nodes. With OTP 25's
// global (prevent_overlapping_partitions), one lost link makes global
// disconnect more nodes: every node stays up with nodes() empty, and no
// node is connected to some and not to others, so partial_netsplit does
// not see it.
func clusterPartitioned(ctx context.Context, in *ModelInput) ([]Observation, error) {
	now, err := connections(ctx, in.Q, in.Now, 0)
	if err != nil {
		return nil, err
	}
	past, err := connections(ctx, in.Q, in.Now, in.Window)
	if err != nil {
		return nil, err
	}
	for k, peers := range past {
		if len(peers) > 0 {
			in.Meshed[k] = true
		}
	}
	var out []Observation
	for cluster, nodes := range upByCluster(in.up()) {
		var meshed []string
		for _, n := range nodes {
			if in.Meshed[[2]string{cluster, n}] {
				meshed = append(meshed, n)
			}
		}
		if len(meshed) < 2 {
			continue
		}
		islands := components(meshed, func(x, y string) bool {
			return now[[2]string{cluster, x}][y] || now[[2]string{cluster, y}][x]
		})
		if len(islands) < 2 {
			continue
		}
		var names []string
		for _, is := range islands {
			names = append(names, "["+strings.Join(is, ", ")+"]")
		}
		out = append(out, Observation{Key: Key{Cluster: cluster}, Value: float64(len(islands)),
			Description: fmt.Sprintf("Cluster %s has fallen apart into %d islands of connected nodes, all up: %s.",
				cluster, len(islands), strings.Join(names, " ")),
			Evidence: []string{`erlang_vm_dist_connection_info{cluster="` + cluster + `",type="normal"}`}})
	}
	return out, nil
}

// components splits nodes (sorted) into the groups linked by connected,
// each sorted, in the order of their first node.
func components(nodes []string, connected func(x, y string) bool) [][]string {
	seen := map[string]bool{}
	var out [][]string
	for _, start := range nodes {
		if seen[start] {
			continue
		}
		seen[start] = true
		island, todo := []string{start}, []string{start}
		for len(todo) > 0 {
			x := todo[0]
			todo = todo[1:]
			for _, y := range nodes {
				if !seen[y] && connected(x, y) {
					seen[y] = true
					island = append(island, y)
					todo = append(todo, y)
				}
			}
		}
		sort.Strings(island)
		out = append(out, island)
	}
	return out
}

// timeZoneMismatch: nodes of one family whose local time is in different
// time zones (from each node's UTC offset reading), so that local times in
// their logs and schedules disagree.
func timeZoneMismatch(ctx context.Context, in *ModelInput) ([]Observation, error) {
	res, err := in.Q.Query(ctx, `erlang_vm_utc_offset_seconds`, in.Now)
	if err != nil {
		return nil, err
	}
	offset := map[[2]string]float64{} // (cluster, node) -> seconds
	for _, s := range res.Series {
		if len(s.Points) == 1 {
			offset[[2]string{s.Labels["cluster"], s.Labels["node"]}] = s.Points[0].Value
		}
	}
	var out []Observation
	for fk, nodes := range families(in.up()) {
		zones := map[string][]string{} // "UTC+09:00" -> nodes
		for _, n := range nodes {
			if off, ok := offset[[2]string{n.Cluster, n.Node}]; ok {
				z := utcOffset(off)
				zones[z] = append(zones[z], n.Node)
			}
		}
		if len(zones) < 2 {
			continue
		}
		out = append(out, Observation{Key: Key{Cluster: fk[0], Subject: fk[1]}, Value: float64(len(zones)),
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
func configSanity(ctx context.Context, in *ModelInput) ([]Observation, error) {
	var out []Observation
	for _, n := range in.up() {
		var problems map[string]string
		if err := in.load(ctx, n, "release_problems", &problems); err != nil {
			return nil, err
		}
		for f, p := range problems {
			out = append(out, Observation{Key: Key{Cluster: n.Cluster, Node: n.Node, Subject: f}, Value: 1,
				Description: fmt.Sprintf("%s on %s %s: the node would not restart with it.", f, n.Node, p)})
		}
	}
	return out, nil
}

// moduleClash: modules found in more than one directory of the code path:
// which copy loads depends on the path order. One cause (an application's
// ebin in two places, as jose on a stock RabbitMQ) makes many modules
// clash, so there is one alarm per node and pair of directories (the one
// that wins and one it shadows), naming how many modules clash and a few
// of them.
func moduleClash(ctx context.Context, in *ModelInput) ([]Observation, error) {
	const named = 5 // modules named in the description
	var out []Observation
	for _, n := range in.up() {
		var clashes map[string][]string // module -> directories, in code path order
		if err := in.load(ctx, n, "module_clashes", &clashes); err != nil {
			return nil, err
		}
		pairs := map[[2]string][]string{} // (first, other) -> modules
		for m, dirs := range clashes {
			for _, d := range dirs[1:] {
				k := [2]string{dirs[0], d}
				pairs[k] = append(pairs[k], m)
			}
		}
		for k, mods := range pairs {
			sort.Strings(mods)
			some := strings.Join(mods, ", ")
			if len(mods) > named {
				some = strings.Join(mods[:named], ", ") + ", …"
			}
			what := fmt.Sprintf("%d modules (%s) are", len(mods), some)
			if len(mods) == 1 {
				what = fmt.Sprintf("Module %s is", some)
			}
			out = append(out, Observation{Key: Key{Cluster: n.Cluster, Node: n.Node, Subject: k[0] + " " + k[1]}, Value: float64(len(mods)),
				Description: fmt.Sprintf("%s on %s both in %s and in %s of the code path: the copies in %s load.",
					what, n.Node, k[0], k[1], k[0])})
		}
	}
	return out, nil
}
