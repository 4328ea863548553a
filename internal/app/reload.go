package app

import (
	"fmt"
	"net/http"

	"github.com/beamctl/beamctl/internal/config"
)

// Reload applies a new configuration. Clusters whose cookie did not change
// keep their connections: only their discovery and collection restart if
// their settings changed; removed clusters are disconnected; new ones
// start.
func (a *App) Reload(cfg *config.Config) error {
	if err := checkCollectors(cfg); err != nil {
		return err
	}
	if err := a.setAlarmRules(cfg); err != nil {
		return err
	}
	a.runMu.Lock()
	defer a.runMu.Unlock()
	old := a.runs
	a.runs = map[string]*clusterRun{}
	for _, cl := range cfg.Clusters {
		prev := old[cl.Name]
		delete(old, cl.Name)
		switch {
		case prev != nil && sameCluster(prev.cfg, cl) && prev.global == cfg.Global:
			a.runs[cl.Name] = prev // untouched
			continue
		case prev != nil && prev.cfg.Cookie == cl.Cookie && fmt.Sprint(prev.cfg.TLS) == fmt.Sprint(cl.TLS):
			a.stopRun(prev, false)
			if err := a.startRun(cl, cfg.Global, prev.pool, nil); err != nil {
				return err
			}
		default:
			if prev != nil {
				a.stopRun(prev, true)
			}
			if err := a.startRun(cl, cfg.Global, nil, nil); err != nil {
				return err
			}
		}
	}
	for _, run := range old { // clusters no longer configured
		a.stopRun(run, true)
	}
	if err := a.startExports(cfg.Exports); err != nil {
		return err
	}
	a.startDeliveries(cfg.Alarms)
	a.cfg = cfg
	a.log.Info("Configuration reloaded", "clusters", len(cfg.Clusters))
	return nil
}

// sameCluster reports whether two cluster configurations are equal.
func sameCluster(x, y config.Cluster) bool {
	epmd := func(e *config.EpmdScan) string {
		if e == nil {
			return ""
		}
		return fmt.Sprint(e.Hosts, e.NamePattern)
	}
	dns := func(d *config.DNSScan) string {
		if d == nil {
			return ""
		}
		return fmt.Sprint(d.Names, d.Type, d.NamePattern)
	}
	return x.Name == y.Name && x.Cookie == y.Cookie && fmt.Sprint(x.Nodes) == fmt.Sprint(y.Nodes) &&
		fmt.Sprint(x.Seeds) == fmt.Sprint(y.Seeds) && epmd(x.Epmd) == epmd(y.Epmd) && dns(x.DNS) == dns(y.DNS) &&
		fmt.Sprint(x.Collectors) == fmt.Sprint(y.Collectors) && // fmt prints maps sorted by key
		x.AgentEnabled() == y.AgentEnabled() && x.Family == y.Family && fmt.Sprint(x.TLS) == fmt.Sprint(y.TLS)
}

// reloadHandler serves POST /-/reload when the server knows its
// configuration file.
func (a *App) reloadHandler() http.Handler {
	if a.opts.ConfigFile == "" {
		return nil
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.ReloadFile(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, "Configuration reloaded.")
	})
}

// ReloadFile reads the configuration file again and applies it; an invalid
// file changes nothing.
func (a *App) ReloadFile() error {
	cfg, err := config.Load(a.opts.ConfigFile)
	if err != nil {
		return err
	}
	return a.Reload(cfg)
}
