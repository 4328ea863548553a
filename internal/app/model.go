package app

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/beamctl/beamctl/internal/capture"
	"github.com/beamctl/beamctl/internal/collector"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/store"
	"github.com/beamctl/beamctl/internal/web"
)

type nodeKey struct{ cluster, node string }

type nodeInfo struct {
	lastCollect time.Time
	// series stored by the last round of all collectors (true) and of a
	// part of them (false).
	series     map[bool]int
	family     string
	otpRelease string
	release    string // name and version
	uptime     float64
	apps       map[string]string // running applications and their versions
	sysmon     *capture.Sysmon   // beamctl's system_monitor on the node, if any

	codeLoads map[string]float64 // new code pollCode found, by origin, since beamctl started
}

// info returns the node's record, created on first use. The caller holds mu.
func (a *App) info(cluster, node string) *nodeInfo {
	k := nodeKey{cluster, node}
	if a.nodes[k] == nil {
		a.nodes[k] = &nodeInfo{series: map[bool]int{}}
	}
	return a.nodes[k]
}

// learn keeps what the JSON API shows of a node from its samples: OTP
// release, uptime and family (the configured one, else the release name
// and version).
func (a *App) learn(cluster, node, family string, samples []collector.Sample) {
	a.mu.Lock()
	info := a.info(cluster, node)
	ns := a.changes(cluster, node, info, samples)
	defer a.record(ns...) // after Unlock: it writes to disk
	defer a.mu.Unlock()
	if family != "" {
		info.family = family
	}
	for _, s := range samples {
		switch s.Name {
		case "erlang_vm_info":
			info.otpRelease = label(s, "otp_release")
		case "erlang_vm_uptime_seconds":
			info.uptime = s.Value
		case "erlang_vm_release_info":
			if family == "" {
				info.family = label(s, "release") + " " + label(s, "version")
			}
		}
	}
}

func label(s collector.Sample, name string) string {
	for _, l := range s.Labels {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

// Query evaluates PromQL against the store (for the demo's live figures).
func (a *App) Query(ctx context.Context, q string) (*store.Result, error) {
	return a.db.Query(ctx, q, time.Now())
}

// Conn returns the live connection to a managed node (web.Model).
func (a *App) Conn(ctx context.Context, node string) (*dist.Conn, error) {
	a.runMu.Lock()
	var pool *dist.Pool
	for _, run := range a.runs {
		for _, st := range run.pool.Status() {
			if st.Node == node {
				pool = run.pool
			}
		}
	}
	a.runMu.Unlock()
	if pool == nil {
		return nil, fmt.Errorf("node %s is not managed by this server", node)
	}
	return pool.Conn(ctx, node)
}

// Recorder holds the notifications (web.Model).
func (a *App) Recorder() *journal.Recorder { return a.notes }

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
	a.runMu.Lock()
	pools := map[string]*dist.Pool{}
	for name, run := range a.runs {
		pools[name] = run.pool
	}
	a.runMu.Unlock()
	var out []web.Node
	for cluster, pool := range pools {
		for _, st := range pool.Status() {
			n := web.Node{Cluster: cluster, Node: st.Node, State: st.State.String(), Since: st.Since}
			if st.Err != nil {
				n.LastError = st.Err.Error()
			}
			a.mu.Lock()
			if info := a.nodes[nodeKey{cluster, st.Node}]; info != nil {
				n.LastCollect, n.Series = info.lastCollect, info.series[true]
				n.Family, n.OTPRelease, n.UptimeSeconds = info.family, info.otpRelease, info.uptime
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
