package config

import (
	"fmt"
	"net/url"
)

// Web configures who may do what on beamctl serve's HTTP API. The users
// and their password hashes are in the web configuration file
// (--web.config.file, the Prometheus exporter-toolkit format); this block
// only gives them roles.
type Web struct {
	// Roles maps a user of basic_auth_users to viewer, operator or admin.
	// A user not listed is a viewer.
	Roles map[string]string `yaml:"roles"`
	// GrafanaURL is Grafana's base URL: the web UI's query page links to
	// the same query in Grafana's Explore ("": no link).
	GrafanaURL string `yaml:"grafana_url"`
	// GrafanaDatasource is the name or uid of the Grafana data source
	// that points at this server ("": Grafana's default data source).
	GrafanaDatasource string `yaml:"grafana_datasource"`
}

// validate checks the role names and the Grafana URL.
func (w Web) validate() error {
	for _, u := range sortedKeys(w.Roles) {
		switch w.Roles[u] {
		case "viewer", "operator", "admin":
		default:
			return fmt.Errorf("web.roles.%s must be viewer, operator or admin, not %q", u, w.Roles[u])
		}
	}
	if w.GrafanaURL != "" {
		u, err := url.Parse(w.GrafanaURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("web.grafana_url: %q is not an http(s) URL such as https://grafana.example.com", w.GrafanaURL)
		}
	}
	return nil
}
