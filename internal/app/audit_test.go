package app

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/audit"
	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/testnode"
	"github.com/beamctl/beamctl/internal/web"
)

// syslogSink collects the datagrams of a syslog UDP export.
type syslogSink struct {
	mu   sync.Mutex
	msgs []string
}

func startSyslogSink(t *testing.T) (*syslogSink, string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	s := &syslogSink{}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, string(buf[:n]))
			s.mu.Unlock()
		}
	}()
	return s, pc.LocalAddr().String()
}

func (s *syslogSink) has(parts ...string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.msgs {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(m, p)
		}
		if all {
			return true
		}
	}
	return false
}

// TestAuditServerActions: the server records its own node-changing actions
// (loading beamctl_agent on a node it connects to, applying a
// configuration) and the API's (through webAuditor), before and after,
// reads them back newest first with the log's head, sends them to the
// export targets as kind "audit", and prunes them with a checkpoint.
func TestAuditServerActions(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	sink, addr := startSyslogSink(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "beamctl.yml")
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(`
global: {collect_interval: 1s, collect_timeout: 1s, discover_interval: 300ms}
clusters:
  - name: r
    cookie: %s
    nodes: [%s]
    notifications: {shell_commands: false, system_monitor: off}
exports:
  - {format: syslog, protocol: udp, address: %q}
`, n.Cookie, n.Name, addr)), 0o600))
	cfg, err := config.Load(file)
	require.NoError(t, err)
	storage := t.TempDir()
	srv, err := New(Options{Config: cfg, ConfigFile: file, StoragePath: storage, Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	require.NoError(t, srv.Start(context.Background()))
	path := filepath.Join(storage, "audit", "audit.log")

	// The agent loaded on the node by the collection: started, then ok.
	var recs []audit.Record
	require.Eventually(t, func() bool {
		recs, err = audit.Read(path, audit.Filter{Action: "agent.load"})
		require.NoError(t, err)
		return len(recs) >= 2
	}, 20*time.Second, 50*time.Millisecond)
	done, start := recs[0], recs[1]
	require.Equal(t, audit.Started, start.Outcome)
	require.Equal(t, n.Name, start.Node)
	require.Equal(t, serverWho, start.Who)
	require.Equal(t, map[string]string{"cluster": "r", "module": "beamctl_agent"}, start.Args)
	require.Equal(t, audit.OK, done.Outcome)
	require.Equal(t, "loaded", done.Note)
	require.Equal(t, start.Seq, done.Ref)

	// A reload: started, then ok.
	require.NoError(t, srv.ReloadFile())
	recs, err = audit.Read(path, audit.Filter{Action: "reload"})
	require.NoError(t, err)
	require.Len(t, recs, 2)
	require.Equal(t, audit.OK, recs[0].Outcome)
	require.Equal(t, map[string]string{"clusters": "r", "config_file": file}, recs[1].Args)

	// An API action through the web.Auditor, with the caller's identity.
	var aud web.Auditor = srv.webAuditor()
	end, err := aud.Begin(context.Background(), web.AuditAction{Who: "alice", Role: "admin", From: "10.0.0.7:5123",
		Action: "alarm.clear", Node: n.Name, Args: map[string]string{"id": "node_down/" + n.Name}})
	require.NoError(t, err)
	end(fmt.Errorf("no such alarm"))
	v, err := aud.Records(context.Background(), web.AuditFilter{Who: "alice"})
	require.NoError(t, err)
	page, ok := v.(audit.Page)
	require.True(t, ok, "%T", v)
	require.Len(t, page.Records, 2)
	require.Equal(t, "error: no such alarm", page.Records[0].Outcome)
	require.Equal(t, "10.0.0.7:5123", page.Records[1].From)
	require.Equal(t, "admin", page.Records[1].Role)
	require.Equal(t, page.Records[0].Seq, page.Head.Seq, "alice's outcome is the newest record")
	require.Equal(t, page.Records[0].Hash, page.Head.Hash)

	// Every record reached the export target, seq and hash included.
	require.Eventually(t, func() bool {
		return sink.has(" audit [", `action="agent.load"`, `outcome="started"`, `node="`+n.Name+`"`) &&
			sink.has(`action="alarm.clear"`, `who="alice"`, `hash="`+page.Head.Hash+`"`)
	}, 10*time.Second, 50*time.Millisecond)

	// Not in the notifications, which viewers read.
	require.Empty(t, notes(t, "http://"+srv.Addr(), url.Values{"kind": {"audit"}}))
	require.Empty(t, notes(t, "http://"+srv.Addr(), url.Values{"grep": {"alice"}}))

	_, err = audit.Verify(path)
	require.NoError(t, err)
	require.NoError(t, srv.Stop())

	// Restarted with a retention shorter than the records' age: they are
	// pruned at Start, a checkpoint says so, and the chain verifies.
	time.Sleep(time.Millisecond) // not a wait: srv's records are now older than the retention
	srv2, err := New(Options{Config: cfg, StoragePath: storage, Listen: "127.0.0.1:0", AuditRetention: time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv2.Stop() })
	require.NoError(t, srv2.Start(context.Background()))
	var rep audit.Report
	require.Eventually(t, func() bool { // the checkpoint is written first, then the file replaced
		rep, err = audit.Verify(path, page.Head)
		require.NoError(t, err)
		return rep.Pruned > 0
	}, 10*time.Second, 50*time.Millisecond)
	require.GreaterOrEqual(t, rep.Pruned, page.Head.Seq)
	recs, err = audit.Read(path, audit.Filter{Action: audit.CheckpointAction})
	require.NoError(t, err)
	require.Len(t, recs, 1)
	// srv2's own first records may be old enough too on a slow machine.
	cp := recs[0]
	require.GreaterOrEqual(t, cp.PrunedThrough, page.Head.Seq)
	if cp.PrunedThrough == page.Head.Seq {
		require.Equal(t, page.Head.Hash, cp.PrunedHash)
	}
	require.Equal(t, map[string]string{"retention": "1ms"}, cp.Args)
}
