package journal

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"

	_ "modernc.org/sqlite" // the pure Go SQLite driver, registered as "sqlite"
)

// Options bound the store.
type Options struct {
	// MaxAge drops notifications older than this (default 90 days).
	MaxAge time.Duration
	// MaxBytes bounds the database file (0: no bound); the oldest
	// notifications go first.
	MaxBytes int64
}

// Store is an open notification database. It is safe for concurrent use.
type Store struct {
	db   *sql.DB
	path string
	opts Options

	// snaps caches each snapshot's JSON as stored: the alarm engine reads
	// every node's snapshots at every evaluation, and a query per node to
	// SQLite made one evaluation take seconds at thousands of nodes. A
	// few KiB per node (the modules snapshot is the largest); the store
	// has the only writer, so the cache cannot go stale.
	snapMu sync.RWMutex
	snaps  map[snapKey][]byte // nil data: known absent
}

type snapKey struct{ cluster, node, name string }

const schema = `
CREATE TABLE IF NOT EXISTS notifications (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	time INTEGER NOT NULL,
	cluster TEXT NOT NULL,
	node TEXT NOT NULL,
	kind TEXT NOT NULL,
	severity TEXT NOT NULL,
	text TEXT NOT NULL,
	fields TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notifications_time ON notifications(time);
CREATE INDEX IF NOT EXISTS notifications_node ON notifications(node, time);
CREATE VIRTUAL TABLE IF NOT EXISTS notifications_fts USING fts5(text, fields, content='notifications', content_rowid='id');
CREATE TRIGGER IF NOT EXISTS notifications_ai AFTER INSERT ON notifications BEGIN
	INSERT INTO notifications_fts(rowid, text, fields) VALUES (new.id, new.text, new.fields);
END;
CREATE TRIGGER IF NOT EXISTS notifications_ad AFTER DELETE ON notifications BEGIN
	INSERT INTO notifications_fts(notifications_fts, rowid, text, fields) VALUES ('delete', old.id, old.text, old.fields);
END;
CREATE TABLE IF NOT EXISTS snapshots (
	cluster TEXT NOT NULL,
	node TEXT NOT NULL,
	name TEXT NOT NULL,
	data TEXT NOT NULL,
	PRIMARY KEY (cluster, node, name)
);
`

// Open opens (creating if needed) the database notifications.db in dir.
// It runs in WAL mode with synchronous=NORMAL: a notification Add returned
// for survives beamctl being killed (not a power loss).
func Open(dir string, o Options) (*Store, error) {
	if o.MaxAge == 0 {
		o.MaxAge = 90 * 24 * time.Hour
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	path := filepath.Join(dir, "notifications.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, fmt.Errorf("notifications: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // one writer; SQLite serialises anyway
	if _, err := db.Exec(schema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("notifications: create schema in %s: %w", path, err)
	}
	return &Store{db: db, path: path, opts: o}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Add stores notifications in one transaction and sets their IDs. When it
// returns nil they are on disk.
func (s *Store) Add(ctx context.Context, ns []Notification) error {
	if len(ns) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("notifications: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO notifications(time, cluster, node, kind, severity, text, fields) VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("notifications: prepare: %w", err)
	}
	defer stmt.Close()
	for i := range ns {
		n := &ns[i]
		if n.Time.IsZero() {
			n.Time = time.Now()
		}
		fields, _ := json.Marshal(n.Fields) // map[string]string always marshals
		r, err := stmt.ExecContext(ctx, n.Time.UnixMicro(), n.Cluster, n.Node, n.Kind, n.Severity, n.Text, string(fields))
		if err != nil {
			return fmt.Errorf("notifications: insert: %w", err)
		}
		if n.ID, err = r.LastInsertId(); err != nil {
			return fmt.Errorf("notifications: insert: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("notifications: commit: %w", err)
	}
	return nil
}

// Query returns the notifications the filter selects, newest first.
func (s *Store) Query(ctx context.Context, f Filter) ([]Notification, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.Cluster != "" {
		add("n.cluster = ?", f.Cluster)
	}
	if f.Node != "" {
		add("n.node = ?", f.Node)
	}
	if f.Kind != "" {
		add("n.kind = ?", f.Kind)
	}
	if !f.Since.IsZero() {
		add("n.time >= ?", f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		add("n.time <= ?", f.Until.UnixMicro())
	}
	if f.AfterID > 0 {
		add("n.id > ?", f.AfterID)
	}
	if q := ftsQuery(f.Grep); q != "" {
		add("n.id IN (SELECT rowid FROM notifications_fts WHERE notifications_fts MATCH ?)", q)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	q := "SELECT n.id, n.time, n.cluster, n.node, n.kind, n.severity, n.text, n.fields FROM notifications n"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY n.id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("notifications: query: %w", err)
	}
	defer rows.Close()
	out := []Notification{}
	for rows.Next() {
		var n Notification
		var t int64
		var fields string
		if err := rows.Scan(&n.ID, &t, &n.Cluster, &n.Node, &n.Kind, &n.Severity, &n.Text, &fields); err != nil {
			return nil, fmt.Errorf("notifications: scan: %w", err)
		}
		n.Time = time.UnixMicro(t)
		if fields != "" && fields != "null" {
			if err := json.Unmarshal([]byte(fields), &n.Fields); err != nil {
				return nil, fmt.Errorf("notifications: fields of %d: %w", n.ID, err)
			}
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// ftsQuery turns words into an FTS5 query in which every word must occur
// (each quoted, so that FTS operators in user text are plain text).
func ftsQuery(grep string) string {
	var terms []string
	// SQLite ends an FTS query string at a NUL; invalid UTF-8 is no word.
	grep = strings.ReplaceAll(strings.ToValidUTF8(grep, " "), "\x00", " ")
	for _, w := range strings.Fields(grep) {
		if !strings.ContainsFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
			continue // punctuation only: the tokenizer keeps nothing of it
		}
		terms = append(terms, `"`+strings.ReplaceAll(w, `"`, `""`)+`"`)
	}
	return strings.Join(terms, " AND ")
}

// Prune applies retention: notifications older than MaxAge go, then the
// oldest ones until the database is below MaxBytes. It records what it
// dropped as a notification of kind retention, and returns the count.
func (s *Store) Prune(ctx context.Context, now time.Time) (int64, error) {
	r, err := s.db.ExecContext(ctx, "DELETE FROM notifications WHERE time < ? AND kind != 'retention'", now.Add(-s.opts.MaxAge).UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("notifications: prune by age: %w", err)
	}
	byAge, _ := r.RowsAffected()
	var bySize int64
	for s.opts.MaxBytes > 0 {
		size, err := s.size(ctx)
		if err != nil {
			return byAge + bySize, err
		}
		if size <= s.opts.MaxBytes {
			break
		}
		// The oldest tenth (at least 100 rows), then measure again.
		r, err := s.db.ExecContext(ctx, `DELETE FROM notifications WHERE id IN
			(SELECT id FROM notifications ORDER BY id LIMIT max(100, (SELECT count(*) FROM notifications) / 10))`)
		if err != nil {
			return byAge + bySize, fmt.Errorf("notifications: prune by size: %w", err)
		}
		n, _ := r.RowsAffected()
		if n == 0 {
			break
		}
		bySize += n
		// FTS5 keeps deleted rows in its index until it merges it.
		if _, err := s.db.ExecContext(ctx, "INSERT INTO notifications_fts(notifications_fts) VALUES('optimize')"); err != nil {
			return byAge + bySize, fmt.Errorf("notifications: optimize the index: %w", err)
		}
		if _, err := s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			return byAge + bySize, fmt.Errorf("notifications: checkpoint: %w", err)
		}
		if _, err := s.db.ExecContext(ctx, "VACUUM"); err != nil {
			return byAge + bySize, fmt.Errorf("notifications: vacuum: %w", err)
		}
	}
	if byAge+bySize == 0 {
		return 0, nil
	}
	text := fmt.Sprintf("Retention dropped %d notifications (%d older than %s, %d over the size limit of %d bytes).",
		byAge+bySize, byAge, s.opts.MaxAge, bySize, s.opts.MaxBytes)
	err = s.Add(ctx, []Notification{{Time: now, Kind: "retention", Severity: Info, Text: text,
		Fields: map[string]string{"dropped": fmt.Sprint(byAge + bySize), "by_age": fmt.Sprint(byAge), "by_size": fmt.Sprint(bySize)}}})
	return byAge + bySize, err
}

// size is the database's size in bytes (pages in use, WAL excluded).
func (s *Store) size(ctx context.Context) (int64, error) {
	var pages, pageSize int64
	if err := s.db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		return 0, fmt.Errorf("notifications: page_count: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
		return 0, fmt.Errorf("notifications: page_size: %w", err)
	}
	return pages * pageSize, nil
}

// SaveSnapshot keeps a named state of a node (e.g. its loaded modules'
// md5s), so that changes made while beamctl was not watching are found.
func (s *Store) SaveSnapshot(ctx context.Context, cluster, node, name string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("notifications: snapshot %s of %s: %w", name, node, err)
	}
	k := snapKey{cluster, node, name}
	s.snapMu.Lock() // held across the write, so that a load cannot cache an older value
	defer s.snapMu.Unlock()
	if prev, ok := s.snaps[k]; ok && prev != nil && bytes.Equal(prev, b) {
		return nil // unchanged (most code polls): no write
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO snapshots(cluster, node, name, data) VALUES (?, ?, ?, ?)
		ON CONFLICT(cluster, node, name) DO UPDATE SET data = excluded.data`, cluster, node, name, string(b))
	if err != nil {
		delete(s.snaps, k) // unknown now: read it again
		return fmt.Errorf("notifications: snapshot %s of %s: %w", name, node, err)
	}
	if s.snaps == nil {
		s.snaps = map[snapKey][]byte{}
	}
	s.snaps[k] = b
	return nil
}

// LoadSnapshot reads a snapshot into data; found is false if there is none.
func (s *Store) LoadSnapshot(ctx context.Context, cluster, node, name string, data any) (found bool, err error) {
	b, err := s.Snapshot(ctx, cluster, node, name)
	if err != nil || b == nil {
		return false, err
	}
	if err := json.Unmarshal(b, data); err != nil {
		return false, fmt.Errorf("notifications: snapshot %s of %s: %w", name, node, err)
	}
	return true, nil
}

// Snapshot returns a snapshot's JSON as stored, nil if there is none. The
// bytes are shared: the caller must not change them.
func (s *Store) Snapshot(ctx context.Context, cluster, node, name string) (b []byte, err error) {
	k := snapKey{cluster, node, name}
	s.snapMu.RLock()
	b, cached := s.snaps[k]
	s.snapMu.RUnlock()
	if !cached {
		s.snapMu.Lock()
		if b, cached = s.snaps[k]; !cached {
			var text string
			err = s.db.QueryRowContext(ctx, "SELECT data FROM snapshots WHERE cluster = ? AND node = ? AND name = ?", cluster, node, name).Scan(&text)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				b, err = nil, nil
			case err != nil:
				s.snapMu.Unlock()
				return nil, fmt.Errorf("notifications: snapshot %s of %s: %w", name, node, err)
			default:
				b = []byte(text)
			}
			if s.snaps == nil {
				s.snaps = map[snapKey][]byte{}
			}
			s.snaps[k] = b
		}
		s.snapMu.Unlock()
	}
	return b, nil
}

// FailureKinds are the notifications that count as a node's failures: crash
// and supervisor reports, and log events at error or above.
var FailureKinds = []string{"crash_report", "supervisor_report"}

// CountFailures counts each node's failures (FailureKinds, and "log" at
// error or critical) in cluster from since to until, in one query. Nodes
// without any are absent from the map.
func (s *Store) CountFailures(ctx context.Context, cluster string, since, until time.Time) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT node, count(*) FROM notifications
		WHERE time >= ? AND time <= ? AND cluster = ?
		AND (kind IN (?, ?) OR (kind = 'log' AND severity IN ('error', 'critical')))
		GROUP BY node`, since.UnixMicro(), until.UnixMicro(), cluster, FailureKinds[0], FailureKinds[1])
	if err != nil {
		return nil, fmt.Errorf("notifications: count failures: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var node string
		var n int
		if err := rows.Scan(&node, &n); err != nil {
			return nil, fmt.Errorf("notifications: count failures: %w", err)
		}
		out[node] = n
	}
	return out, rows.Err()
}
