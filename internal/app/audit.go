package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/common/model"

	"github.com/beamctl/beamctl/internal/audit"
	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/export"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/web"
)

// serverWho is the identity of the actions the server takes by itself
// (loading its agent, applying a configuration, pruning the audit log).
const serverWho = "beamctl serve"

// auditRetentionInterval is how often old audit records are pruned.
const auditRetentionInterval = time.Hour

// auditTrail is the server's audit log, <storage.path>/audit/audit.log,
// and the export targets' feeds of its records. It is separate from the
// notifications: viewers read those; the audit log is for admins.
type auditTrail struct {
	log *audit.Log

	mu      sync.Mutex
	subs    map[chan audit.Record]struct{}
	dropped atomic.Uint64 // records a slow export feed missed
}

func (a *App) openAudit() (*auditTrail, error) {
	t := &auditTrail{subs: map[chan audit.Record]struct{}{}}
	l, err := audit.Open(filepath.Join(a.opts.StoragePath, "audit", "audit.log"), audit.Options{OnAppend: t.publish})
	if err != nil {
		return nil, err
	}
	t.log = l
	return t, nil
}

func (t *auditTrail) close() error { return t.log.Close() }

// publish hands a record to every export feed without blocking.
func (t *auditTrail) publish(r audit.Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for ch := range t.subs {
		select {
		case ch <- r:
		default:
			t.dropped.Add(1)
		}
	}
}

func (t *auditTrail) subscribe(buf int) (<-chan audit.Record, func()) {
	ch := make(chan audit.Record, buf)
	t.mu.Lock()
	t.subs[ch] = struct{}{}
	t.mu.Unlock()
	return ch, func() {
		t.mu.Lock()
		delete(t.subs, ch)
		t.mu.Unlock()
	}
}

// auditBegin records an action the server takes by itself; when it fails
// the action must not run.
func (a *App) auditBegin(action, node string, args map[string]string) (end func(err error, note string), err error) {
	done, err := a.audit.log.Begin(audit.Action{Who: serverWho, Action: action, Node: node, Args: args})
	if err != nil {
		return nil, fmt.Errorf("write the audit log (nothing was done): %w", err)
	}
	return func(err error, note string) {
		if werr := done(err, note); werr != nil {
			a.log.Error("Cannot write an outcome to the audit log", "action", action, "node", node, "err", werr)
		}
	}, nil
}

// auditReload is the hook of Reload: it records the configuration applied.
func (a *App) auditReload(cfg *config.Config) (end func(err error), err error) {
	names := make([]string, 0, len(cfg.Clusters))
	for _, c := range cfg.Clusters {
		names = append(names, c.Name)
	}
	args := map[string]string{"clusters": strings.Join(names, ",")}
	if a.opts.ConfigFile != "" {
		args["config_file"] = a.opts.ConfigFile
	}
	done, err := a.auditBegin("reload", "", args)
	if err != nil {
		return nil, err
	}
	return func(err error) { done(err, "") }, nil
}

// auditAgentLoad is the hook of ensureAgent: when the agent may be loaded
// on conn (the first attempt on a connection, or a retry), it records the
// attempt; afterwards (the agent is known to be there) it records nothing.
func (a *App) auditAgentLoad(l *agentLoader, conn *dist.Conn, cluster string) (end func(loaded bool, err error), err error) {
	if l.ok && l.conn == conn {
		return func(bool, error) {}, nil
	}
	done, err := a.auditBegin("agent.load", conn.Node(), map[string]string{"cluster": cluster, "module": "beamctl_agent"})
	if err != nil {
		return nil, err
	}
	return func(loaded bool, err error) {
		note := "already loaded"
		if loaded {
			note = "loaded"
		}
		if err != nil {
			note = ""
		}
		l.ok = err == nil
		done(err, note)
	}, nil
}

// startAuditRetention prunes audit records older than the retention, at
// Start and then every auditRetentionInterval, each pruning leaving a
// checkpoint record.
func (a *App) startAuditRetention() {
	keep := a.opts.AuditRetention
	if keep <= 0 {
		return
	}
	a.auditDone = make(chan struct{})
	go func() {
		defer close(a.auditDone)
		tick := time.NewTicker(auditRetentionInterval)
		defer tick.Stop()
		for {
			a.pruneAudit(time.Now(), keep)
			select {
			case <-a.rootCtx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

func (a *App) pruneAudit(now time.Time, keep time.Duration) {
	cp, err := a.audit.log.Prune(now.Add(-keep), serverWho,
		map[string]string{"retention": model.Duration(keep).String()})
	switch {
	case err != nil:
		a.log.Error("Cannot prune the audit log", "err", err)
	case cp.Pruned > 0:
		a.log.Info("Pruned the audit log", "records", cp.Pruned, "through_seq", cp.PrunedThrough, "checkpoint_seq", cp.Seq)
	}
}

// webAuditor is the audit trail as the HTTP API sees it.
func (a *App) webAuditor() web.Auditor { return webAudit{a} }

type webAudit struct{ a *App }

// Begin records an API action (its identity is the authenticated one)
// before it runs.
func (w webAudit) Begin(_ context.Context, act web.AuditAction) (func(error), error) {
	if w.a.audit == nil {
		return nil, errors.New("no audit log")
	}
	done, err := w.a.audit.log.Begin(audit.Action{Who: act.Who, Role: act.Role, From: act.From, Action: act.Action,
		Node: act.Node, Args: act.Args})
	if err != nil {
		return nil, fmt.Errorf("write the audit log (nothing was done): %w", err)
	}
	return func(err error) {
		if werr := done(err, ""); werr != nil {
			w.a.log.Error("Cannot write an outcome to the audit log", "action", act.Action, "who", act.Who, "err", werr)
		}
	}, nil
}

// Records returns an audit.Page: the records f selects, newest first, and
// the log's head (seq and hash) to keep as an anchor.
func (w webAudit) Records(_ context.Context, f web.AuditFilter) (any, error) {
	path := w.a.audit.log.Path()
	recs, err := audit.Read(path, audit.Filter{Since: f.Since, Until: f.Until, Who: f.Who, Action: f.Action, Node: f.Node, Limit: f.Limit})
	if err != nil {
		return nil, err
	}
	head, _, err := audit.ReadHead(path)
	if err != nil {
		return nil, err
	}
	return audit.Page{Head: head, Records: recs}, nil
}

// runExport feeds an export target the notifications and the audit
// records (kind "audit"), until ctx ends.
func (a *App) runExport(ctx context.Context, t *export.Target, logger *slog.Logger) {
	notes, cancel := a.notes.Subscribe(journal.Filter{}, 10000)
	defer cancel()
	recs, unsubscribe := a.audit.subscribe(10000)
	defer unsubscribe()
	merged := make(chan journal.Notification)
	go func() {
		defer close(merged)
		for {
			var n journal.Notification
			select {
			case <-ctx.Done():
				return
			case x, ok := <-notes:
				if !ok {
					return
				}
				n = x
			case r := <-recs:
				n = auditNotification(r)
			}
			select {
			case <-ctx.Done():
				return
			case merged <- n:
			}
		}
	}()
	t.Feed(ctx, merged, logger)
}

// auditNotification is an audit record as the export targets send it:
// kind "audit", severity info, its fields (seq and hash included, so the
// receiver holds anchors for beamctl audit verify --anchor) and its
// arguments as arg_<name>.
func auditNotification(r audit.Record) journal.Notification {
	f := map[string]string{"seq": strconv.FormatInt(r.Seq, 10), "hash": r.Hash, "prev": r.Prev, "who": r.Who,
		"action": r.Action, "outcome": r.Outcome}
	for k, v := range map[string]string{"role": r.Role, "from": r.From, "note": r.Note} {
		if v != "" {
			f[k] = v
		}
	}
	if r.Ref != 0 {
		f["ref"] = strconv.FormatInt(r.Ref, 10)
	}
	if r.Pruned != 0 {
		f["pruned"], f["pruned_through"] = strconv.FormatInt(r.Pruned, 10), strconv.FormatInt(r.PrunedThrough, 10)
	}
	for k, v := range r.Args {
		f["arg_"+k] = v
	}
	text := fmt.Sprintf("%s: %s", r.Who, r.Action)
	if r.Node != "" {
		text += " on " + r.Node
	}
	text += ": " + r.Outcome
	if r.Ref != 0 {
		text += fmt.Sprintf(" (seq %d)", r.Ref)
	}
	return journal.Notification{Time: r.Time, Node: r.Node, Kind: "audit", Severity: journal.Info, Text: text, Fields: f}
}
