package app

import (
	"context"
	"maps"
	"path/filepath"

	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/web"
)

// webModel is the App as the HTTP API sees it (web.Model): the
// connections, notifications and alarms behind web's narrow interfaces.
type webModel struct{ *App }

// Conn returns the live connection to a managed node (a name no cluster
// knows is refused without dialling: App.Conn). On a node whose cluster says
// agent: false, the tools get it WithoutAgent: top scans with erl_eval and
// the tools that need beamctl_agent fail, instead of loading it.
func (m webModel) Conn(ctx context.Context, node string) (inspect.Conn, error) {
	c, err := m.App.Conn(ctx, node)
	if err != nil {
		return nil, err // not a nil *dist.Conn in a non-nil interface
	}
	if !m.agentEnabled(node) {
		return inspect.WithoutAgent(c), nil
	}
	return c, nil
}

// agentEnabled reports whether the cluster of a managed node allows
// beamctl_agent (false for a node no cluster knows).
func (a *App) agentEnabled(node string) bool {
	a.runMu.Lock()
	defer a.runMu.Unlock()
	for _, run := range a.runs {
		for _, st := range run.pool.Status() {
			if st.Node == node {
				return run.cfg.AgentEnabled()
			}
		}
	}
	return false
}

// Notifications holds the notifications.
func (m webModel) Notifications() web.Notifications { return webNotifications{m.Recorder()} }

// Alarms is the alarm engine.
func (m webModel) Alarms() web.Alarms { return m.App.Alarms() }

// webNotifications reads the recorder's store and subscribes to it.
type webNotifications struct{ *journal.Recorder }

func (n webNotifications) Query(ctx context.Context, f journal.Filter) ([]journal.Notification, error) {
	return n.Store().Query(ctx, f)
}

// CrashDumpDir is where fetchCrashDump stores the crash dumps.
func (m webModel) CrashDumpDir() string { return filepath.Join(m.opts.StoragePath, "crashdumps") }

// NodeCode is what the server last read of a node's code: the code
// poll's module snapshot, and the applications and release of the last
// collection (web.Model).
func (m webModel) NodeCode(ctx context.Context, cluster, node string) (web.NodeCode, error) {
	var c web.NodeCode
	if _, err := m.notes.Store().LoadSnapshot(ctx, cluster, node, "modules", &c.Modules); err != nil {
		return c, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if info := m.nodes[nodeKey{cluster, node}]; info != nil {
		c.Apps, c.Release = maps.Clone(info.apps), info.release
	}
	return c, nil
}

// uiConfig is the web: block's settings for the web UI, as now (after
// any reload).
func (a *App) uiConfig() web.UIConfig {
	a.runMu.Lock()
	defer a.runMu.Unlock()
	return web.UIConfig{GrafanaURL: a.cfg.Web.GrafanaURL, GrafanaDatasource: a.cfg.Web.GrafanaDatasource}
}
