package alarm

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	_ "modernc.org/sqlite" // the pure Go SQLite driver
)

// ErrNotFound means no alarm has the id.
var ErrNotFound = errors.New("no such alarm")

// db keeps alarms, their history and the pending for: timers.
type db struct{ db *sql.DB }

const schema = `
CREATE TABLE IF NOT EXISTS alarms (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	rule TEXT NOT NULL, cluster TEXT NOT NULL, node TEXT NOT NULL, subject TEXT NOT NULL,
	severity TEXT NOT NULL, active INTEGER NOT NULL,
	raised_at INTEGER NOT NULL, cleared_at INTEGER,
	value REAL NOT NULL, description TEXT NOT NULL, evidence TEXT NOT NULL,
	flapping INTEGER NOT NULL DEFAULT 0,
	acked_by TEXT NOT NULL DEFAULT '', acked_at INTEGER
);
CREATE INDEX IF NOT EXISTS alarms_active ON alarms(active);
CREATE TABLE IF NOT EXISTS alarm_events (
	alarm_id INTEGER NOT NULL, time INTEGER NOT NULL, kind TEXT NOT NULL, who TEXT NOT NULL, text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alarm_events_alarm ON alarm_events(alarm_id);
CREATE TABLE IF NOT EXISTS pending (
	rule TEXT NOT NULL, cluster TEXT NOT NULL, node TEXT NOT NULL, subject TEXT NOT NULL,
	since INTEGER NOT NULL,
	PRIMARY KEY (rule, cluster, node, subject)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
`

func openStore(dir string) (*db, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("alarms: %w", err)
	}
	path := filepath.Join(dir, "alarms.db")
	sqlDB, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, fmt.Errorf("alarms: open %s: %w", path, err)
	}
	sqlDB.SetMaxOpenConns(1)
	if _, err := sqlDB.Exec(schema); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("alarms: create schema in %s: %w", path, err)
	}
	for _, col := range []string{"labels", "annotations"} { // added after the first schema
		if _, err := sqlDB.Exec("ALTER TABLE alarms ADD COLUMN " + col + " TEXT NOT NULL DEFAULT '{}'"); err != nil &&
			!strings.Contains(err.Error(), "duplicate column") {
			_ = sqlDB.Close()
			return nil, fmt.Errorf("alarms: add column %s in %s: %w", col, path, err)
		}
	}
	return &db{db: sqlDB}, nil
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func optMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

// save inserts (ID 0) or updates an alarm, with events, in one transaction.
func (s *db) save(ctx context.Context, a *Alarm, events ...Event) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("alarms: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	ev, _ := json.Marshal(a.Evidence)
	lb, _ := json.Marshal(a.Labels)
	an, _ := json.Marshal(a.Annotations)
	if a.ID == 0 {
		r, err := tx.ExecContext(ctx, `INSERT INTO alarms(rule, cluster, node, subject, severity, active, raised_at, cleared_at, value,
			description, evidence, flapping, acked_by, acked_at, labels, annotations) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			a.Rule, a.Cluster, a.Node, a.Subject, a.Severity.String(), a.Active, micros(a.RaisedAt), optMicros(a.ClearedAt), a.Value,
			a.Description, string(ev), a.Flapping, a.AckedBy, optMicros(a.AckedAt), string(lb), string(an))
		if err != nil {
			return fmt.Errorf("alarms: insert: %w", err)
		}
		if a.ID, err = r.LastInsertId(); err != nil {
			return fmt.Errorf("alarms: insert: %w", err)
		}
	} else {
		_, err := tx.ExecContext(ctx, `UPDATE alarms SET severity=?, active=?, cleared_at=?, value=?, description=?, evidence=?,
			flapping=?, acked_by=?, acked_at=? WHERE id=?`,
			a.Severity.String(), a.Active, optMicros(a.ClearedAt), a.Value, a.Description, string(ev), a.Flapping, a.AckedBy,
			optMicros(a.AckedAt), a.ID)
		if err != nil {
			return fmt.Errorf("alarms: update %d: %w", a.ID, err)
		}
	}
	for _, e := range events {
		if _, err := tx.ExecContext(ctx, `INSERT INTO alarm_events(alarm_id, time, kind, who, text) VALUES (?,?,?,?,?)`,
			a.ID, micros(e.Time), e.Kind, e.Who, e.Text); err != nil {
			return fmt.Errorf("alarms: history of %d: %w", a.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("alarms: commit: %w", err)
	}
	return nil
}

// Filter selects alarms.
type Filter struct {
	ID            int64 // one alarm
	ActiveOnly    bool
	Cluster, Node string
	Rule          string
	// Severity selects the alarms at this severity (None: any).
	Severity Severity
	// Family selects the alarms of the nodes in FamilyNodes and the
	// family's own (those of no node whose subject is the family, or
	// starts with it and a space: a module or application differing).
	Family      string
	FamilyNodes []string
	Limit       int // default 1000, newest first
}

func (s *db) list(ctx context.Context, f Filter) ([]Alarm, error) {
	var where []string
	var args []any
	if f.ID != 0 {
		where = append(where, "id = ?")
		args = append(args, f.ID)
	}
	if f.ActiveOnly {
		where = append(where, "active = 1")
	}
	if f.Cluster != "" {
		where = append(where, "cluster = ?")
		args = append(args, f.Cluster)
	}
	if f.Node != "" {
		where = append(where, "node = ?")
		args = append(args, f.Node)
	}
	if f.Rule != "" {
		where = append(where, "rule = ?")
		args = append(args, f.Rule)
	}
	if f.Severity != None {
		where = append(where, "severity = ?")
		args = append(args, f.Severity.String())
	}
	if f.Family != "" {
		cond := "(node = '' AND (subject = ? OR substr(subject, 1, ?) = ?))"
		var fargs []any
		if len(f.FamilyNodes) > 0 {
			cond = "(node IN (" + strings.TrimSuffix(strings.Repeat("?,", len(f.FamilyNodes)), ",") + ") OR " + cond + ")"
			for _, n := range f.FamilyNodes {
				fargs = append(fargs, n)
			}
		}
		where = append(where, cond)
		args = append(args, fargs...)
		args = append(args, f.Family, utf8.RuneCountInString(f.Family)+1, f.Family+" ") // substr counts characters
	}
	q := `SELECT id, rule, cluster, node, subject, severity, active, raised_at, cleared_at, value, description, evidence, flapping,
		acked_by, acked_at, labels, annotations FROM alarms`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("alarms: list: %w", err)
	}
	defer rows.Close()
	out := []Alarm{}
	for rows.Next() {
		var a Alarm
		var sev, ev, lb, an string
		var raised int64
		var cleared, acked sql.NullInt64
		if err := rows.Scan(&a.ID, &a.Rule, &a.Cluster, &a.Node, &a.Subject, &sev, &a.Active, &raised, &cleared, &a.Value,
			&a.Description, &ev, &a.Flapping, &a.AckedBy, &acked, &lb, &an); err != nil {
			return nil, fmt.Errorf("alarms: scan: %w", err)
		}
		if err := a.Severity.Scan(sev); err != nil {
			return nil, fmt.Errorf("alarms: scan: %w", err)
		}
		a.RaisedAt = time.UnixMicro(raised)
		if cleared.Valid {
			t := time.UnixMicro(cleared.Int64)
			a.ClearedAt = &t
		}
		if acked.Valid {
			t := time.UnixMicro(acked.Int64)
			a.AckedAt = &t
		}
		_ = json.Unmarshal([]byte(ev), &a.Evidence)
		_ = json.Unmarshal([]byte(lb), &a.Labels)
		_ = json.Unmarshal([]byte(an), &a.Annotations)
		out = append(out, a)
	}
	return out, rows.Err()
}

func (s *db) get(ctx context.Context, id int64) (*Alarm, error) {
	as, err := s.list(ctx, Filter{ID: id, Limit: 1}) // one row, not a scan of every alarm
	if err != nil {
		return nil, err
	}
	for i := range as {
		a := &as[i]
		rows, err := s.db.QueryContext(ctx, "SELECT time, kind, who, text FROM alarm_events WHERE alarm_id = ? ORDER BY rowid", id)
		if err != nil {
			return nil, fmt.Errorf("alarms: history of %d: %w", id, err)
		}
		defer rows.Close()
		for rows.Next() {
			var e Event
			var t int64
			if err := rows.Scan(&t, &e.Kind, &e.Who, &e.Text); err != nil {
				return nil, fmt.Errorf("alarms: history of %d: %w", id, err)
			}
			e.Time = time.UnixMicro(t)
			a.History = append(a.History, e)
		}
		return a, rows.Err()
	}
	return nil, ErrNotFound
}

func (s *db) setPending(ctx context.Context, k Key, since time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO pending(rule, cluster, node, subject, since) VALUES (?,?,?,?,?)
		ON CONFLICT(rule, cluster, node, subject) DO UPDATE SET since = excluded.since`, k.Rule, k.Cluster, k.Node, k.Subject, micros(since))
	if err != nil {
		return fmt.Errorf("alarms: pending %s: %w", k, err)
	}
	return nil
}

func (s *db) deletePending(ctx context.Context, k Key) error {
	_, err := s.db.ExecContext(ctx, "DELETE FROM pending WHERE rule=? AND cluster=? AND node=? AND subject=?", k.Rule, k.Cluster, k.Node, k.Subject)
	if err != nil {
		return fmt.Errorf("alarms: pending %s: %w", k, err)
	}
	return nil
}

// setLastEvaluation records when the rules were last evaluated.
func (s *db) setLastEvaluation(ctx context.Context, t time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES ('last_evaluation', ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, micros(t))
	if err != nil {
		return fmt.Errorf("alarms: last evaluation: %w", err)
	}
	return nil
}

// lastEvaluation is when the rules were last evaluated (false: never, or
// by a version that did not record it).
func (s *db) lastEvaluation(ctx context.Context) (time.Time, bool, error) {
	var us int64
	err := s.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'last_evaluation'").Scan(&us)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("alarms: last evaluation: %w", err)
	}
	return time.UnixMicro(us), true, nil
}

// dropPending forgets every pending for: timer.
func (s *db) dropPending(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, "DELETE FROM pending"); err != nil {
		return fmt.Errorf("alarms: pending: %w", err)
	}
	return nil
}

func (s *db) pending(ctx context.Context) (map[Key]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT rule, cluster, node, subject, since FROM pending")
	if err != nil {
		return nil, fmt.Errorf("alarms: pending: %w", err)
	}
	defer rows.Close()
	out := map[Key]time.Time{}
	for rows.Next() {
		var k Key
		var since int64
		if err := rows.Scan(&k.Rule, &k.Cluster, &k.Node, &k.Subject, &since); err != nil {
			return nil, fmt.Errorf("alarms: pending: %w", err)
		}
		out[k] = time.UnixMicro(since)
	}
	return out, rows.Err()
}
