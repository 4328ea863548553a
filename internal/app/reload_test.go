package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/capture"
	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/testnode"
)

// upSince is when srv connected to node, zero if it is not up.
func upSince(srv *App, node string) time.Time {
	for _, n := range srv.Nodes() {
		if n.Node == node && n.State == "up" {
			return n.Since
		}
	}
	return time.Time{}
}

// TestReloadAtomic reloads a configuration whose TLS files pass the
// configuration's check (they exist) but are no certificate: the reload
// fails and changes nothing: both clusters keep running, with their
// connections, and the new alarm rule is not installed.
func TestReloadAtomic(t *testing.T) {
	a := testnode.Start(t, testnode.Options{})
	b := testnode.Start(t, testnode.Options{})
	dir := t.TempDir()
	// The configuration names valid TLS files, which pass its check; the
	// certificate is then replaced by one that is none (a rotation that
	// wrote a broken file), which only building the cluster's pool finds.
	tf := testnode.MakeTLS(t)
	bogus := filepath.Join(dir, "client.pem")
	copyFile(t, tf.ClientCert, bogus)
	conf := func(extra string) *config.Config {
		cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 300ms, collect_timeout: 300ms, discover_interval: 300ms}
clusters:
%s  - name: first
    cookie: %s
    nodes: [%s]
  - name: second
    cookie: %s
    nodes: [%s]
alarms:
  rules:
    - {name: from_bad_reload, expr: "beamctl_node_up == 1", severity: major}
`, extra, a.Cookie, a.Name, b.Cookie, b.Name)), dir)
		require.NoError(t, err)
		return cfg
	}
	good := conf("")
	good.Alarms.Rules = nil
	srv := startApp(t, good, t.TempDir())
	defer srv.Stop()
	require.Eventually(t, func() bool { return !upSince(srv, a.Name).IsZero() && !upSince(srv, b.Name).IsZero() },
		20*time.Second, 50*time.Millisecond)
	sinceA, sinceB := upSince(srv, a.Name), upSince(srv, b.Name)

	bad := conf(fmt.Sprintf(`  - name: tls
    cookie: c
    nodes: [x@localhost]
    tls: {cert_file: %[1]s, key_file: %[2]s, ca_file: %[3]s}
`, bogus, tf.ClientKey, tf.CACert))
	breakPEM(t, bogus)
	err := srv.Reload(bad)
	require.ErrorContains(t, err, `cluster "tls": tls: load certificate `+bogus)

	require.Equal(t, sinceA, upSince(srv, a.Name), "first kept its connection")
	require.Equal(t, sinceB, upSince(srv, b.Name), "second kept its connection")
	srv.runMu.Lock()
	require.Len(t, srv.runs, 2)
	require.Same(t, good, srv.cfg)
	srv.runMu.Unlock()
	srv.alarms.Evaluate(context.Background(), time.Now())
	for _, x := range srv.alarms.Active() {
		require.NotEqual(t, "from_bad_reload", x.Rule, "the failed reload's rule was installed")
	}

	// The same configuration without the bad cluster applies.
	require.NoError(t, srv.Reload(conf("")))
	require.Equal(t, sinceA, upSince(srv, a.Name))
	srv.alarms.Evaluate(context.Background(), time.Now())
	require.Eventually(t, func() bool {
		srv.alarms.Evaluate(context.Background(), time.Now())
		for _, x := range srv.alarms.Active() {
			if x.Rule == "from_bad_reload" {
				return true
			}
		}
		return false
	}, 10*time.Second, 100*time.Millisecond)
}

// captureState is what beamctl's capture has installed on a node: its
// logger handler (handler), the shell tracer, the system_monitor.
type captureState struct {
	logs, shells, sysmon bool
}

func capturedOn(t *testing.T, c *dist.Conn, handler etf.Atom) captureState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var st captureState
	ids, err := c.Call(ctx, "logger", "get_handler_ids")
	require.NoError(t, err)
	l, err := etf.ToList(ids)
	require.NoError(t, err)
	for _, id := range l {
		if id == handler {
			st.logs = true
		}
	}
	tr, err := c.Call(ctx, "erlang", "whereis", etf.Atom(capture.ShellTracerName))
	require.NoError(t, err)
	st.shells = tr != etf.Atom("undefined")
	sm, err := c.Call(ctx, "erlang", "system_monitor")
	require.NoError(t, err)
	st.sysmon = sm != etf.Atom("undefined")
	return st
}

// TestReloadCapture turns shell capture, log forwarding and the system
// monitor off by a reload: all three are taken away from the node (and the
// monitor's series end, as do those of a collector turned off), and put
// back by the next reload.
func TestReloadCapture(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	c := dialNode(t, n)
	conf := func(notifications string) *config.Config {
		cfg, err := config.Parse([]byte(fmt.Sprintf(`
global: {collect_interval: 300ms, collect_timeout: 300ms, discover_interval: 300ms}
clusters:
  - name: r
    cookie: %s
    nodes: [%s]
    notifications: %s
`, n.Cookie, n.Name, notifications)), t.TempDir())
		require.NoError(t, err)
		return cfg
	}
	on := "{log_level: warning, shell_commands: true, system_monitor: count}"
	off := "{log_level: none, shell_commands: false, system_monitor: off}\n    collectors: {ets: false}"
	srv := startApp(t, conf(on), t.TempDir())
	defer srv.Stop()
	var handler etf.Atom
	require.Eventually(t, func() bool {
		conn, err := srv.Conn(context.Background(), n.Name)
		if err == nil {
			handler = capture.HandlerID(conn.Self())
		}
		return err == nil
	}, 20*time.Second, 50*time.Millisecond)
	capturedOn := func(t *testing.T, c *dist.Conn) captureState { return capturedOn(t, c, handler) }
	all := captureState{logs: true, shells: true, sysmon: true}
	require.Eventually(t, func() bool { return capturedOn(t, c) == all }, 20*time.Second, 100*time.Millisecond)
	since := upSince(srv, n.Name)
	seriesOf := func(metric string) int {
		r, err := srv.Query(context.Background(), fmt.Sprintf(`%s{node=%q}`, metric, n.Name))
		require.NoError(t, err)
		return len(r.Series)
	}
	sysmonSeries := func() int { return seriesOf("erlang_vm_system_monitor_events_total") }
	etsSeries := func() int { return seriesOf("erlang_vm_ets_table_size") }
	require.Eventually(t, func() bool { return sysmonSeries() > 0 && etsSeries() > 0 }, 20*time.Second, 100*time.Millisecond)

	require.NoError(t, srv.Reload(conf(off)))
	var last captureState
	require.Eventually(t, func() bool { last = capturedOn(t, c); return last == captureState{} }, 20*time.Second, 100*time.Millisecond,
		"capture turned off by the reload: %+v", &last)
	require.Equal(t, since, upSince(srv, n.Name), "the connection is kept")
	require.Eventually(t, func() bool { return sysmonSeries() == 0 }, 20*time.Second, 100*time.Millisecond,
		"the system monitor's series end")
	require.Eventually(t, func() bool { return etsSeries() == 0 }, 20*time.Second, 100*time.Millisecond,
		"the series of the collector turned off end")

	require.NoError(t, srv.Reload(conf(on)))
	require.Eventually(t, func() bool { return capturedOn(t, c) == all }, 20*time.Second, 100*time.Millisecond)
}

// TestStartBadTLS starts with a TLS file that is no certificate: Start
// fails before it listens or runs anything.
func TestStartBadTLS(t *testing.T) {
	dir := t.TempDir()
	tf := testnode.MakeTLS(t)
	bogus := filepath.Join(dir, "client.pem")
	copyFile(t, tf.ClientCert, bogus)
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
clusters:
  - name: tls
    cookie: c
    nodes: [x@localhost]
    tls: {cert_file: %[1]s, key_file: %[2]s, ca_file: %[3]s}
`, bogus, tf.ClientKey, tf.CACert)), dir)
	require.NoError(t, err)
	breakPEM(t, bogus)
	srv, err := New(Options{Config: cfg, StoragePath: t.TempDir(), Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	require.ErrorContains(t, srv.Start(context.Background()), `cluster "tls": tls: load certificate `+bogus)
	require.Nil(t, srv.ln, "nothing listens")
	require.Empty(t, srv.runs)
	require.NoError(t, srv.Stop())
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, 0o600))
}

// breakPEM replaces a certificate file by a PEM block that is no
// certificate.
func breakPEM(t *testing.T, path string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"), 0o600))
}
