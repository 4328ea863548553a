package app

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/beamctl/beamctl/internal/config"
)

// Reload applies a new configuration. Clusters whose cookie did not change
// keep their connections: only their discovery, collection and capture
// restart if any of their settings changed; removed clusters are
// disconnected; new ones start. Every new piece (alarm rules, collector
// sets, pools with their TLS files, export targets) is built before
// anything changes, so a configuration that fails changes nothing.
func (a *App) Reload(cfg *config.Config) (err error) {
	end, err := a.auditReload(cfg)
	if err != nil {
		return err
	}
	defer func() { end(err) }()
	if err := checkCollectors(cfg); err != nil {
		return err
	}
	rules, err := a.buildRules(cfg)
	if err != nil {
		return err
	}
	a.runMu.Lock()
	defer a.runMu.Unlock()
	steps, err := a.planRuns(cfg)
	if err != nil {
		return err
	}
	exports, err := a.buildExports(cfg.Exports)
	if err != nil {
		discardSteps(steps)
		return err
	}
	// Nothing below fails.
	a.alarms.SetRules(rules)
	old := a.runs
	a.runs = map[string]*clusterRun{}
	for _, s := range steps {
		name := s.next.cfg.Name
		delete(old, name)
		if s.next == s.prev {
			a.runs[name] = s.prev
			continue
		}
		if s.prev != nil {
			a.stopRun(s.prev, !s.keepPool)
		}
		a.launch(s.next, nil)
	}
	for _, run := range old { // clusters no longer configured
		a.stopRun(run, true)
	}
	a.runExports(exports)
	a.startDeliveries(cfg.Alarms)
	a.cfg = cfg
	a.captureCfg.Store(&cfg.Capture)
	a.log.Info("Configuration reloaded", "clusters", len(cfg.Clusters))
	return nil
}

// runStep is what a reload does to one configured cluster: keep its run
// (next == prev), or replace prev (nil for a new cluster) with next, which
// keeps prev's pool when keepPool.
type runStep struct {
	prev, next *clusterRun
	keepPool   bool
}

// planRuns builds the runs of cfg's clusters without starting or stopping
// any. The caller holds runMu.
func (a *App) planRuns(cfg *config.Config) ([]runStep, error) {
	var steps []runStep
	for _, cl := range cfg.Clusters {
		prev := a.runs[cl.Name]
		s := runStep{prev: prev}
		var err error
		switch {
		case prev != nil && sameCluster(prev.cfg, cl) && prev.global == cfg.Global:
			s.next = prev // untouched
		case prev != nil && prev.cfg.Cookie == cl.Cookie && fmt.Sprint(prev.cfg.TLS) == fmt.Sprint(cl.TLS):
			s.next, err = a.newRun(cl, cfg.Global, prev.pool)
			if err == nil {
				s.next.stale = prev.stale // the series written through the kept pool
			}
			s.keepPool = true
		default:
			s.next, err = a.newRun(cl, cfg.Global, nil)
		}
		if err != nil {
			discardSteps(steps)
			return nil, err
		}
		steps = append(steps, s)
	}
	return steps, nil
}

// discardSteps closes the pools a plan opened.
func discardSteps(steps []runStep) {
	for _, s := range steps {
		if s.next != s.prev && !s.keepPool {
			_ = s.next.pool.Close()
		}
	}
}

// sameCluster reports whether two cluster configurations are equal in
// every setting.
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
	// The rest, pointers and maps included, by value (encoding/json
	// follows pointers and sorts map keys).
	rest := func(c config.Cluster) string {
		c.Epmd, c.DNS = nil, nil
		b, err := json.Marshal(c)
		if err != nil {
			return fmt.Sprintf("%p", &c) // never equal
		}
		return string(b)
	}
	return epmd(x.Epmd) == epmd(y.Epmd) && dns(x.DNS) == dns(y.DNS) && rest(x) == rest(y)
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
