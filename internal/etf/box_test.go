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
