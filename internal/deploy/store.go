package deploy

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // the pure Go SQLite driver, registered as "sqlite"
)

// store keeps deploys, their modules and the code each node ran before, in
// SQLite (deploys.db, 0600: object code is the users' property). Each
// write is one transaction that survives kill -9.
type store struct {
	db *sql.DB
}

const schema = `
CREATE TABLE IF NOT EXISTS deploys (
	id TEXT PRIMARY KEY,
	cluster TEXT NOT NULL,
	state TEXT NOT NULL,
	created INTEGER NOT NULL,
	doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS modules (
	deploy TEXT NOT NULL,
	module TEXT NOT NULL,
	md5 TEXT NOT NULL,
	file TEXT NOT NULL,
	beam BLOB NOT NULL,
	PRIMARY KEY (deploy, module)
);
CREATE INDEX IF NOT EXISTS modules_md5 ON modules(md5);
CREATE TABLE IF NOT EXISTS backups (
	deploy TEXT NOT NULL,
	node TEXT NOT NULL,
	module TEXT NOT NULL,
	md5 TEXT NOT NULL,
	file TEXT NOT NULL,
	beam BLOB,
	PRIMARY KEY (deploy, node, module)
);
CREATE INDEX IF NOT EXISTS backups_md5 ON backups(md5);
`

func openStore(dir string) (*store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("deploys: %w", err)
	}
	path := filepath.Join(dir, "deploys.db")
	if f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600); err == nil {
		_ = f.Close()
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, fmt.Errorf("deploys: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("deploys: create schema in %s: %w", path, err)
	}
	return &store{db: db}, nil
}

func (s *store) close() error { return s.db.Close() }

// create stores a new deploy with its modules' object code.
func (s *store) create(ctx context.Context, d *Deploy, beams map[string][]byte) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("deploys: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	doc, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO deploys(id, cluster, state, created, doc) VALUES (?, ?, ?, ?, ?)",
		d.ID, d.Cluster, string(d.State), d.Created.UnixMicro(), string(doc)); err != nil {
		return fmt.Errorf("deploys: store %s: %w", d.ID, err)
	}
	for _, m := range d.Modules {
		if _, err := tx.ExecContext(ctx, "INSERT INTO modules(deploy, module, md5, file, beam) VALUES (?, ?, ?, ?, ?)",
			d.ID, m.Module, m.MD5, m.File, beams[m.Module]); err != nil {
			return fmt.Errorf("deploys: store module %s: %w", m.Module, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("deploys: store %s: %w", d.ID, err)
	}
	return nil
}

// save writes a deploy's document and state.
func (s *store) save(ctx context.Context, d *Deploy) error {
	doc, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, "UPDATE deploys SET state = ?, doc = ? WHERE id = ?", string(d.State), string(doc), d.ID); err != nil {
		return fmt.Errorf("deploys: save %s: %w", d.ID, err)
	}
	return nil
}

// errNotFound is a deploy id that is not stored.
var errNotFound = errors.New("no such deploy")

func (s *store) get(ctx context.Context, id string) (*Deploy, error) {
	var doc string
	err := s.db.QueryRowContext(ctx, "SELECT doc FROM deploys WHERE id = ?", id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %q", errNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("deploys: read %s: %w", id, err)
	}
	var d Deploy
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return nil, fmt.Errorf("deploys: read %s: %w", id, err)
	}
	return &d, nil
}

// list returns the newest deploys first (at most limit), or only the
// active ones.
func (s *store) list(ctx context.Context, activeOnly bool, limit int) ([]*Deploy, error) {
	q := "SELECT doc FROM deploys ORDER BY created DESC LIMIT ?"
	if activeOnly {
		q = "SELECT doc FROM deploys WHERE state IN ('running', 'paused', 'rolling_back') ORDER BY created DESC LIMIT ?"
	}
	rows, err := s.db.QueryContext(ctx, q, limit)
	if err != nil {
		return nil, fmt.Errorf("deploys: list: %w", err)
	}
	defer rows.Close()
	out := []*Deploy{}
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, fmt.Errorf("deploys: list: %w", err)
		}
		var d Deploy
		if err := json.Unmarshal([]byte(doc), &d); err != nil {
			return nil, fmt.Errorf("deploys: list: %w", err)
		}
		out = append(out, &d)
	}
	return out, rows.Err()
}

// beam returns a deploy's module object code.
func (s *store) beam(ctx context.Context, id, module string) ([]byte, string, error) {
	var b []byte
	var file string
	err := s.db.QueryRowContext(ctx, "SELECT beam, file FROM modules WHERE deploy = ? AND module = ?", id, module).Scan(&b, &file)
	if err != nil {
		return nil, "", fmt.Errorf("deploys: object code of %s in %s: %w", module, id, err)
	}
	return b, file, nil
}

// held finds object code with this md5 that beamctl holds (a module of an
// earlier deploy, or a backup).
func (s *store) held(ctx context.Context, md5 string) ([]byte, string, bool) {
	var b []byte
	var file string
	err := s.db.QueryRowContext(ctx, "SELECT beam, file FROM modules WHERE md5 = ? LIMIT 1", md5).Scan(&b, &file)
	if err != nil {
		err = s.db.QueryRowContext(ctx, "SELECT beam, file FROM backups WHERE md5 = ? AND beam IS NOT NULL LIMIT 1", md5).Scan(&b, &file)
	}
	return b, file, err == nil
}

// keep stores what a node ran before a module is loaded; a backup already
// kept (a load resumed after a restart) is not replaced. A nil beam
// means the module was not loaded.
func (s *store) keep(ctx context.Context, id, node, module, md5, file string, beam []byte) error {
	if _, err := s.db.ExecContext(ctx, "INSERT OR IGNORE INTO backups(deploy, node, module, md5, file, beam) VALUES (?, ?, ?, ?, ?, ?)",
		id, node, module, md5, file, beam); err != nil {
		return fmt.Errorf("deploys: keep the code of %s on %s: %w", module, node, err)
	}
	return nil
}

// backup returns what was kept for a node's module; ok is false if
// nothing was (the module was never loaded there by this deploy).
func (s *store) backup(ctx context.Context, id, node, module string) (md5, file string, beam []byte, ok bool, err error) {
	err = s.db.QueryRowContext(ctx, "SELECT md5, file, beam FROM backups WHERE deploy = ? AND node = ? AND module = ?", id, node, module).
		Scan(&md5, &file, &beam)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil, false, nil
	}
	if err != nil {
		return "", "", nil, false, fmt.Errorf("deploys: backup of %s on %s: %w", module, node, err)
	}
	return md5, file, beam, true, nil
}
