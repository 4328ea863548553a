package audit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Log appends records to one file. Its methods are safe for concurrent
// use, and several processes may append to the same file.
type Log struct {
	path string
	// NoSync skips the fsync after each record (benchmarks only).
	noSync   bool
	now      func() time.Time
	onAppend func(Record)

	mu   sync.Mutex
	f    *os.File // opened O_APPEND
	head *os.File // path + ".head"
	// last is the tail as this Log last wrote it, valid while the file
	// still has size lastSize (another process appended otherwise).
	last     Head
	lastSize int64
}

// Options configure a Log.
type Options struct {
	// NoSync skips the fsync after each record: only for measuring what
	// the fsync costs.
	NoSync bool
	// Now replaces time.Now (tests).
	Now func() time.Time
	// OnAppend, when set, is called with each record written, in order,
	// while the log is locked: it must not block (e.g. a send that drops
	// when its queue is full).
	OnAppend func(Record)
}

// Open opens (creating it, and its directory with mode 0700) the log at
// path.
func Open(path string, o Options) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit log directory: %w", err)
	}
	l := &Log{path: path, noSync: o.NoSync, now: o.Now, onAppend: o.OnAppend}
	if l.now == nil {
		l.now = time.Now
	}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Log) open() error {
	f, err := os.OpenFile(l.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("open audit log: %w", err)
	}
	h, err := os.OpenFile(l.path+".head", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("open audit head: %w", err)
	}
	l.f, l.head, l.lastSize = f, h, -1
	return nil
}

// Path is the log's file.
func (l *Log) Path() string { return l.path }

// Close closes the files.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := errors.Join(l.f.Close(), l.head.Close())
	l.f, l.head = nil, nil
	return err
}

// Action is what Begin records.
type Action struct {
	Who, Role, From string
	Action          string
	Node            string
	Args            map[string]string
}

// Begin writes the "started" record of an action, synced to disk, and
// returns the function that writes its outcome (err nil: ok). When Begin
// fails, the action must not run.
func (l *Log) Begin(a Action) (end func(err error, note string) error, _ error) {
	var args map[string]string
	if len(a.Args) > 0 {
		args = make(map[string]string, len(a.Args))
		for k, v := range a.Args {
			args[k] = cut(v)
		}
	}
	r, err := l.Append(Record{Who: a.Who, Role: a.Role, From: a.From, Action: a.Action, Node: a.Node, Args: args, Outcome: Started})
	if err != nil {
		return nil, err
	}
	return func(err error, note string) error {
		out := OK
		if err != nil {
			out = cut("error: " + err.Error())
		}
		_, werr := l.Append(Record{Who: a.Who, Role: a.Role, From: a.From, Action: a.Action, Node: a.Node, Outcome: out, Ref: r.Seq, Note: note})
		return werr
	}, nil
}

// Append chains r to the log's tail (its Seq, Time when zero, Prev and
// Hash are set here), writes it and syncs it to disk. It returns the
// record as written.
func (l *Log) Append(r Record) (Record, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return r, errors.New("audit log is closed")
	}
	unlock, err := l.lockFile()
	if err != nil {
		return r, err
	}
	defer unlock()
	return l.appendLocked(r)
}

// lockFile takes the exclusive lock other processes honour, reopening the
// file first if it was replaced (pruned) since it was opened.
func (l *Log) lockFile() (unlock func(), err error) {
	for range 3 {
		if err := flock(l.f); err != nil {
			return nil, fmt.Errorf("lock audit log: %w", err)
		}
		same, err := sameFile(l.f, l.path)
		if err != nil {
			funlock(l.f)
			return nil, err
		}
		if same {
			f := l.f
			return func() { funlock(f) }, nil
		}
		funlock(l.f)
		_ = l.f.Close()
		_ = l.head.Close()
		if err := l.open(); err != nil {
			l.f, l.head = nil, nil
			return nil, err
		}
	}
	return nil, errors.New("lock audit log: the file keeps being replaced")
}

func sameFile(f *os.File, path string) (bool, error) {
	a, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("audit log: %w", err)
	}
	b, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("audit log: %w", err)
	}
	return os.SameFile(a, b), nil
}

// appendLocked writes r after the tail; the caller holds mu and the flock.
func (l *Log) appendLocked(r Record) (Record, error) {
	fi, err := l.f.Stat()
	if err != nil {
		return r, fmt.Errorf("audit log: %w", err)
	}
	tail := l.last
	if fi.Size() != l.lastSize { // another process wrote, or first write
		if tail, err = l.checkedTail(); err != nil {
			return r, err
		}
	}
	r.Seq, r.Prev = tail.Seq+1, tail.Hash
	if r.Time.IsZero() {
		r.Time = l.now()
	}
	r.Time = r.Time.UTC()
	line, err := r.seal()
	if err != nil {
		return r, err
	}
	if _, err := l.f.Write(line); err != nil {
		return r, fmt.Errorf("write audit log: %w", err)
	}
	if !l.noSync {
		if err := l.f.Sync(); err != nil {
			return r, fmt.Errorf("sync audit log: %w", err)
		}
	}
	l.last, l.lastSize = Head{Seq: r.Seq, Hash: r.Hash}, fi.Size()+int64(len(line))
	if err := writeHead(l.head, l.last); err != nil {
		return r, err
	}
	if l.onAppend != nil {
		l.onAppend(r)
	}
	return r, nil
}

// checkedTail reads the log's tail and checks it against the head file:
// a log that lost records since the head was written is not appended to
// (the next record would chain over the gap and overwrite the head).
func (l *Log) checkedTail() (Head, error) {
	tail, err := readTail(l.path)
	if err != nil {
		return tail, err
	}
	b := make([]byte, headSize+1)
	n, err := l.head.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return tail, fmt.Errorf("read audit head: %w", err)
	}
	h, ok, err := parseHead(l.path, b[:n])
	if err != nil {
		return tail, err
	}
	// The head may lag by one record (a crash between the two writes),
	// never lead.
	if ok && (h.Seq > tail.Seq || (h.Seq == tail.Seq && h.Hash != tail.Hash)) {
		return tail, fmt.Errorf("the audit log %s ends at seq %d but its head file says seq %d was written: records were removed "+
			"or rewritten (run beamctl audit verify; to start a new log, move %s and %s.head aside)", l.path, tail.Seq, h.Seq, l.path, l.path)
	}
	return tail, nil
}

// headSize is the fixed size of the head file: seq (20 digits), a space,
// the hash (64 hex digits), a newline. Written in place at offset 0.
const headSize = 20 + 1 + 64 + 1

func writeHead(f *os.File, h Head) error {
	b := fmt.Appendf(nil, "%020d %-64s\n", h.Seq, h.Hash)
	if _, err := f.WriteAt(b, 0); err != nil {
		return fmt.Errorf("write audit head: %w", err)
	}
	return nil
}

// ReadHead reads the head file of the log at path; ok is false when there
// is none.
func ReadHead(path string) (h Head, ok bool, err error) {
	b, err := os.ReadFile(path + ".head")
	if errors.Is(err, os.ErrNotExist) {
		return h, false, nil
	}
	if err != nil {
		return h, false, fmt.Errorf("read audit head: %w", err)
	}
	return parseHead(path, b)
}

func parseHead(path string, b []byte) (h Head, ok bool, err error) {
	if len(b) == 0 {
		return h, false, nil
	}
	if len(b) != headSize || b[20] != ' ' || b[headSize-1] != '\n' {
		return h, false, fmt.Errorf("audit head file %s.head is damaged", path)
	}
	h.Seq, err = strconv.ParseInt(string(b[:20]), 10, 64)
	h.Hash = string(b[21:85])
	if err != nil {
		return h, false, fmt.Errorf("audit head file %s.head is damaged", path)
	}
	return h, true, nil
}

// readTail returns the seq and hash of the file's last record (zero for an
// empty file), reading backwards from its end.
func readTail(path string) (Head, error) {
	f, err := os.Open(path)
	if err != nil {
		return Head{}, fmt.Errorf("read audit log: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Head{}, fmt.Errorf("read audit log: %w", err)
	}
	end := fi.Size()
	if end == 0 {
		return Head{}, nil
	}
	// The last line ends at end-1 (its newline); find the newline before.
	var line []byte
	buf := make([]byte, 8192)
	if _, err := f.ReadAt(buf[:1], end-1); err != nil {
		return Head{}, fmt.Errorf("read audit log: %w", err)
	}
	if buf[0] != '\n' {
		return Head{}, fmt.Errorf("the audit log %s ends in the middle of a record: run beamctl audit verify", path)
	}
	pos := end - 1
	for {
		n := int64(len(buf))
		if pos < n {
			n = pos
		}
		start := pos - n
		if n > 0 {
			if _, err := f.ReadAt(buf[:n], start); err != nil && !errors.Is(err, io.EOF) {
				return Head{}, fmt.Errorf("read audit log: %w", err)
			}
		}
		i := lastIndex(buf[:n], '\n')
		if i >= 0 || start == 0 {
			lineStart := start + int64(i) + 1
			line = make([]byte, end-1-lineStart)
			if _, err := f.ReadAt(line, lineStart); err != nil {
				return Head{}, fmt.Errorf("read audit log: %w", err)
			}
			break
		}
		pos = start
	}
	r, err := parse(line)
	if err != nil {
		return Head{}, fmt.Errorf("the last line of the audit log %s is damaged (%w): run beamctl audit verify", path, err)
	}
	return Head{Seq: r.Seq, Hash: r.Hash}, nil
}

func lastIndex(b []byte, c byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == c {
			return i
		}
	}
	return -1
}
