package etf

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// processRows builds n {Pid, [{memory, Big}, {name, Atom}]} rows, the
// shape of a process listing.
func processRows(n int) List {
	rows := make(List, n)
	for i := range rows {
		rows[i] = Tuple{
			Pid{Node: "a@host", ID: uint32(i), Serial: 1, Creation: 7},
			List{Tuple{Atom("memory"), int64(2688 + i)}, Tuple{Atom("name"), Atom(fmt.Sprint("p", i%10))}, int64(-i)},
		}
	}
	return rows
}

// TestBoxedAllocs checks that tuples, lists, pids and integers share slabs:
// a listing of 1,000 rows costs tens of allocations, not one per value
// (about 6,000 before the slabs).
func TestBoxedAllocs(t *testing.T) {
	b, err := Encode(processRows(1000))
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := Decode(b); err != nil {
			t.Fatal(err)
		}
	})
	require.Less(t, allocs, 100.0)
}

// TestBoxedValuesSurviveGC keeps a few values out of many decoded
// listings, drops the rest and collects garbage: what was kept still
// reads as decoded (an interface pointing into a slab keeps the slab).
func TestBoxedValuesSurviveGC(t *testing.T) {
	want := processRows(300)
	var kept []Term
	for i := range 50 {
		b, err := Encode(want)
		require.NoError(t, err)
		got, err := Decode(b)
		require.NoError(t, err)
		row := got.(List)[i]
		kept = append(kept, row, row.(Tuple)[0], row.(Tuple)[1].(List)[0].(Tuple)[1], row.(Tuple)[1].(List)[2])
		clear(b)
		runtime.GC()
	}
	runtime.GC()
	for i := range 50 {
		row := want[i].(Tuple)
		require.True(t, Equal(row, kept[4*i]), "row %d", i)
		require.Equal(t, row[0], kept[4*i+1])
		require.Equal(t, int64(2688+i), kept[4*i+2])
		require.Equal(t, int64(-i), kept[4*i+3])
	}
}

// bytesPerRun is the heap allocated by one run of f, averaged.
func bytesPerRun(runs int, f func()) uint64 {
	f()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

// TestSlabsFollowTheTerm: slabs grow with the values decoded, not with the
// input's length. A distribution frame's control message is decoded with
// the whole frame after it (it cost a 4,096-term slab, 64 KiB, for a
// 4-tuple), and a reply of binaries holds few values for its bytes.
func TestSlabsFollowTheTerm(t *testing.T) {
	control, err := Encode(Tuple{int64(2), Atom(""), Pid{Node: "a@host", ID: 1}, Ref{Node: "a@host", Len: 3, ID: [MaxRefWords]uint32{1, 2, 3}}})
	require.NoError(t, err)
	frame := append(control[1:], make([]byte, 100_000)...) // a large message follows
	var d Decoder
	got := bytesPerRun(100, func() {
		if _, _, err := d.DecodeTerm(frame); err != nil {
			t.Fatal(err)
		}
	})
	require.Less(t, got, uint64(2048), "bytes allocated to decode a 4-tuple followed by 100,000 bytes")

	files := make(List, 150) // code:all_loaded/0's shape: {Module, Filename}
	for i := range files {
		files[i] = Tuple{Atom(fmt.Sprint("module_", i)), []byte(fmt.Sprintf("/usr/lib/erlang/lib/stdlib-4.3/ebin/module_%d.beam", i))}
	}
	b, err := Encode(files)
	require.NoError(t, err)
	got = bytesPerRun(100, func() {
		if _, err := Decode(b); err != nil {
			t.Fatal(err)
		}
	})
	// The values themselves: 150 binaries of about 50 bytes, 150 tuples of
	// two terms (32 bytes) and a Tuple header each (24), the list (16 per
	// element); twice that is the most doubling slabs may waste.
	need := uint64(150 * (50 + 32 + 24 + 16))
	require.Less(t, got, 2*need, "bytes allocated to decode %d bytes of {atom, binary} pairs", len(b))
	t.Logf("%d bytes of {atom, binary} pairs: %d bytes allocated (the values: about %d)", len(b), got, need)
}
