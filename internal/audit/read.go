package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Filter selects records.
type Filter struct {
	Since, Until time.Time // zero: unbounded
	Who          string    // empty: anyone
	// Action is an action ("eval") or a family of actions ("inspect"
	// matches "inspect.top"); empty: any.
	Action string
	Node   string // empty: any
	Limit  int    // 0: DefaultLimit; at most MaxLimit
}

// Page is what a server answers to a read: the records and the log's head
// at the time (for keeping as an anchor).
type Page struct {
	Head    Head     `json:"head"`
	Records []Record `json:"records"`
}

// Bounds of a read.
const (
	DefaultLimit = 1000
	MaxLimit     = 100000
)

// Match reports whether r passes the filter (Limit aside).
func (f Filter) Match(r Record) bool {
	return (f.Since.IsZero() || !r.Time.Before(f.Since)) &&
		(f.Until.IsZero() || r.Time.Before(f.Until)) &&
		(f.Who == "" || r.Who == f.Who) &&
		(f.Node == "" || r.Node == f.Node) &&
		(f.Action == "" || r.Action == f.Action || strings.HasPrefix(r.Action, f.Action+"."))
}

// Read returns the records of the log at path that f selects, newest
// first. It does not check the chain (Verify does); a line that is not a
// record is an error naming it. A missing file has no records.
func Read(path string, f Filter) ([]Record, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	file, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return []Record{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer file.Close()
	// Oldest first in the file: keep the newest limit in a ring.
	ring := make([]Record, 0, min(limit, 1024))
	next := 0
	br := bufio.NewReaderSize(file, 64<<10)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) { // a last line without its newline is being written
			break
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		var r Record
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("audit log %s line %d is not a record: %w", path, line, err)
		}
		if !f.Match(r) {
			continue
		}
		if len(ring) < limit {
			ring = append(ring, r)
			continue
		}
		ring[next] = r
		next = (next + 1) % limit
	}
	out := make([]Record, 0, len(ring))
	for i := range ring {
		out = append(out, ring[(next+len(ring)-1-i)%len(ring)])
	}
	return out, nil
}
