package product

import (
	"context"
	"fmt"
	"sort"

	"github.com/beamctl/beamctl/internal/etf"
)

// Mnesia is the Mnesia of one node.
type Mnesia struct {
	HeldLocks   int64         `json:"held_locks"`
	LockQueue   int64         `json:"lock_queue"`
	Commits     int64         `json:"transaction_commits"`
	Failures    int64         `json:"transaction_failures"`
	Restarts    int64         `json:"transaction_restarts"`
	LogWrites   int64         `json:"transaction_log_writes"`
	Tables      []MnesiaTable `json:"tables"`
	TablesShown int           `json:"tables_shown"`
	LocalTables int           `json:"local_tables"`
}

// MnesiaTable is one table with a copy on the node.
type MnesiaTable struct {
	Name        string   `json:"name"`
	StorageType string   `json:"storage_type"` // ram_copies, disc_copies, disc_only_copies
	Size        int64    `json:"size"`
	Memory      int64    `json:"memory_bytes"`
	Replicas    []string `json:"replicas"` // every node with a copy
}

// MaxMnesiaTables bounds the tables one read describes.
const MaxMnesiaTables = 1000

// ReadMnesia reads the Mnesia of a node: ErrNotRunning when mnesia_locker is
// not registered there. Cost: one whereis, one round trip for the lock
// tables' sizes (ets:info, not their contents), the transaction counters
// and the local tables, and one for size, memory, storage type and
// replicas of each local table (mnesia:table_info/2 of a local table reads
// ETS, DETS or Mnesia's own settings; nothing is asked of another node), at
// most MaxMnesiaTables.
func ReadMnesia(ctx context.Context, c Conn) (*Mnesia, error) {
	ok, err := Running(ctx, c, "mnesia_locker")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("Mnesia is %w (no process registered as mnesia_locker)", ErrNotRunning)
	}
	info := func(item etf.Atom) call { return call{"mnesia", "system_info", []etf.Term{item}} }
	r, err := applyAll(ctx, c, []call{
		{"ets", "info", []etf.Term{etf.Atom("mnesia_held_locks"), etf.Atom("size")}},
		{"ets", "info", []etf.Term{etf.Atom("mnesia_lock_queue"), etf.Atom("size")}},
		info("transaction_commits"), info("transaction_failures"), info("transaction_restarts"), info("transaction_log_writes"),
		info("local_tables"),
		{"erlang", "system_info", []etf.Term{etf.Atom("wordsize")}},
	})
	if err != nil {
		return nil, fmt.Errorf("Mnesia: %w", err)
	}
	m := &Mnesia{HeldLocks: count(r[0]), LockQueue: count(r[1]), Commits: count(r[2]), Failures: count(r[3]),
		Restarts: count(r[4]), LogWrites: count(r[5]), Tables: []MnesiaTable{}}
	word := count(r[7])
	tabs, _ := etf.ToList(r[6])
	m.LocalTables = len(tabs)
	if len(tabs) > MaxMnesiaTables {
		tabs = tabs[:MaxMnesiaTables]
	}
	items := []etf.Atom{"storage_type", "size", "memory", "all_nodes"}
	var calls []call
	for _, t := range tabs {
		for _, it := range items {
			calls = append(calls, call{"mnesia", "table_info", []etf.Term{t, it}})
		}
	}
	if len(calls) > 0 {
		// A table deleted between the two round trips makes table_info
		// raise, and the whole read fail: the next round has it right.
		v, err := applyAll(ctx, c, calls)
		if err != nil {
			return nil, fmt.Errorf("Mnesia tables: %w", err)
		}
		for i, t := range tabs {
			st, size, mem, nodes := text(v[i*4]), count(v[i*4+1]), count(v[i*4+2]), v[i*4+3]
			if st != "disc_only_copies" { // ETS tables report words, DETS bytes
				mem *= word
			}
			tab := MnesiaTable{Name: text(t), StorageType: st, Size: size, Memory: mem, Replicas: []string{}}
			ns, _ := etf.ToList(nodes)
			for _, n := range ns {
				tab.Replicas = append(tab.Replicas, text(n))
			}
			sort.Strings(tab.Replicas)
			m.Tables = append(m.Tables, tab)
		}
	}
	m.TablesShown = len(m.Tables)
	sort.Slice(m.Tables, func(i, j int) bool { return m.Tables[i].Name < m.Tables[j].Name })
	return m, nil
}
