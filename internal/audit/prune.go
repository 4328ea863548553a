package audit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Prune removes the records older than before, never silently: it first
// appends a checkpoint record (action "audit.prune", by who) that carries
// how many records go, the seq and the hash of the last of them, then
// replaces the file with the records kept and the checkpoint, so Verify
// still passes and the pruning stays visible. It returns the checkpoint
// (Pruned 0: nothing was old enough).
func (l *Log) Prune(before time.Time, who string, args map[string]string) (Record, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return Record{}, errors.New("audit log is closed")
	}
	unlock, err := l.lockFile()
	if err != nil {
		return Record{}, err
	}
	var old *os.File // the replaced file, locked until the end
	defer func() {
		unlock()
		if old != nil {
			_ = old.Close()
		}
	}()
	lines, recs, err := readAll(l.path)
	if err != nil {
		return Record{}, err
	}
	k := 0 // records [0, k) go: up to the last one older than before
	for i, r := range recs {
		if r.Time.Before(before) {
			k = i + 1
		}
	}
	if k == 0 {
		return Record{}, nil
	}
	last := recs[k-1]
	cp, err := l.appendLocked(Record{Who: who, Action: CheckpointAction, Args: args, Outcome: OK,
		Pruned: int64(k), PrunedThrough: last.Seq, PrunedHash: last.Hash})
	if err != nil {
		return Record{}, err
	}
	line, err := cp.seal()
	if err != nil {
		return cp, err
	}
	tmp := l.path + ".prune"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return cp, fmt.Errorf("prune audit log: %w", err)
	}
	w := bufio.NewWriter(f)
	for _, b := range lines[k:] {
		_, _ = w.Write(b)
	}
	_, _ = w.Write(line)
	err = w.Flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, l.path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return cp, fmt.Errorf("prune audit log (the checkpoint is written, the records stay): %w", err)
	}
	if d, err := os.Open(filepath.Dir(l.path)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	// This Log's descriptor is the old file's: writes go to the new one.
	nf, err := os.OpenFile(l.path, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return cp, fmt.Errorf("reopen audit log: %w", err)
	}
	old, l.f, l.lastSize = l.f, nf, -1
	return cp, nil
}

// readAll returns the file's lines (with their newlines) and records.
func readAll(path string) ([][]byte, []Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read audit log: %w", err)
	}
	defer f.Close()
	var lines [][]byte
	var recs []Record
	br := bufio.NewReaderSize(f, 64<<10)
	for n := 1; ; n++ {
		b, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(b) > 0 {
				return nil, nil, fmt.Errorf("audit log %s line %d is cut off: run beamctl audit verify", path, n)
			}
			return lines, recs, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read audit log: %w", err)
		}
		r, err := parse(b[:len(b)-1])
		if err != nil {
			return nil, nil, fmt.Errorf("audit log %s line %d: %w: run beamctl audit verify", path, n, err)
		}
		lines, recs = append(lines, b), append(recs, r)
	}
}
