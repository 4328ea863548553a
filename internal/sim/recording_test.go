package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/etf"
)

// TestMoving: integers that changed between the two recorded replies move
// in replay: counters grow at their recorded rate, values that went down
// swing between the two, wall-clock times follow the clock.
func TestMoving(t *testing.T) {
	t1 := time.Now().Add(-time.Minute)
	t2 := t1.Add(10 * time.Second)
	first := etf.Tuple{int64(100), int64(50), t1.UnixMicro(), etf.Atom("a"), etf.List{int64(1)}}
	last := etf.Tuple{int64(200), int64(30), t2.UnixMicro(), etf.Atom("b"), etf.List{int64(1), int64(2)}}
	tpl := template(first, last, t1, t2)
	rn := &rename{}
	for _, tc := range []struct {
		elapsed      time.Duration
		counter, gge int64
	}{
		{0, 200, 30},
		{5 * time.Second, 250, 40},
		{10 * time.Second, 300, 50},
		{15 * time.Second, 350, 40},
		{20 * time.Second, 400, 30},
	} {
		v := rn.apply(tpl, tc.elapsed).(etf.Tuple)
		require.Equal(t, tc.counter, v[0], "counter at %s", tc.elapsed)
		require.Equal(t, tc.gge, v[1], "gauge at %s", tc.elapsed)
		require.InDelta(t, time.Now().UnixMicro(), v[2], 1e6, "clock at %s", tc.elapsed)
		require.Equal(t, etf.Atom("b"), v[3])
		require.Equal(t, etf.List{int64(1), int64(2)}, v[4])
	}
}

// TestRecordingRoundTrip: names become placeholders and back, and the file
// format keeps every entry.
func TestRecordingRoundTrip(t *testing.T) {
	now := time.Unix(1700000000, 0)
	pid := etf.Pid{Node: nodeAtom, ID: 5}
	rec := &Recording{Node: "a@h", Entries: []Entry{
		{Module: "erlang", Function: "whereis", Args: etf.List{etf.Atom("user")},
			First: Reply{At: now, Value: pid}, Last: Reply{At: now.Add(time.Second), Value: pid}},
		{Module: "m", Function: "f", Args: nil,
			First: Reply{At: now, Raised: true, Value: etf.Atom("x")}, Last: Reply{At: now, Raised: true, Value: etf.Atom("x")}},
		{Module: "erlang", Function: "is_process_alive", Args: etf.List{etf.Pid{Node: clientAtom, ID: 3}},
			First: Reply{At: now, Value: etf.True}, Last: Reply{At: now, Value: etf.True}},
		{Module: "erl_eval", Function: "exprs", Args: etf.List{etf.List{etf.Atom("forms")}, etf.List{etf.Tuple{etf.Atom("Ms"), int64(1500)}}},
			First: Reply{At: now, Value: etf.Atom("checked")}, Last: Reply{At: now, Value: etf.Atom("checked")}},
	}}
	b, err := rec.Encode()
	require.NoError(t, err)
	back, err := DecodeRecording(b)
	require.NoError(t, err)
	require.Len(t, back.Entries, 4)
	rp, err := NewReplay(back)
	require.NoError(t, err)
	n := &Node{Name: "sim1@127.0.0.1", Creation: 7}
	p := Peer{Name: "beamctl@127.0.0.1", Creation: 9}
	v, raised := rp.Call(t.Context(), n, p, "erlang", "whereis", []etf.Term{etf.Atom("user")})
	require.False(t, raised)
	require.Equal(t, etf.Pid{Node: "sim1@127.0.0.1", ID: 5, Creation: 7}, v)
	v, raised = rp.Call(t.Context(), n, p, "m", "f", nil)
	require.True(t, raised)
	require.Equal(t, etf.Atom("x"), v)
	v, raised = rp.Call(t.Context(), n, p, "m", "g", []etf.Term{int64(1)})
	require.True(t, raised)
	require.Equal(t, undef("m", "g", []etf.Term{int64(1)}), v)
	// A batch fails as a whole when one of its calls is unknown.
	_, raised = rp.Call(t.Context(), n, p, "lists", "zipwith", []etf.Term{applyFun,
		etf.List{etf.Export{Module: "erlang", Function: "whereis", Arity: 1}, etf.Export{Module: "m", Function: "g", Arity: 0}},
		etf.List{etf.List{etf.Atom("user")}, etf.List{}}})
	require.True(t, raised)
	v, raised = rp.Call(t.Context(), n, p, "lists", "zipwith", []etf.Term{applyFun,
		etf.List{etf.Export{Module: "erlang", Function: "whereis", Arity: 1}},
		etf.List{etf.List{etf.Atom("user")}}})
	require.False(t, raised)
	require.Equal(t, etf.List{etf.Pid{Node: "sim1@127.0.0.1", ID: 5, Creation: 7}}, v)
	// A batch within a batch (a collector's own calls made together) is
	// answered call by call too.
	v, raised = rp.Call(t.Context(), n, p, "lists", "zipwith", []etf.Term{applyFun,
		etf.List{etf.Export{Module: "lists", Function: "zipwith", Arity: 3}},
		etf.List{etf.List{applyFun, etf.List{etf.Export{Module: "erlang", Function: "whereis", Arity: 1}}, etf.List{etf.List{etf.Atom("user")}}}}})
	require.False(t, raised)
	require.Equal(t, etf.List{etf.List{etf.Pid{Node: "sim1@127.0.0.1", ID: 5, Creation: 7}}}, v)
	// Any of beamctl's pids matches the one recorded (a capture's mailbox
	// differs from connection to connection).
	v, raised = rp.Call(t.Context(), n, p, "erlang", "is_process_alive", []etf.Term{etf.Pid{Node: p.Name, ID: 77, Creation: p.Creation}})
	require.False(t, raised)
	require.Equal(t, etf.True, v)
	// beamctl's own expressions bind values that vary (a time budget): the
	// expression alone finds its reply; another expression does not.
	v, raised = rp.Call(t.Context(), n, p, "erl_eval", "exprs", []etf.Term{etf.List{etf.Atom("forms")}, etf.List{etf.Tuple{etf.Atom("Ms"), int64(1499)}}})
	require.False(t, raised)
	require.Equal(t, etf.Atom("checked"), v)
	_, raised = rp.Call(t.Context(), n, p, "erl_eval", "exprs", []etf.Term{etf.List{etf.Atom("other")}, etf.List{}})
	require.True(t, raised)
	require.Equal(t, map[string]int64{"m:g/0": 1, "m:g/1": 1, "erl_eval:exprs/2": 1}, rp.Misses())
}

// TestAlignByKey: entries keyed by their first element are paired with
// their own entry when a node listed them in another order (scheduler
// wall times); anything else is left as it is.
func TestAlignByKey(t *testing.T) {
	tup := func(xs ...int64) etf.Tuple {
		out := make(etf.Tuple, len(xs))
		for i, x := range xs {
			out[i] = x
		}
		return out
	}
	tests := []struct {
		name    string
		a, b    etf.List
		wantKey []int64 // first elements of the result, in order
	}{
		{"reordered", etf.List{tup(2, 5), tup(1, 7)}, etf.List{tup(1, 70), tup(2, 50)}, []int64{1, 2}},
		{"same order", etf.List{tup(1, 7), tup(2, 5)}, etf.List{tup(1, 70), tup(2, 50)}, []int64{1, 2}},
		{"other keys", etf.List{tup(3, 5), tup(1, 7)}, etf.List{tup(1, 70), tup(2, 50)}, []int64{3, 1}},
		{"not tuples", etf.List{int64(2), int64(1)}, etf.List{int64(1), int64(2)}, []int64{2, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := alignByKey(tc.a, tc.b)
			var keys []int64
			for _, e := range got {
				switch v := e.(type) {
				case etf.Tuple:
					keys = append(keys, v[0].(int64))
				case int64:
					keys = append(keys, v)
				}
			}
			require.Equal(t, tc.wantKey, keys)
		})
	}
}
