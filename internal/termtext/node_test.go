package termtext_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/termtext"
	"github.com/beamctl/beamctl/internal/testnode"
)

// TestFormatNodeTerms reads, from a real node, a process dictionary that
// holds a 4 MiB bignum (as a value and in the process's logger metadata,
// which logger keeps in the dictionary) and formats it as pi and the log
// capture do: with the default bound. The text is bounded and marked where
// it was cut. (Before the bound it was 20 MB and took 16 s.)
func TestFormatNodeTerms(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{Eval: `
		Big = 1 bsl 33000000,
		Self = self(),
		register(holder, spawn(fun() ->
			logger:set_process_metadata(#{big => Big, request_id => 42}),
			put(big, Big),
			put(text, lists:duplicate(1000000, $a)),
			Self ! ready,
			receive stop -> ok end
		end)),
		receive ready -> ok end.`})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	pid, err := c.Call(ctx, "erlang", "whereis", etf.Atom("holder"))
	require.NoError(t, err)
	info, err := c.Call(ctx, "erlang", "process_info", pid, etf.Atom("dictionary"))
	require.NoError(t, err)
	dict, ok := info.(etf.Tuple)
	require.True(t, ok && len(dict) == 2, "%T", info)
	o := termtext.Options{LocalNode: etf.Atom(n.Name)}

	// The whole dictionary: cut at the bound (where depends on the order
	// of its entries).
	whole := termtext.FormatWith(dict[1], o)
	require.LessOrEqual(t, len(whole), termtext.DefaultMaxBytes+8192)
	require.True(t, strings.Contains(whole, "...("), "no marker in the text of the dictionary")

	l, err := etf.ToList(dict[1])
	require.NoError(t, err)
	seen := map[string]string{}
	for _, e := range l {
		kv := e.(etf.Tuple)
		seen[termtext.FormatWith(kv[0], o)] = termtext.FormatWith(kv[1], o) // As pi shows each entry.
	}
	require.Equal(t, "...(integer of 33000001 bits)", seen["big"])
	require.Contains(t, seen["'$logger_metadata$'"], "big => ...(integer of 33000001 bits)")
	text := seen["text"]
	require.LessOrEqual(t, len(text), termtext.DefaultMaxBytes+64)
	require.True(t, strings.HasPrefix(text, `"aaaa`) && strings.HasSuffix(text, ` more)`), "%q", text[len(text)-40:])
}
