// Package app is the lifecycle of beamctl serve: it discovers the nodes of
// every configured cluster, keeps one hidden connection per node (through a
// dist.Pool per cluster), collects every node on an interval into the
// store, and serves the HTTP API. It never touches OS signals, so tests run
// it in-process: New, Start, Stop.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/beamctl/beamctl/internal/collector"
	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/store"
	"github.com/beamctl/beamctl/internal/web"
)

// Options configure the server.
type Options struct {
	Config      *config.Config
	StoragePath string
	Listen      string // e.g. 127.0.0.1:9464; port 0 picks a free one
	Logger      *slog.Logger
}

// App is a running (or stopped) server.
type App struct {
	opts   Options
	log    *slog.Logger
	db     *store.DB
	srv    *http.Server
	ln     net.Listener
	pools  map[string]*dist.Pool
	sets   map[string]*collector.Set
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	nodes    map[nodeKey]*nodeInfo
	metadata map[string]web.Metadata
}

type nodeKey struct{ cluster, node string }

type nodeInfo struct {
	lastCollect time.Time
	series      int
}

// New opens the store; nothing runs before Start.
func New(o Options) (*App, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Config == nil {
		return nil, errors.New("no configuration")
	}
	db, err := store.Open(o.StoragePath, o.Logger.With("component", "store"), nil)
	if err != nil {
		return nil, err
	}
	a := &App{opts: o, log: o.Logger, db: db, pools: map[string]*dist.Pool{}, sets: map[string]*collector.Set{}, nodes: map[nodeKey]*nodeInfo{},
		metadata: map[string]web.Metadata{"beamctl_node_up": {Type: "gauge", Help: "Whether beamctl is connected to the node (1) or not (0)."}}}
	for _, cl := range o.Config.Clusters {
		set, err := collector.NewSet(o.Logger.With("cluster", cl.Name), cl.Collectors, time.Duration(o.Config.Global.CollectTimeout))
		if err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("cluster %q: %w", cl.Name, err)
		}
		a.sets[cl.Name] = set
	}
	return a, nil
}

// Start listens, then discovers and collects in the background.
func (a *App) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.opts.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.opts.Listen, err)
	}
	a.ln = ln
	a.srv = &http.Server{Handler: web.New(a.db, a, a.selfMetrics(), a.log), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("HTTP server stopped", "err", err)
		}
	}()
	ctx, a.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for _, cl := range a.opts.Config.Clusters {
		pool := dist.NewPool(dist.PoolOptions{Options: dist.Options{Cookie: cl.Cookie, Logger: a.log.With("cluster", cl.Name)}})
		a.pools[cl.Name] = pool
		a.wg.Add(1)
		go a.discover(ctx, cl, pool)
	}
	a.log.Info("Serving", "addr", ln.Addr().String(), "clusters", len(a.opts.Config.Clusters))
	return nil
}

// Addr is the address the API listens on.
func (a *App) Addr() string { return a.ln.Addr().String() }

// Stop stops collecting, closes every connection and the store.
func (a *App) Stop() error {
	if a.cancel != nil {
		a.cancel()
	}
	var errs []error
	if a.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, a.srv.Shutdown(ctx))
		cancel()
	}
	a.wg.Wait()
	for _, p := range a.pools {
		errs = append(errs, p.Close())
	}
	errs = append(errs, a.db.Close())
	return errors.Join(errs...)
}

// discover finds the cluster's nodes now and every DiscoverInterval: the
// static list, the seeds, and every node a known node is connected to
// (repeated until nothing new turns up). Each new node gets a collector
// loop; nodes that vanish stay known (their state goes down).
func (a *App) discover(ctx context.Context, cl config.Cluster, pool *dist.Pool) {
	defer a.wg.Done()
	known := map[string]bool{}
	tick := time.NewTicker(time.Duration(a.opts.Config.Global.DiscoverInterval))
	defer tick.Stop()
	for {
		queue := append(append([]string{}, cl.Nodes...), cl.Seeds...)
		queue = append(queue, a.scanEpmd(ctx, cl)...)
		crawled := map[string]bool{}
		for len(queue) > 0 {
			n := queue[0]
			queue = queue[1:]
			if !known[n] {
				known[n] = true
				a.wg.Add(1)
				go a.collect(ctx, cl.Name, n, pool)
			}
			if crawled[n] {
				continue
			}
			crawled[n] = true
			cctx, cancel := context.WithTimeout(ctx, time.Duration(a.opts.Config.Global.CollectTimeout))
			r, err := pool.Call(cctx, n, "erlang", "nodes")
			cancel()
			if err != nil {
				continue
			}
			peers, _ := etf.ToList(r)
			for _, p := range peers {
				if name, ok := p.(etf.Atom); ok && !crawled[string(name)] {
					queue = append(queue, string(name))
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// scanEpmd lists the nodes registered in the configured hosts' epmd whose
// names match the pattern. A host without epmd is logged and skipped.
func (a *App) scanEpmd(ctx context.Context, cl config.Cluster) []string {
	if cl.Epmd == nil {
		return nil
	}
	var out []string
	for _, host := range cl.Epmd.Hosts {
		sctx, cancel := context.WithTimeout(ctx, time.Duration(a.opts.Config.Global.CollectTimeout))
		names, err := dist.Names(sctx, host, 0)
		cancel()
		if err != nil {
			a.log.Warn("Cannot list the nodes of a host", "cluster", cl.Name, "host", host, "err", err)
			continue
		}
		for _, n := range names {
			if cl.Epmd.Pattern.MatchString(n.Name) {
				out = append(out, n.Name+"@"+host)
			}
		}
	}
	return out
}

// collect collects one node every CollectInterval into the store.
func (a *App) collect(ctx context.Context, cluster, node string, pool *dist.Pool) {
	defer a.wg.Done()
	interval := time.Duration(a.opts.Config.Global.CollectInterval)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		a.collectOnce(ctx, cluster, node, pool)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (a *App) collectOnce(ctx context.Context, cluster, node string, pool *dist.Pool) {
	now := time.Now()
	base := []store.Label{{Name: "cluster", Value: cluster}, {Name: "node", Value: node}}
	up := 0.0
	var samples []store.Sample
	cctx, cancel := context.WithTimeout(ctx, time.Duration(a.opts.Config.Global.CollectTimeout))
	defer cancel()
	if conn, err := pool.Conn(cctx, node); err == nil {
		up = 1
		collected := a.sets[cluster].Collect(cctx, conn)
		a.mu.Lock()
		for _, s := range collected {
			a.metadata[s.Name] = web.Metadata{Type: s.Type.String(), Help: s.Help}
		}
		a.mu.Unlock()
		for _, s := range collected {
			lbls := append([]store.Label{{Name: "__name__", Value: s.Name}}, base...)
			for _, l := range s.Labels {
				lbls = append(lbls, store.Label{Name: l.Name, Value: l.Value})
			}
			samples = append(samples, store.Sample{Labels: lbls, Time: now, Value: s.Value})
		}
	}
	samples = append(samples, store.Sample{Labels: append([]store.Label{{Name: "__name__", Value: "beamctl_node_up"}}, base...), Time: now, Value: up})
	if err := a.db.Append(ctx, samples); err != nil {
		a.log.Error("Cannot store samples", "cluster", cluster, "node", node, "err", err)
		return
	}
	a.mu.Lock()
	a.nodes[nodeKey{cluster, node}] = &nodeInfo{lastCollect: now, series: len(samples)}
	a.mu.Unlock()
}

// selfMetrics serves beamctl's own metrics: Go runtime and process, and
// how many managed nodes are in each state.
func (a *App) selfMetrics() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(prometheus.CollectorFunc(a.describeNodes))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

var nodesDesc = prometheus.NewDesc("beamctl_managed_nodes", "Managed nodes by cluster and connection state.", []string{"cluster", "state"}, nil)

func (a *App) describeNodes(ch chan<- prometheus.Metric) {
	counts := map[[2]string]float64{}
	for _, n := range a.Nodes() {
		counts[[2]string{n.Cluster, n.State}]++
	}
	for k, v := range counts {
		ch <- prometheus.MustNewConstMetric(nodesDesc, prometheus.GaugeValue, v, k[0], k[1])
	}
}

// Query evaluates PromQL against the store (for the demo's live figures).
func (a *App) Query(ctx context.Context, q string) (*store.Result, error) {
	return a.db.Query(ctx, q, time.Now())
}

// Metadata returns the type and help of every metric family seen so far.
func (a *App) Metadata() map[string]web.Metadata {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]web.Metadata, len(a.metadata))
	for k, v := range a.metadata {
		out[k] = v
	}
	return out
}

// Nodes reports every known node with its connection state (web.Model).
func (a *App) Nodes() []web.Node {
	var out []web.Node
	for cluster, pool := range a.pools {
		for _, st := range pool.Status() {
			n := web.Node{Cluster: cluster, Node: st.Node, State: st.State.String(), Since: st.Since}
			if st.Err != nil {
				n.LastError = st.Err.Error()
			}
			a.mu.Lock()
			if info := a.nodes[nodeKey{cluster, st.Node}]; info != nil {
				n.LastCollect, n.Series = info.lastCollect, info.series
			}
			a.mu.Unlock()
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Cluster != out[j].Cluster {
			return out[i].Cluster < out[j].Cluster
		}
		return out[i].Node < out[j].Node
	})
	return out
}
