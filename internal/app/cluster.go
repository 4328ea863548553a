package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/beamctl/beamctl/internal/collector"
	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/dist"
)

// clusterRun is one cluster being discovered and collected. Its pool
// (the connections) can outlive it across a reload.
type clusterRun struct {
	// firstPasses, for the clusters of Start, is told when the first
	// discovery pass is over (once).
	firstPasses *sync.WaitGroup
	firstPass   sync.Once
	cfg         config.Cluster
	global      config.Global
	pool        *dist.Pool
	stale       *staleTrackers // kept with the pool across a reload
	set         *collector.Set
	cancel      context.CancelFunc
	wg          sync.WaitGroup
}

// setOptions are a cluster's collector settings.
func setOptions(cl config.Cluster, g config.Global) collector.SetOptions {
	o := collector.SetOptions{Overrides: map[string]collector.Override{}, Timeout: time.Duration(g.CollectTimeout),
		Interval: time.Duration(g.CollectInterval), FastInterval: time.Duration(g.FastInterval)}
	for name, cc := range cl.Collectors {
		o.Overrides[name] = collector.Override{Enabled: cc.Enabled, Interval: time.Duration(cc.Interval)}
	}
	return o
}

// checkCollectors reports a collector name no collector has.
func checkCollectors(cfg *config.Config) error {
	for _, cl := range cfg.Clusters {
		if _, err := collector.NewSet(nil, setOptions(cl, cfg.Global)); err != nil {
			return fmt.Errorf("cluster %q: %w", cl.Name, err)
		}
	}
	return nil
}

// newRun builds what a cluster needs to run, without starting anything:
// its collector set and, when pool is nil, a new pool (its TLS files
// loaded). A run that is not launched needs only its own pool closed.
func (a *App) newRun(cl config.Cluster, g config.Global, pool *dist.Pool) (*clusterRun, error) {
	set, err := collector.NewSet(a.log.With("cluster", cl.Name), setOptions(cl, g))
	if err != nil {
		return nil, fmt.Errorf("cluster %q: %w", cl.Name, err)
	}
	if pool == nil {
		o := dist.Options{Cookie: cl.Cookie, Logger: a.log.With("cluster", cl.Name), RPC: dist.RPCSpawn}
		if a.name != nil {
			o.Alive = a.name.Alive
		}
		if t := cl.TLS; t != nil {
			o.TLS, err = dist.LoadTLS(dist.TLSFiles{CertFile: t.CertFile, KeyFile: t.KeyFile, CAFile: t.CAFile,
				ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify})
			if err != nil {
				return nil, fmt.Errorf("cluster %q: %w", cl.Name, err)
			}
		}
		pool = dist.NewPool(dist.PoolOptions{Options: o})
	}
	return &clusterRun{cfg: cl, global: g, pool: pool, set: set, stale: &staleTrackers{m: map[string]*staleTracker{}}}, nil
}

// launch starts a run built by newRun; firstPasses (if set) is told when
// its first discovery pass is over. The caller holds runMu.
func (a *App) launch(run *clusterRun, firstPasses *sync.WaitGroup) {
	ctx, cancel := context.WithCancel(a.rootCtx)
	run.cancel, run.firstPasses = cancel, firstPasses
	a.runs[run.cfg.Name] = run
	run.wg.Add(2)
	go a.discover(ctx, run)
	go a.lifecycle(ctx, run)
}

// stopRun stops a cluster's goroutines and, with closePool, its
// connections. The caller holds runMu.
func (a *App) stopRun(run *clusterRun, closePool bool) {
	run.cancel()
	run.wg.Wait()
	if closePool {
		_ = run.pool.Close()
	}
}
