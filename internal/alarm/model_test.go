package alarm

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/store"
)

// snapshots is a Model of recorded readings (the model alarms' logic needs
// no node; every one is also tested on real nodes in internal/app).
type snapshots struct {
	nodes []ModelNode
	snaps map[string]any // "node name" -> snapshot
}

func (s *snapshots) Nodes() []ModelNode { return s.nodes }
func (s *snapshots) Snapshot(_ context.Context, _, node, name string) ([]byte, error) {
	x, ok := s.snaps[node+" "+name]
	if !ok {
		return nil, nil
	}
	return json.Marshal(x)
}

// TestModuleClashOnePerCause reads the code path of a stock RabbitMQ: the
// 100 modules of jose in two directories are one alarm, not 100, and a
// module alone in a third pair of directories is another.
func TestModuleClashOnePerCause(t *testing.T) {
	plugins, lib := "/usr/lib/rabbitmq/plugins/jose-1.11.5/ebin", "/usr/lib/erlang/lib/jose-1.11.5/ebin"
	clashes := map[string][]string{"rabbit_patch": {"/opt/patches", "/usr/lib/rabbitmq/plugins/rabbit-3.12/ebin"}}
	for i := range 100 {
		clashes[fmt.Sprintf("jose_m%03d", i)] = []string{plugins, lib}
	}
	m := &snapshots{nodes: []ModelNode{{Cluster: "c", Node: "rabbit@h", State: "up"}},
		snaps: map[string]any{"rabbit@h module_clashes": clashes}}
	rules, err := Build(configNone, Deps{M: m})
	require.NoError(t, err)
	obs, err := ruleNamed(t, rules, "module_clash").Evaluate(context.Background(), time.Now(), nil)
	require.NoError(t, err)
	require.Len(t, obs, 2)
	byValue := map[float64]Observation{}
	for _, o := range obs {
		byValue[o.Value] = o
		require.Equal(t, Minor, o.Severity)
	}
	jose := byValue[100]
	require.Equal(t, Key{Cluster: "c", Node: "rabbit@h", Subject: plugins + " " + lib}, jose.Key)
	require.Equal(t, "100 modules (jose_m000, jose_m001, jose_m002, jose_m003, jose_m004, …) are on rabbit@h both in "+plugins+
		" and in "+lib+" of the code path: the copies in "+plugins+" load.", jose.Description)
	require.Equal(t, "Module rabbit_patch is on rabbit@h both in /opt/patches and in /usr/lib/rabbitmq/plugins/rabbit-3.12/ebin "+
		"of the code path: the copies in /opt/patches load.", byValue[1].Description)
}

// TestIslands reads connections from the store: a mesh of three cut into
// islands, and nodes never connected to others, which are not counted.
func TestIslands(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(t.TempDir(), nil, nil, nil)
	require.NoError(t, err)
	defer db.Close()
	now := time.Now()
	link := func(at time.Time, from, to string) store.Sample {
		return store.Sample{Labels: []store.Label{{Name: "__name__", Value: "erlang_vm_dist_connection_info"}, {Name: "cluster", Value: "c"},
			{Name: "node", Value: from}, {Name: "peer", Value: to}, {Name: "type", Value: "normal"}}, Time: at, Value: 1}
	}
	before := now.Add(-time.Minute)
	var samples []store.Sample
	for _, p := range [][2]string{{"a@h", "b@h"}, {"a@h", "c@h"}, {"b@h", "c@h"}} {
		samples = append(samples, link(before, p[0], p[1]), link(before, p[1], p[0]))
	}
	require.NoError(t, db.Append(ctx, samples))
	stale := func(from, to string) store.Sample { s := link(now, from, to); s.Value = store.StaleNaN; return s }
	// Now only a and c are connected: b is an island.
	require.NoError(t, db.Append(ctx, []store.Sample{link(now, "a@h", "c@h"), link(now, "c@h", "a@h"),
		stale("a@h", "b@h"), stale("b@h", "a@h"), stale("b@h", "c@h"), stale("c@h", "b@h")}))
	m := &snapshots{nodes: []ModelNode{{Cluster: "c", Node: "a@h", State: "up"}, {Cluster: "c", Node: "b@h", State: "up"},
		{Cluster: "c", Node: "c@h", State: "up"}, {Cluster: "c", Node: "lone@h", State: "up"}, {Cluster: "c", Node: "d@h", State: "down"}}}
	rules, err := Build(configNone, Deps{M: m, Q: db})
	require.NoError(t, err)
	obs, err := ruleNamed(t, rules, "cluster_partitioned").Evaluate(ctx, now, nil)
	require.NoError(t, err)
	require.Len(t, obs, 1)
	require.Equal(t, Key{Cluster: "c"}, obs[0].Key)
	require.Equal(t, Critical, obs[0].Severity)
	require.Equal(t, 2.0, obs[0].Value)
	require.Equal(t, "Cluster c has fallen apart into 2 islands of connected nodes, all up: [a@h, c@h] [b@h].", obs[0].Description)
	// partial_netsplit sees nothing: b has no peer left.
	obs, err = ruleNamed(t, rules, "partial_netsplit").Evaluate(ctx, now, nil)
	require.NoError(t, err)
	require.Empty(t, obs)
}

// configNone is a configuration that overrides nothing.
var configNone = config.Alarms{}

func ruleNamed(t *testing.T, rules []Rule, name string) Rule {
	t.Helper()
	for _, r := range rules {
		if r.Name() == name {
			return r
		}
	}
	t.Fatalf("no rule %s", name)
	return nil
}

// TestLoadShared: nodes whose snapshots hold the same bytes share one
// decoded value; different ones get their own, also when the caller
// reuses its variable.
func TestLoadShared(t *testing.T) {
	same := map[string]string{"lists": "aa", "gen_server": "bb"}
	m := &snapshots{snaps: map[string]any{
		"a@h modules": same, "b@h modules": same, "c@h modules": map[string]string{"lists": "cc"},
	}}
	in := &ModelInput{M: m}
	ctx := context.Background()
	load := func(node string, v *map[string]string) {
		require.NoError(t, in.load(ctx, ModelNode{Cluster: "c", Node: node}, "modules", v))
	}
	var a, b, c map[string]string
	load("a@h", &a)
	load("b@h", &b)
	load("c@h", &c)
	require.Equal(t, same, a)
	require.Equal(t, same, b)
	require.Equal(t, map[string]string{"lists": "cc"}, c)
	require.Equal(t, reflect.ValueOf(a).UnsafePointer(), reflect.ValueOf(b).UnsafePointer(), "decoded once")
	require.NotEqual(t, reflect.ValueOf(a).UnsafePointer(), reflect.ValueOf(c).UnsafePointer())

	var reused map[string]string
	for _, tc := range []struct {
		node string
		want map[string]string
	}{{"c@h", map[string]string{"lists": "cc"}}, {"a@h", same}, {"none@h", nil}, {"c@h", map[string]string{"lists": "cc"}}} {
		if tc.node == "none@h" {
			var none map[string]string
			load(tc.node, &none)
			require.Nil(t, none, "no snapshot, nothing loaded")
			continue
		}
		load(tc.node, &reused)
		require.Equal(t, tc.want, reused, tc.node)
	}
	require.Equal(t, same, a, "the shared value was not changed")
}
