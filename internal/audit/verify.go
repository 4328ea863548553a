package audit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
)

// Report is what Verify found in a log that is intact.
type Report struct {
	Records int  `json:"records"`
	First   Head `json:"first"` // the oldest record kept
	Head    Head `json:"head"`  // the newest record
	// Pruned is how many records the checkpoint that covers the oldest
	// kept record says were pruned before it (0: none).
	Pruned int64 `json:"pruned"`
	// Anchors are the heads the log was checked against (its head file,
	// and any given).
	Anchors []Head `json:"anchors"`
}

// TamperError names the first record found edited, missing, out of order
// or cut off.
type TamperError struct {
	Line   int   // 1-based line of the file; 0 when not about one line
	Seq    int64 // the record's seq, 0 when unknown
	Reason string
}

func (e *TamperError) Error() string {
	switch {
	case e.Line > 0 && e.Seq > 0:
		return fmt.Sprintf("record seq %d (line %d) %s", e.Seq, e.Line, e.Reason)
	case e.Line > 0:
		return fmt.Sprintf("line %d %s", e.Line, e.Reason)
	default:
		return e.Reason
	}
}

// Verify reads the whole log at path and checks its chain: every record's
// hash matches its content, its seq follows the one before it and its
// prev is that record's hash; a log that does not start at seq 1 must
// hold the checkpoint of the pruning of the records before it. It checks
// the log against its head file (if there is one) and the anchors given:
// each must be a record of the log, with the same hash, unless pruned.
//
// It cannot detect a whole log rewritten with recomputed hashes, or the
// newest records cut together with the head file, unless an anchor kept
// elsewhere is given. A *TamperError describes the first problem.
func Verify(path string, anchors ...Head) (Report, error) {
	var rep Report
	head, ok, err := ReadHead(path)
	if err != nil {
		return rep, &TamperError{Reason: err.Error()}
	}
	if ok {
		anchors = append([]Head{head}, anchors...)
	}
	rep.Anchors = anchors
	f, err := os.Open(path)
	if err != nil {
		return rep, fmt.Errorf("read audit log: %w", err)
	}
	defer f.Close()
	seen := map[int64]string{}        // seq → hash, for the anchors
	checkpoints := map[int64]Record{} // by PrunedThrough
	var prev, first Record
	br := bufio.NewReaderSize(f, 64<<10)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(b) > 0 {
				return rep, &TamperError{Line: line, Reason: "is cut off (no newline at the end of the file)"}
			}
			break
		}
		if err != nil {
			return rep, fmt.Errorf("read audit log: %w", err)
		}
		r, err := parse(b[:len(b)-1])
		if err != nil {
			return rep, &TamperError{Line: line, Reason: "was changed: " + err.Error()}
		}
		if sum, err := r.sum(); err != nil || sum != r.Hash {
			return rep, &TamperError{Line: line, Seq: r.Seq, Reason: "was changed: its hash does not match its content"}
		}
		if line == 1 {
			first = r
			if r.Prev == "" && r.Seq != 1 {
				return rep, &TamperError{Line: line, Seq: r.Seq, Reason: "starts the chain but is not seq 1"}
			}
		} else {
			switch {
			case r.Seq <= prev.Seq:
				return rep, &TamperError{Line: line, Seq: r.Seq, Reason: fmt.Sprintf("comes after seq %d: records are out of order", prev.Seq)}
			case r.Seq > prev.Seq+1:
				return rep, &TamperError{Line: line, Seq: r.Seq, Reason: fmt.Sprintf("comes after seq %d: %d record(s) are missing (deleted or moved)", prev.Seq, r.Seq-prev.Seq-1)}
			case r.Prev != prev.Hash:
				return rep, &TamperError{Line: line, Seq: r.Seq, Reason: fmt.Sprintf("does not chain to seq %d (its prev is not that record's hash)", prev.Seq)}
			}
		}
		if r.Action == CheckpointAction && r.PrunedThrough > 0 {
			checkpoints[r.PrunedThrough] = r
		}
		seen[r.Seq] = r.Hash
		prev = r
		rep.Records++
	}
	if rep.Records > 0 {
		rep.First, rep.Head = Head{Seq: first.Seq, Hash: first.Hash}, Head{Seq: prev.Seq, Hash: prev.Hash}
	}
	var cover Record
	if first.Prev != "" {
		cp, ok := checkpoints[first.Seq-1]
		if !ok || cp.PrunedHash != first.Prev {
			return rep, &TamperError{Line: 1, Seq: first.Seq,
				Reason: "is the oldest record but no checkpoint records the pruning of the records before it: records were deleted from the beginning"}
		}
		cover, rep.Pruned = cp, cp.Pruned
	}
	for _, a := range anchors {
		if err := checkAnchor(a, rep, seen, cover); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// checkAnchor checks that the remembered head a is in the log.
func checkAnchor(a Head, rep Report, seen map[int64]string, cover Record) error {
	switch h, ok := seen[a.Seq]; {
	case ok && h == a.Hash:
		return nil
	case ok:
		return &TamperError{Seq: a.Seq, Reason: fmt.Sprintf("record seq %d is not the one that was written (its hash differs from the remembered head %.12s…)", a.Seq, a.Hash)}
	case a.Seq > rep.Head.Seq:
		return &TamperError{Seq: a.Seq, Reason: fmt.Sprintf("the log ends at seq %d but seq %d was written: the newest records were cut off", rep.Head.Seq, a.Seq)}
	case a.Seq == cover.PrunedThrough && a.Hash != cover.PrunedHash:
		return &TamperError{Seq: a.Seq, Reason: fmt.Sprintf("the pruned record seq %d is not the one that was written", a.Seq)}
	default: // pruned: nothing left to compare
		return nil
	}
}
