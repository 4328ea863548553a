// Package audit is beamctl's audit trail: an append-only, hash-chained log
// of the actions that change state or run code on a node, written before
// each action ("started") and after it (its outcome).
//
// The log is a file of JSON lines, one Record each, opened O_APPEND with
// mode 0600 and synced to disk after every record. Each record carries the
// hash of the one before it (Prev) and its own Hash, the SHA-256 of its
// canonical encoding (the line without the hash field), so Verify detects
// an edited, deleted or reordered record. Truncation of the newest records
// is detected only against a remembered head (seq and hash): Log keeps one
// in a second file (path + ".head", 0600) and every record, exported or
// read through the API, carries its seq and hash for keeping elsewhere.
// A writer who can rewrite the whole file can also recompute every hash:
// only a head kept out of its reach (an export target, a copy of a verify
// report) detects that.
//
// Writers in one process share a Log (a mutex); writers in several
// processes (the CLI) each open the file and take an exclusive flock while
// appending, re-reading the tail's hash under the lock.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// Outcomes of a record.
const (
	Started = "started" // written before the action runs
	OK      = "ok"      // the action succeeded
	// An action that failed has the outcome "error: " and its error.
)

// CheckpointAction is the action of the record that pruning writes.
const CheckpointAction = "audit.prune"

// Record is one line of the log. Field order is the canonical order.
type Record struct {
	Seq     int64             `json:"seq"`
	Time    time.Time         `json:"time"`
	Who     string            `json:"who"`
	Role    string            `json:"role,omitempty"`
	From    string            `json:"from,omitempty"`
	Action  string            `json:"action"`
	Node    string            `json:"node,omitempty"`
	Args    map[string]string `json:"args,omitempty"`
	Outcome string            `json:"outcome"`
	// Ref is, in an outcome record, the seq of the record that started
	// the action.
	Ref int64 `json:"ref,omitempty"`
	// Note is a detail of an outcome (e.g. "already loaded").
	Note string `json:"note,omitempty"`
	// Pruned, PrunedThrough and PrunedHash are set in a checkpoint: how
	// many records were pruned, the seq and the hash of the last of them.
	Pruned        int64  `json:"pruned,omitempty"`
	PrunedThrough int64  `json:"pruned_through,omitempty"`
	PrunedHash    string `json:"pruned_hash,omitempty"`
	Prev          string `json:"prev"`
	Hash          string `json:"hash,omitempty"`
}

// Head is the newest record's seq and hash: what a truncation is checked
// against.
type Head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// maxArg is the longest argument value kept (an eval expression can be
// long); a longer one is cut with a marker.
const maxArg = 4096

// canonical is the record's encoding without its hash: what is hashed.
func (r Record) canonical() ([]byte, error) {
	r.Hash = ""
	return json.Marshal(r)
}

// sum is the hash of the record's canonical encoding.
func (r Record) sum() (string, error) {
	b, err := r.canonical()
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// seal sets the record's hash and returns its line (with the newline).
func (r *Record) seal() ([]byte, error) {
	h, err := r.sum()
	if err != nil {
		return nil, fmt.Errorf("encode audit record: %w", err)
	}
	r.Hash = h
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode audit record: %w", err)
	}
	return append(b, '\n'), nil
}

// parse decodes one line strictly: no unknown field, and the line must be
// the record's own encoding byte for byte (so nothing can be added to a
// line without changing what is hashed).
func parse(line []byte) (Record, error) {
	var r Record
	d := json.NewDecoder(bytes.NewReader(line))
	d.DisallowUnknownFields()
	if err := d.Decode(&r); err != nil {
		return r, fmt.Errorf("not an audit record: %w", err)
	}
	again, err := json.Marshal(r)
	if err != nil || !bytes.Equal(again, line) {
		return r, fmt.Errorf("not in the canonical encoding")
	}
	return r, nil
}

// cut bounds an argument value, marking where it was cut.
func cut(s string) string {
	if len(s) <= maxArg {
		return s
	}
	i := maxArg
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return fmt.Sprintf("%s…(cut, %d bytes)", s[:i], len(s))
}
