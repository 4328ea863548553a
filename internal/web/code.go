package web

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// NodeCode is what the server last read of a node's code, without asking
// the node: the md5 of every loaded module (the code poll's snapshot,
// "+old" appended when old code is loaded too), the running applications'
// versions and the release (name and version) from the last collection.
type NodeCode struct {
	Modules map[string]string
	Apps    map[string]string
	Release string
}

// maxCodeNodes bounds the nodes one family code answer compares: each is
// a snapshot read from the notification store, and a wider matrix is no
// longer read by anyone.
const maxCodeNodes = 100

// CodeNode is a column of the family's code matrix.
type CodeNode struct {
	Node       string `json:"node"`
	State      string `json:"state"`
	OTPRelease string `json:"otp_release"`
	Release    string `json:"release"`
	// Read says the server has a reading of the node's modules (the first
	// code poll after it connected).
	Read bool `json:"read"`
}

// ModuleDiff is a module loaded with different md5s on nodes of the
// family.
type ModuleDiff struct {
	Module string `json:"module"`
	// MD5 is each node's md5 of the module ("": not loaded there).
	MD5 map[string]string `json:"md5"`
	// Old lists the nodes where old code of the module is loaded too.
	Old []string `json:"old"`
	// Versions is how many different md5s the family runs.
	Versions int `json:"versions"`
}

// AppVersions is an application's version on each node of the family
// ("": not running there).
type AppVersions struct {
	Application string            `json:"application"`
	Versions    map[string]string `json:"versions"`
	Differs     bool              `json:"differs"`
}

// FamilyCode compares the code of a family's nodes.
type FamilyCode struct {
	Cluster string     `json:"cluster"`
	Family  string     `json:"family"`
	Nodes   []CodeNode `json:"nodes"`
	// NodesTotal is the family's size; only the first maxCodeNodes nodes
	// (by name) are compared.
	NodesTotal int `json:"nodes_total"`
	// Modules are the modules loaded on several nodes with different
	// md5s (as the module_version_mismatch alarm sees them); a module
	// loaded on some nodes only is no news (code loads on demand).
	Modules []ModuleDiff `json:"modules"`
	// ModulesCompared is how many modules are loaded on at least two
	// nodes; ModulesSame how many of them have the same md5 everywhere.
	ModulesCompared int           `json:"modules_compared"`
	ModulesSame     int           `json:"modules_same"`
	Apps            []AppVersions `json:"applications"`
}

// familyCode serves GET /api/v1/families/{cluster}/{family}/code from what
// the server already holds (no call to any node).
func (h *handler) familyCode(w http.ResponseWriter, r *http.Request) {
	cluster, family := r.PathValue("cluster"), r.PathValue("family")
	all := h.m.Nodes()
	var names []string
	for _, f := range families(all) {
		if f.Cluster == cluster && f.Family == family {
			names = f.Nodes
		}
	}
	if names == nil {
		h.respond(w, nil, &apiError{status: http.StatusNotFound, typ: "not_found",
			err: fmt.Errorf("cluster %q has no family %q", cluster, family)})
		return
	}
	byName := map[string]Node{}
	for _, n := range all {
		if n.Cluster == cluster {
			byName[n.Node] = n
		}
	}
	out := FamilyCode{Cluster: cluster, Family: family, NodesTotal: len(names), Nodes: []CodeNode{},
		Modules: []ModuleDiff{}, Apps: []AppVersions{}}
	if len(names) > maxCodeNodes {
		names = names[:maxCodeNodes]
	}
	mods := map[string]map[string]string{} // module -> node -> md5
	old := map[string][]string{}
	apps := map[string]map[string]string{} // application -> node -> version
	appsRead := 0                          // nodes whose applications are known
	for _, name := range names {
		code, err := h.m.NodeCode(r.Context(), cluster, name)
		if err != nil {
			h.respond(w, nil, &apiError{status: http.StatusInternalServerError, typ: "internal", err: err})
			return
		}
		n := byName[name]
		out.Nodes = append(out.Nodes, CodeNode{Node: name, State: n.State, OTPRelease: n.OTPRelease, Release: code.Release,
			Read: code.Modules != nil})
		for m, md5 := range code.Modules {
			md5, wasOld := strings.CutSuffix(md5, "+old")
			if mods[m] == nil {
				mods[m] = map[string]string{}
			}
			mods[m][name] = md5
			if wasOld {
				old[m] = append(old[m], name)
			}
		}
		if code.Apps != nil {
			appsRead++
		}
		for a, v := range code.Apps {
			if apps[a] == nil {
				apps[a] = map[string]string{}
			}
			apps[a][name] = v
		}
	}
	for m, byNode := range mods {
		if len(byNode) < 2 {
			continue
		}
		out.ModulesCompared++
		versions := distinct(byNode)
		if versions == 1 {
			out.ModulesSame++
			continue
		}
		o := old[m]
		if o == nil {
			o = []string{}
		}
		sort.Strings(o)
		out.Modules = append(out.Modules, ModuleDiff{Module: m, MD5: byNode, Old: o, Versions: versions})
	}
	sort.Slice(out.Modules, func(i, j int) bool { return out.Modules[i].Module < out.Modules[j].Module })
	for a, byNode := range apps {
		// Differs: two versions, or running on some nodes only.
		differs := distinct(byNode) > 1 || len(byNode) < appsRead
		out.Apps = append(out.Apps, AppVersions{Application: a, Versions: byNode, Differs: differs})
	}
	sort.Slice(out.Apps, func(i, j int) bool {
		if out.Apps[i].Differs != out.Apps[j].Differs {
			return out.Apps[i].Differs // differences first
		}
		return out.Apps[i].Application < out.Apps[j].Application
	})
	h.respond(w, out, nil)
}

// distinct counts the different values of m.
func distinct(m map[string]string) int {
	seen := map[string]bool{}
	for _, v := range m {
		seen[v] = true
	}
	return len(seen)
}

// UIConfig is what the web UI needs of the configuration (web: block).
type UIConfig struct {
	// GrafanaURL is Grafana's base URL for the query page's "Open in
	// Grafana" link ("": no link); GrafanaDatasource the name or uid of
	// the Prometheus data source that points at beamctl ("": Grafana's
	// default).
	GrafanaURL        string `json:"grafana_url"`
	GrafanaDatasource string `json:"grafana_datasource"`
}

// WithUIConfig gives the API the web UI's settings; cfg is called at
// each request, so a reload's settings are seen at once.
func WithUIConfig(cfg func() UIConfig) Option {
	return func(h *handler) { h.uiConfig = cfg }
}

// uiConfigAnswer serves GET /api/v1/ui/config.
func (h *handler) uiConfigAnswer(w http.ResponseWriter, _ *http.Request) {
	var c UIConfig
	if h.uiConfig != nil {
		c = h.uiConfig()
	}
	h.respond(w, c, nil)
}
