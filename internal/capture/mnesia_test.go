package capture

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/testnode"
)

// TestWatchMnesia subscribes to a real mnesia's system events and has
// mnesia report an overload and an inconsistent database through its own
// event path (mnesia_lib:report_system_event/1, what mnesia_monitor and
// the dumper call).
func TestWatchMnesia(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	defer c.Close()
	w, err := WatchMnesia(ctx, c)
	require.NoError(t, err)
	require.Nil(t, w, "mnesia is not running yet")
	_, err = c.Call(ctx, "mnesia", "start")
	require.NoError(t, err)
	w, err = WatchMnesia(ctx, c)
	require.NoError(t, err)
	require.NotNil(t, w)
	events := w.Events(ctx)
	_, err = c.Call(ctx, "mnesia_lib", "report_system_event", etf.Tuple{etf.Atom("mnesia_overload"), etf.Tuple{etf.Atom("dump_log"), etf.Atom("write_threshold")}})
	require.NoError(t, err)
	_, err = c.Call(ctx, "mnesia_lib", "report_system_event", etf.Tuple{etf.Atom("inconsistent_database"), etf.Atom("running_partitioned_network"), etf.Atom("other@host")})
	require.NoError(t, err)
	var kinds []string
	for len(kinds) < 2 {
		select {
		case ev := <-events:
			kinds = append(kinds, ev.Kind+" "+ev.Severity.String()+" "+ev.Fields["event"])
		case <-time.After(10 * time.Second):
			t.Fatalf("got %v", kinds)
		}
	}
	require.Equal(t, []string{
		"mnesia_overload warning {mnesia_overload,{dump_log,write_threshold}}",
		"mnesia_inconsistent_database critical {inconsistent_database,running_partitioned_network,other@host}",
	}, kinds)
	require.NoError(t, w.Stop(ctx))
}
