package dist

import (
	"context"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/termtext"
	"github.com/beamctl/beamctl/internal/testnode"
)

// TestFormatTerm checks the text of badrpc reasons: as Erlang's ~tp, and
// bounded when the reason is huge (a node can raise with any term).
func TestFormatTerm(t *testing.T) {
	const local = etf.Atom("a@host")
	huge := new(big.Int).Lsh(big.NewInt(1), 32<<20)
	tests := []struct {
		term etf.Term
		want string
	}{
		{etf.Tuple{etf.Atom("EXIT"), etf.Tuple{etf.Atom("undef"), etf.List{
			etf.Tuple{etf.Atom("nosuch"), etf.Atom("f"), etf.List{}, etf.List{}},
		}}}, "{'EXIT',{undef,[{nosuch,f,[],[]}]}}"},
		{etf.Pid{Node: local, ID: 54, Serial: 0}, "<0.54.0>"},
		{etf.Tuple{etf.Atom("EXIT"), huge}, "{'EXIT',...(integer of 33554433 bits)}"},
		{[]byte(strings.Repeat("x", 1<<20)), `<<"` + strings.Repeat("x", errTermMaxBytes-6) + `"...(1040390 more bytes)>>`},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, formatTerm(tt.term, local))
	}
}

// TestBadRPCHugeReason raises a 4 MiB bignum on a real node: the error's
// text is bounded and says what was cut (before the bound, writing it took
// 8 s and 10 MB).
func TestBadRPCHugeReason(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	c := dial(t, n, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The node builds the bignum: rpc:call(erlang, error, [1 bsl 33000000]), about the largest integer the VM allows.
	_, err := c.Call(ctx, "erl_eval", "exprs", mustParse(t, "[{call,1,{remote,1,{atom,1,erlang},{atom,1,error}},[{op,1,'bsl',{integer,1,1},{integer,1,33000000}}]}]"), etf.List{})
	var bad *BadRPCError
	require.ErrorAs(t, err, &bad)
	msg := err.Error()
	require.LessOrEqual(t, len(msg), errTermMaxBytes+256)
	require.Contains(t, msg, "{'EXIT',{...(integer of 33000001 bits),[")
}

func mustParse(t *testing.T, s string) etf.Term {
	t.Helper()
	term, err := termtext.Parse(s)
	require.NoError(t, err)
	return term
}
