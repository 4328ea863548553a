package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the pure Go SQLite driver, registered as "sqlite"
)

// TokenPrefix starts every API token, so that a leaked one is
// recognisable (secret scanners, logs).
const TokenPrefix = "bmctl_"

// Token is an API token as listed: never its secret nor its hash.
type Token struct {
	ID       int64      `json:"id"`
	Name     string     `json:"name"`
	Role     string     `json:"role"`
	Creator  string     `json:"creator"`
	Created  time.Time  `json:"created"`
	Expires  *time.Time `json:"expires,omitempty"`
	LastUsed *time.Time `json:"last_used,omitempty"`
}

// Tokens is the store of API tokens: SQLite (tokens.db, mode 0600) holding
// the SHA-256 of each token's 32 random bytes, never the token.
type Tokens struct {
	db   *sql.DB
	path string
	now  func() time.Time
}

const tokenSchema = `
CREATE TABLE IF NOT EXISTS tokens (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	name TEXT NOT NULL,
	role TEXT NOT NULL,
	creator TEXT NOT NULL,
	created INTEGER NOT NULL,
	expires INTEGER,
	last_used INTEGER,
	hash TEXT NOT NULL UNIQUE
);
`

// OpenTokens opens (creating if needed) tokens.db in dir.
func OpenTokens(dir string) (*Tokens, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	path := filepath.Join(dir, "tokens.db")
	// Create it 0600 before SQLite does (SQLite would use the umask).
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	_ = f.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, fmt.Errorf("tokens: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(tokenSchema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("tokens: create schema in %s: %w", path, err)
	}
	return &Tokens{db: db, path: path, now: time.Now}, nil
}

// Close closes the database.
func (t *Tokens) Close() error { return t.db.Close() }

func hashToken(secret string) string {
	s := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(s[:])
}

// maxTokenName bounds a token's name.
const maxTokenName = 64

// Create makes a token; the secret it returns is not stored and cannot be
// shown again. expires 0: it never expires.
func (t *Tokens) Create(ctx context.Context, name string, role Role, creator string, expires time.Duration) (string, Token, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > maxTokenName || strings.ContainsAny(name, "\x00\n\r\t") {
		return "", Token{}, fmt.Errorf("a token's name must be 1 to %d characters on one line", maxTokenName)
	}
	if role < Viewer || role > Admin {
		return "", Token{}, errors.New("a token's role must be viewer, operator or admin")
	}
	if expires < 0 {
		return "", Token{}, errors.New("a token's expiry must be in the future")
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", Token{}, fmt.Errorf("tokens: %w", err)
	}
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	now := t.now().UTC().Truncate(time.Second)
	tok := Token{Name: name, Role: role.String(), Creator: creator, Created: now}
	var exp sql.NullInt64
	if expires > 0 {
		e := now.Add(expires)
		tok.Expires = &e
		exp = sql.NullInt64{Int64: e.Unix(), Valid: true}
	}
	res, err := t.db.ExecContext(ctx, `INSERT INTO tokens(name, role, creator, created, expires, hash) VALUES (?, ?, ?, ?, ?, ?)`,
		name, tok.Role, creator, now.Unix(), exp, hashToken(secret))
	if err != nil {
		return "", Token{}, fmt.Errorf("tokens: %w", err)
	}
	if tok.ID, err = res.LastInsertId(); err != nil {
		return "", Token{}, fmt.Errorf("tokens: %w", err)
	}
	return secret, tok, nil
}

func scanToken(sc interface{ Scan(...any) error }) (Token, error) {
	var tok Token
	var created int64
	var exp, used sql.NullInt64
	if err := sc.Scan(&tok.ID, &tok.Name, &tok.Role, &tok.Creator, &created, &exp, &used); err != nil {
		return tok, err
	}
	tok.Created = time.Unix(created, 0).UTC()
	if exp.Valid {
		e := time.Unix(exp.Int64, 0).UTC()
		tok.Expires = &e
	}
	if used.Valid {
		u := time.Unix(used.Int64, 0).UTC()
		tok.LastUsed = &u
	}
	return tok, nil
}

// List returns every token (expired ones too), oldest first.
func (t *Tokens) List(ctx context.Context) ([]Token, error) {
	rows, err := t.db.QueryContext(ctx, `SELECT id, name, role, creator, created, expires, last_used FROM tokens ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	defer rows.Close()
	out := []Token{}
	for rows.Next() {
		tok, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("tokens: %w", err)
		}
		out = append(out, tok)
	}
	return out, rows.Err()
}

// ErrNoToken is a token id that is not in the store.
var ErrNoToken = errors.New("no such token")

// Revoke deletes a token: it stops working at once.
func (t *Tokens) Revoke(ctx context.Context, id int64) error {
	res, err := t.db.ExecContext(ctx, `DELETE FROM tokens WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("token %d: %w", id, ErrNoToken)
	}
	return nil
}

// ErrBadToken is a token that is unknown, revoked or expired.
var ErrBadToken = errors.New("the token is unknown, revoked or expired")

// Verify returns the identity of a token and records its use. The lookup
// is by the token's SHA-256, so the comparison does not leak the secret
// through timing.
func (t *Tokens) Verify(ctx context.Context, secret string) (Identity, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 128 {
		return Identity{}, ErrBadToken
	}
	row := t.db.QueryRowContext(ctx, `SELECT id, name, role, creator, created, expires, last_used FROM tokens WHERE hash = ?`, hashToken(secret))
	tok, err := scanToken(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Identity{}, ErrBadToken
	}
	if err != nil {
		return Identity{}, fmt.Errorf("tokens: %w", err)
	}
	now := t.now()
	if tok.Expires != nil && !now.Before(*tok.Expires) {
		return Identity{}, ErrBadToken
	}
	role, err := ParseRole(tok.Role)
	if err != nil {
		return Identity{}, ErrBadToken
	}
	// At most one write a minute per token: a dashboard's queries do not
	// each write to the database.
	if _, err := t.db.ExecContext(ctx, `UPDATE tokens SET last_used = ? WHERE id = ? AND (last_used IS NULL OR last_used < ?)`,
		now.Unix(), tok.ID, now.Unix()-60); err != nil {
		return Identity{}, fmt.Errorf("tokens: %w", err)
	}
	return Identity{Name: "token:" + tok.Name, Role: role, Method: "token"}, nil
}
