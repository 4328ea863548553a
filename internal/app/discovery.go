package app

import (
	"context"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
)

// discover finds the cluster's nodes now and every DiscoverInterval: the
// static list, the seeds, and every node a known node is connected to
// (repeated until nothing new turns up). Each new node gets a collector
// loop; a node that vanishes goes down, and is forgotten (forget) once it
// has been down and not found for ForgetAfter, unless it is listed in
// nodes or seeds.
func (a *App) discover(ctx context.Context, run *clusterRun) {
	defer run.wg.Done()
	cl, pool := run.cfg, run.pool
	known := map[string]*nodeLoops{}
	listed := map[string]bool{}
	for _, n := range append(append([]string{}, cl.Nodes...), cl.Seeds...) {
		listed[n] = true
	}
	for _, st := range pool.Status() { // a pool kept by a reload: its nodes stay known, and can be forgotten
		known[st.Node] = a.startNode(ctx, run, st.Node)
		known[st.Node].seen = time.Now()
	}
	tick := time.NewTicker(time.Duration(run.global.DiscoverInterval))
	defer tick.Stop()
	for {
		now := time.Now()
		queue := append(append([]string{}, cl.Nodes...), cl.Seeds...)
		queue = append(queue, a.scanEpmd(ctx, cl, run.global)...)
		queue = append(queue, a.scanDNS(ctx, cl, run.global)...)
		crawled := map[string]bool{}
		for len(queue) > 0 {
			n := queue[0]
			queue = queue[1:]
			if known[n] == nil {
				known[n] = a.startNode(ctx, run, n)
			}
			known[n].seen = now
			if crawled[n] {
				continue
			}
			crawled[n] = true
			cctx, cancel := context.WithTimeout(ctx, time.Duration(run.global.CollectTimeout))
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
		if ctx.Err() == nil {
			a.forgetGone(ctx, run, known, listed)
		}
		if run.firstPasses != nil {
			run.firstPass.Do(run.firstPasses.Done)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// scanEpmd lists the nodes registered in the configured hosts' epmd whose
// names match the pattern.
func (a *App) scanEpmd(ctx context.Context, cl config.Cluster, g config.Global) []string {
	if cl.Epmd == nil {
		return nil
	}
	return a.epmdNodes(ctx, cl.Name, cl.Epmd.Hosts, cl.Epmd.Pattern, g)
}

// scanDNS resolves the configured names to hosts and lists their nodes.
func (a *App) scanDNS(ctx context.Context, cl config.Cluster, g config.Global) []string {
	if cl.DNS == nil {
		return nil
	}
	var hosts []string
	for _, name := range cl.DNS.Names {
		dctx, cancel := context.WithTimeout(ctx, time.Duration(g.CollectTimeout))
		if cl.DNS.Type == "SRV" {
			_, srvs, err := net.DefaultResolver.LookupSRV(dctx, "", "", name)
			for _, s := range srvs {
				hosts = append(hosts, strings.TrimSuffix(s.Target, "."))
			}
			if err != nil {
				a.log.Warn("DNS lookup failed", "cluster", cl.Name, "name", name, "err", err)
			}
		} else {
			addrs, err := net.DefaultResolver.LookupHost(dctx, name)
			hosts = append(hosts, addrs...)
			if err != nil {
				a.log.Warn("DNS lookup failed", "cluster", cl.Name, "name", name, "err", err)
			}
		}
		cancel()
	}
	return a.epmdNodes(ctx, cl.Name, hosts, cl.DNS.Pattern, g)
}

// epmdNodes lists name@host for every name registered in the hosts' epmd
// that matches pattern. A host without epmd is logged and skipped.
func (a *App) epmdNodes(ctx context.Context, cluster string, hosts []string, pattern *regexp.Regexp, g config.Global) []string {
	var out []string
	for _, host := range hosts {
		sctx, cancel := context.WithTimeout(ctx, time.Duration(g.CollectTimeout))
		names, err := dist.Names(sctx, host, 0)
		cancel()
		if err != nil {
			a.log.Warn("Cannot list the nodes of a host", "cluster", cluster, "host", host, "err", err)
			continue
		}
		for _, n := range names {
			if pattern.MatchString(n.Name) {
				out = append(out, n.Name+"@"+host)
			}
		}
	}
	return out
}
