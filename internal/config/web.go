package config

import "fmt"

// Web configures who may do what on beamctl serve's HTTP API. The users
// and their password hashes are in the web configuration file
// (--web.config.file, the Prometheus exporter-toolkit format); this block
// only gives them roles.
type Web struct {
	// Roles maps a user of basic_auth_users to viewer, operator or admin.
	// A user not listed is a viewer.
	Roles map[string]string `yaml:"roles"`
}

// validate checks the role names.
func (w Web) validate() error {
	for _, u := range sortedKeys(w.Roles) {
		switch w.Roles[u] {
		case "viewer", "operator", "admin":
		default:
			return fmt.Errorf("web.roles.%s must be viewer, operator or admin, not %q", u, w.Roles[u])
		}
	}
	return nil
}
