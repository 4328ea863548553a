package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/beamctl/beamctl/internal/journal"
	"github.com/stretchr/testify/require"
)

// writeLog writes n actions (a started and an outcome record each) by
// alternating users to a new log and returns its path.
func writeLog(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit", "audit.log")
	l, err := Open(path, Options{})
	require.NoError(t, err)
	defer l.Close()
	for i := range n {
		end, err := l.Begin(Action{Who: []string{"alice", "bob"}[i%2], Role: "admin", From: "127.0.0.1:5000",
			Action: "eval", Node: "a@h", Args: map[string]string{"expression": fmt.Sprintf("%d.", i)}})
		require.NoError(t, err)
		var fail error
		if i%3 == 2 {
			fail = errors.New("badrpc")
		}
		require.NoError(t, end(fail, ""))
	}
	return path
}

func lines(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return bytes.SplitAfter(b, []byte("\n"))[:bytes.Count(b, []byte("\n"))]
}

func writeLines(t *testing.T, path string, ls [][]byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, bytes.Join(ls, nil), 0o600))
}

func TestChainWrittenAndVerified(t *testing.T) {
	path := writeLog(t, 5)
	for _, p := range []string{path, path + ".head", filepath.Dir(path)} {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		want := os.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700
		}
		require.Equal(t, want, fi.Mode().Perm(), p)
	}
	rep, err := Verify(path)
	require.NoError(t, err)
	require.Equal(t, 10, rep.Records)
	require.Equal(t, int64(10), rep.Head.Seq)
	require.Len(t, rep.Anchors, 1, "the head file")
	recs, err := Read(path, Filter{})
	require.NoError(t, err)
	require.Len(t, recs, 10)
	require.Equal(t, int64(10), recs[0].Seq, "newest first")
	require.Equal(t, "", recs[9].Prev)
	require.Equal(t, Started, recs[9].Outcome)
	require.Equal(t, map[string]string{"expression": "0."}, recs[9].Args)
	require.Equal(t, OK, recs[8].Outcome)
	require.Equal(t, int64(1), recs[8].Ref)
	require.Equal(t, "error: badrpc", recs[4].Outcome)
	for i := range 9 {
		require.Equal(t, recs[i+1].Hash, recs[i].Prev)
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	// Ten records: seq 1..10 on lines 1..10.
	tests := []struct {
		name   string
		tamper func(t *testing.T, path string, ls [][]byte) []Head // returns anchors kept elsewhere
		want   string                                              // "" : not detected (documented)
	}{
		{name: "intact"},
		{name: "edit a field", want: "record seq 3 (line 3) was changed: its hash does not match its content",
			tamper: func(t *testing.T, path string, ls [][]byte) []Head {
				ls[2] = bytes.Replace(ls[2], []byte(`"role":"admin"`), []byte(`"role":"viewer"`), 1)
				writeLines(t, path, ls)
				return nil
			}},
		{name: "edit a field and its hash", want: "record seq 4 (line 4) does not chain to seq 3",
			tamper: func(t *testing.T, path string, ls [][]byte) []Head {
				r, err := parse(bytes.TrimSuffix(ls[2], []byte("\n")))
				require.NoError(t, err)
				r.Who = "mallory"
				ls[2], err = r.seal()
				require.NoError(t, err)
				writeLines(t, path, ls)
				return nil
			}},
		{name: "add a field", want: `line 5 was changed: not an audit record: json: unknown field "extra"`,
			tamper: func(t *testing.T, path string, ls [][]byte) []Head {
				ls[4] = append([]byte(`{"extra":1,`), ls[4][1:]...)
				writeLines(t, path, ls)
				return nil
			}},
		{name: "delete a record in the middle", want: "record seq 6 (line 5) comes after seq 4: 1 record(s) are missing (deleted or moved)",
			tamper: func(t *testing.T, path string, ls [][]byte) []Head {
				writeLines(t, path, append(ls[:4:4], ls[5:]...))
				return nil
			}},
		{name: "swap two records", want: "record seq 5 (line 4) comes after seq 3: 1 record(s) are missing (deleted or moved)",
			tamper: func(t *testing.T, path string, ls [][]byte) []Head {
				ls[3], ls[4] = ls[4], ls[3]
				writeLines(t, path, ls)
				return nil
			}},
		{name: "delete the first records", want: "record seq 3 (line 1) is the oldest record but no checkpoint records the pruning",
			tamper: func(t *testing.T, path string, ls [][]byte) []Head {
				writeLines(t, path, ls[2:])
				return nil
			}},
		{name: "truncate the newest records (head file)", want: "the log ends at seq 8 but seq 10 was written: the newest records were cut off",
			tamper: func(t *testing.T, path string, ls [][]byte) []Head {
				writeLines(t, path, ls[:8])
				return nil
			}},
		{name: "cut the last line in the middle", want: "line 10 is cut off",
			tamper: func(t *testing.T, path string, ls [][]byte) []Head {
				ls[9] = ls[9][:20]
				writeLines(t, path, ls)
				return nil
			}},
		{name: "truncate the newest records and the head file: not detectable without an anchor",
			tamper: func(t *testing.T, path string, ls [][]byte) []Head {
				writeLines(t, path, ls[:8])
				require.NoError(t, os.Remove(path+".head"))
				return nil
			}},
		{name: "truncate and remove the head file, with an anchor kept elsewhere", want: "the log ends at seq 8 but seq 10 was written",
			tamper: func(t *testing.T, path string, ls [][]byte) []Head {
				h, _, err := ReadHead(path)
				require.NoError(t, err)
				writeLines(t, path, ls[:8])
				require.NoError(t, os.Remove(path+".head"))
				return []Head{h}
			}},
		{name: "the whole chain rewritten, with an anchor kept elsewhere", want: "record seq 10 is not the one that was written",
			tamper: func(t *testing.T, path string, ls [][]byte) []Head {
				h, _, err := ReadHead(path)
				require.NoError(t, err)
				require.NoError(t, os.Remove(path+".head"))
				prev := ""
				for i := range ls {
					r, err := parse(bytes.TrimSuffix(ls[i], []byte("\n")))
					require.NoError(t, err)
					r.Who, r.Prev = "mallory", prev
					ls[i], err = r.seal()
					require.NoError(t, err)
					prev = r.Hash
				}
				writeLines(t, path, ls)
				return []Head{h}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeLog(t, 5)
			var anchors []Head
			if tc.tamper != nil {
				anchors = tc.tamper(t, path, lines(t, path))
			}
			_, err := Verify(path, anchors...)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			var te *TamperError
			require.ErrorAs(t, err, &te)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(path, Options{})
	require.NoError(t, err)
	defer l.Close()
	const goroutines, each = 8, 25
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				end, err := l.Begin(Action{Who: "g" + strconv.Itoa(g), Action: "eval", Args: map[string]string{"i": strconv.Itoa(i)}})
				if err == nil {
					err = end(nil, "")
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	rep, err := Verify(path)
	require.NoError(t, err)
	require.Equal(t, 2*goroutines*each, rep.Records)
}

// TestHelperAppend is not a test: TestConcurrentProcesses runs the test
// binary with AUDIT_HELPER_FILE set to append from another process.
func TestHelperAppend(t *testing.T) {
	path := os.Getenv("AUDIT_HELPER_FILE")
	if path == "" {
		return // run as an ordinary test: nothing to do
	}
	n, err := strconv.Atoi(os.Getenv("AUDIT_HELPER_N"))
	require.NoError(t, err)
	for i := range n {
		// A new Log each time, as each CLI invocation opens the file.
		l, err := Open(path, Options{})
		require.NoError(t, err)
		_, err = l.Append(Record{Who: "pid" + strconv.Itoa(os.Getpid()), Action: "eval", Outcome: OK, Args: map[string]string{"i": strconv.Itoa(i)}})
		require.NoError(t, err)
		require.NoError(t, l.Close())
	}
}

func TestConcurrentProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	const procs, each = 3, 40
	var cmds []*exec.Cmd
	for range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAppend$", "-test.count=1")
		cmd.Env = append(os.Environ(), "AUDIT_HELPER_FILE="+path, "AUDIT_HELPER_N="+strconv.Itoa(each))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		t.Cleanup(func() {
			if t.Failed() {
				t.Log(out.String())
			}
		})
		cmds = append(cmds, cmd)
	}
	// This process appends at the same time, through one long-lived Log.
	l, err := Open(path, Options{})
	require.NoError(t, err)
	defer l.Close()
	for i := range each {
		_, err := l.Append(Record{Who: "parent", Action: "eval", Outcome: OK, Args: map[string]string{"i": strconv.Itoa(i)}})
		require.NoError(t, err)
	}
	for _, c := range cmds {
		require.NoError(t, c.Wait())
	}
	rep, err := Verify(path)
	require.NoError(t, err)
	require.Equal(t, (procs+1)*each, rep.Records)
	whos := map[string]int{}
	recs, err := Read(path, Filter{})
	require.NoError(t, err)
	for _, r := range recs {
		whos[r.Who]++
	}
	require.Len(t, whos, procs+1)
}

func TestRetentionCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	l, err := Open(path, Options{Now: func() time.Time { return now }})
	require.NoError(t, err)
	defer l.Close()
	add := func(n int) {
		for range n {
			now = now.Add(time.Hour)
			_, err := l.Append(Record{Who: "alice", Action: "eval", Outcome: OK})
			require.NoError(t, err)
		}
	}
	add(10) // seq 1..10 at t0+1h..t0+10h
	cp, err := l.Prune(t0.Add(5*time.Hour+time.Minute), "beamctl serve", map[string]string{"retention": "5h"})
	require.NoError(t, err)
	require.Equal(t, int64(5), cp.Pruned)
	require.Equal(t, int64(5), cp.PrunedThrough)
	require.Equal(t, int64(11), cp.Seq)
	rep, err := Verify(path)
	require.NoError(t, err)
	require.Equal(t, Head{Seq: 6, Hash: rep.First.Hash}, rep.First)
	require.Equal(t, int64(5), rep.Pruned)
	require.Equal(t, 6, rep.Records, "5 kept and the checkpoint")
	recs, err := Read(path, Filter{Action: "audit"})
	require.NoError(t, err)
	require.Len(t, recs, 1, "the pruning is a record")

	add(3) // the Log writes to the new file
	_, err = l.Prune(t0.Add(8*time.Hour+time.Minute), "beamctl serve", nil)
	require.NoError(t, err)
	rep, err = Verify(path)
	require.NoError(t, err)
	require.Equal(t, int64(9), rep.First.Seq)
	require.Equal(t, int64(3), rep.Pruned)
	cp, err = l.Prune(t0, "beamctl serve", nil)
	require.NoError(t, err)
	require.Zero(t, cp.Pruned, "nothing that old")

	// Deleting the checkpoint that covers the oldest record (the newest
	// record here) is detected.
	ls := lines(t, path)
	var kept [][]byte
	for _, b := range ls {
		if !bytes.Contains(b, []byte(`"pruned_through":8`)) {
			kept = append(kept, b)
		}
	}
	require.Len(t, kept, len(ls)-1)
	writeLines(t, path, kept)
	_, err = Verify(path)
	require.ErrorContains(t, err, "record seq 9 (line 1) is the oldest record but no checkpoint records the pruning")
}

func TestReadFilters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	l, err := Open(path, Options{Now: func() time.Time { now = now.Add(time.Minute); return now }})
	require.NoError(t, err)
	defer l.Close()
	for _, r := range []Record{
		{Who: "alice", Action: "eval", Node: "a@h"},         // 1, t0+1m
		{Who: "bob", Action: "inspect.top", Node: "b@h"},    // 2
		{Who: "alice", Action: "inspect.ets", Node: "a@h"},  // 3
		{Who: "carol", Action: "reload"},                    // 4
		{Who: "alice", Action: "inspection", Node: "a@h"},   // 5: not of the inspect family
		{Who: "bob", Action: "alarm.ack", Node: "b@h"},      // 6
		{Who: "alice", Action: "agent.remove", Node: "b@h"}, // 7, t0+7m
	} {
		r.Outcome = Started
		_, err := l.Append(r)
		require.NoError(t, err)
	}
	tests := []struct {
		name string
		f    Filter
		want []int64
	}{
		{"all, newest first", Filter{}, []int64{7, 6, 5, 4, 3, 2, 1}},
		{"who", Filter{Who: "alice"}, []int64{7, 5, 3, 1}},
		{"action family", Filter{Action: "inspect"}, []int64{3, 2}},
		{"exact action", Filter{Action: "inspect.top"}, []int64{2}},
		{"node", Filter{Node: "b@h"}, []int64{7, 6, 2}},
		{"since", Filter{Since: t0.Add(6 * time.Minute)}, []int64{7, 6}},
		{"until", Filter{Until: t0.Add(3 * time.Minute)}, []int64{2, 1}},
		{"limit keeps the newest", Filter{Who: "alice", Limit: 2}, []int64{7, 5}},
		{"none", Filter{Who: "mallory"}, []int64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := Read(path, tc.f)
			require.NoError(t, err)
			got := []int64{}
			for _, r := range recs {
				got = append(got, r.Seq)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestLongArgumentIsCut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(path, Options{})
	require.NoError(t, err)
	defer l.Close()
	long := string(bytes.Repeat([]byte("é"), 5000))
	_, err = l.Begin(Action{Who: "a", Action: "eval", Args: map[string]string{"expression": long}})
	require.NoError(t, err)
	recs, err := Read(path, Filter{})
	require.NoError(t, err)
	require.Contains(t, recs[0].Args["expression"], "…(cut, 10000 bytes)")
	require.LessOrEqual(t, len(recs[0].Args["expression"]), maxArg+40)
	_, err = Verify(path)
	require.NoError(t, err)
}

// BenchmarkAppend measures one record written, with and without the fsync
// that makes it durable before the action runs; the anchor is one
// notification added to the notification journal (SQLite, WAL,
// synchronous=NORMAL: no fsync per insert) in the same run.
func BenchmarkAppend(b *testing.B) {
	for _, sync := range []bool{true, false} {
		name := "fsync"
		if !sync {
			name = "nosync"
		}
		b.Run(name, func(b *testing.B) {
			l, err := Open(filepath.Join(b.TempDir(), "audit.log"), Options{NoSync: !sync})
			require.NoError(b, err)
			defer l.Close()
			r := Record{Who: "alice", Role: "admin", From: "127.0.0.1:51234", Action: "inspect.top", Node: "a@host",
				Args: map[string]string{"n": "10", "sort": "memory"}, Outcome: Started}
			b.ResetTimer()
			for b.Loop() {
				if _, err := l.Append(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("anchor_journal_insert", func(b *testing.B) {
		st, err := journal.Open(b.TempDir(), journal.Options{})
		require.NoError(b, err)
		defer st.Close()
		n := journal.Notification{Node: "a@host", Kind: "audit", Severity: journal.Info, Text: "alice: inspect.top on a@host: started",
			Fields: map[string]string{"who": "alice", "role": "admin", "from": "127.0.0.1:51234", "n": "10", "sort": "memory"}}
		ctx := context.Background()
		b.ResetTimer()
		for b.Loop() {
			n.Time = time.Now()
			if err := st.Add(ctx, []journal.Notification{n}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestPruneWhileAppending prunes repeatedly while goroutines append: no
// record is lost after the checkpoints, and the chain verifies.
func TestPruneWhileAppending(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(path, Options{NoSync: true})
	require.NoError(t, err)
	defer l.Close()
	for range 5 { // the first pruning has something to prune
		_, err := l.Append(Record{Who: "first", Action: "eval", Outcome: OK})
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				if _, err := l.Append(Record{Who: "g" + strconv.Itoa(g), Action: "eval", Outcome: OK, Args: map[string]string{"i": strconv.Itoa(i)}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	pruned, checkpoints := int64(0), int64(0)
	for range 10 {
		cp, err := l.Prune(time.Now(), "test", nil)
		require.NoError(t, err)
		if cp.Pruned > 0 {
			pruned, checkpoints = pruned+cp.Pruned, checkpoints+1
		}
	}
	wg.Wait()
	rep, err := Verify(path)
	require.NoError(t, err)
	require.Positive(t, checkpoints)
	require.Equal(t, 205+checkpoints, rep.Head.Seq)
	require.Equal(t, 205+checkpoints, int64(rep.Records)+pruned, "every record written is kept or counted by a checkpoint")
}

// TestNoAppendAfterRemovedRecords: a log that lost its newest records (or
// was deleted) while its head file remains is not appended to: the next
// record would chain over the gap and overwrite the head.
func TestNoAppendAfterRemovedRecords(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, path string)
	}{
		{"newest records cut off", func(t *testing.T, path string) { writeLines(t, path, lines(t, path)[:6]) }},
		{"log deleted", func(t *testing.T, path string) { require.NoError(t, os.Remove(path)) }},
		{"last record rewritten", func(t *testing.T, path string) {
			ls := lines(t, path)
			r, err := parse(bytes.TrimSuffix(ls[9], []byte("\n")))
			require.NoError(t, err)
			r.Who = "mallory"
			ls[9], err = r.seal()
			require.NoError(t, err)
			writeLines(t, path, ls)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeLog(t, 5)
			l, err := Open(path, Options{}) // as the next CLI command opens it
			require.NoError(t, err)
			defer l.Close()
			tc.tamper(t, path)
			_, err = l.Begin(Action{Who: "alice", Action: "eval"})
			require.ErrorContains(t, err, "but its head file says seq 10 was written: records were removed or rewritten")
		})
	}
}
