package inspect

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/testnode"
)

// callLog is a connection that records the functions it calls.
type callLog struct {
	*dist.Conn
	mu    sync.Mutex
	calls []string
}

func (c *callLog) Call(ctx context.Context, module, function string, args ...etf.Term) (etf.Term, error) {
	c.mu.Lock()
	c.calls = append(c.calls, module+":"+function)
	c.mu.Unlock()
	return c.Conn.Call(ctx, module, function, args...)
}

func (c *callLog) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = nil
	return out
}

// TestEvalParsesOnce: the node scans and parses a text the first time
// only; later evaluations send the kept form (with new bindings), and an
// error is the node's every time.
func TestEvalParsesOnce(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	c := &callLog{Conn: dial(t, n)}
	ctx := context.Background()
	const expr = "TestEvalParsesOnce = X * 2, TestEvalParsesOnce + 1."
	for _, x := range []int64{1, 20} {
		r, err := EvalWith(ctx, c, expr, map[string]etf.Term{"X": x})
		require.NoError(t, err)
		require.Equal(t, 2*x+1, r)
	}
	require.Equal(t, []string{"erl_scan:string", "erl_parse:parse_exprs", "erl_eval:exprs", "erl_eval:exprs"}, c.take())

	for range 2 {
		_, err := Eval(ctx, c, "TestEvalParsesOnce = = 1.")
		require.ErrorContains(t, err, "parse: syntax error before: '=' (at 1)")
	}
	require.Equal(t, []string{"erl_scan:string", "erl_parse:parse_exprs", "erl_parse:format_error",
		"erl_scan:string", "erl_parse:parse_exprs", "erl_parse:format_error"}, c.take(), "errors are not kept")
}

// TestEvalRepliesValue: what the expressions bind stays on the node; only
// the value comes back (erl_eval's reply holds its bindings).
func TestEvalRepliesValue(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	c := dial(t, n)
	ctx := context.Background()
	const expr = "B = lists:seq(1, 100000), F = fun() -> B end,\nlength(F())."
	_, err := Eval(ctx, c, expr) // parsed and kept
	require.NoError(t, err)
	before := c.Stats().BytesIn
	r, err := EvalWith(ctx, c, expr, map[string]etf.Term{"Unused": etf.Atom("x")})
	require.NoError(t, err)
	require.Equal(t, int64(100000), r)
	require.Less(t, c.Stats().BytesIn-before, uint64(1024), "a list of 100,000 integers bound on the node came back")
}
