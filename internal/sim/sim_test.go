package sim

import (
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/app"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/testnode"
)

var update = flag.Bool("update", false, "write the recording made by TestFaithful to testdata/otp25.rec")

const recordingFile = "testdata/otp25.rec"

// apiGet decodes the data of a Prometheus-style API response.
func apiGet(t *testing.T, a *app.App, path string, q url.Values, into any) {
	t.Helper()
	resp, err := http.Get("http://" + a.Addr() + path + "?" + q.Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	var r struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&r))
	require.Equal(t, "success", r.Status, r.Error)
	require.NoError(t, json.Unmarshal(r.Data, into))
}

// seriesSet is the series the server stores for node: metric name and
// label names ("name{a,b}"), with the metric's type from the metadata.
func seriesSet(t *testing.T, a *app.App, node string) map[string]string {
	t.Helper()
	var series []map[string]string
	apiGet(t, a, "/api/v1/series", url.Values{"match[]": {`{node="` + node + `"}`}}, &series)
	var meta map[string][]struct {
		Type string `json:"type"`
	}
	apiGet(t, a, "/api/v1/metadata", nil, &meta)
	out := map[string]string{}
	for _, s := range series {
		var names []string
		for k := range s {
			if k != "__name__" {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		typ := "untyped"
		if m := meta[s["__name__"]]; len(m) > 0 {
			typ = m[0].Type
		}
		out[s["__name__"]+"{"+strings.Join(names, ",")+"}"] = typ
	}
	return out
}

// TestFaithful records a fresh OTP 25 node's replies to beamctl serve,
// replays them on a simulated node, and checks that serve stores the same
// series (names, label names, types) for the simulated node as for the real
// one, both watched by one server. Not parallel: serve reads the EPMD port
// from the environment.
func TestFaithful(t *testing.T) {
	realNode := testnode.Start(t, testnode.Options{})
	ctx := context.Background()

	t.Setenv("ERL_EPMD_PORT", "4369")
	rec, err := Record(ctx, RecordOptions{Node: realNode.Name, Cookie: realNode.Cookie}, 12*time.Second, t.TempDir(), nil)
	require.NoError(t, err)
	require.NotEmpty(t, rec.Entries)
	b, err := rec.Encode()
	require.NoError(t, err)
	require.NotContains(t, string(b), realNode.Cookie, "the recording holds the cookie")
	if *update {
		require.NoError(t, os.WriteFile(recordingFile, b, 0o644))
	}
	rec, err = DecodeRecording(b)
	require.NoError(t, err)
	replay, err := NewReplay(rec)
	require.NoError(t, err)
	t.Logf("recorded %d calls (%d bytes)", replay.Len(), len(b))

	// One server watches the real node and a simulated one; the
	// simulator's EPMD knows both.
	srv, err := Listen(Options{Host: testnode.ShortHost(), Cookie: realNode.Cookie})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	info, err := dist.LookupPort(ctx, realNode.Host, realNode.Alive, 4369)
	require.NoError(t, err)
	require.NoError(t, srv.Register(realNode.Alive, info.Port))
	simNode, err := srv.AddNode("simfaithful", replay)
	require.NoError(t, err)
	t.Setenv("ERL_EPMD_PORT", strconv.Itoa(srv.EpmdPort()))

	a, err := StartServe(ctx, ServeOptions{
		Nodes: []string{realNode.Name, string(simNode.Name)}, Cookie: realNode.Cookie, Storage: t.TempDir(),
		CollectInterval: 2 * time.Second, FastInterval: time.Second, CollectTimeout: 2 * time.Second,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Stop() })

	// Every collector runs at least twice (counters need two samples for
	// a rate, and some collectors report only from their second run).
	var want, got map[string]string
	deadline := time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(2 * time.Second)
		want, got = seriesSet(t, a, realNode.Name), seriesSet(t, a, string(simNode.Name))
		// The process with the longest queue exists only while some
		// process has messages waiting at the moment of a scan: on a
		// loaded machine the real node sometimes has one, and the
		// recording's moment decides for the simulated node.
		for _, m := range []map[string]string{want, got} {
			for k := range m { // with or without a name (an unregistered process)
				if strings.HasPrefix(k, "erlang_vm_message_queue_longest_info{") {
					delete(m, k)
				}
			}
		}
		if len(want) > 0 && equalSets(want, got) {
			break
		}
	}
	require.NotEmpty(t, want)
	require.Equal(t, want, got, "series of the real node %s (want) and of the simulated node (got)", realNode.Name)
	t.Logf("%d series names/label sets equal", len(want))

	// The inspection tools run on the simulated node as on the real one.
	tc, err := dist.Dial(ctx, string(simNode.Name), dist.Options{Cookie: realNode.Cookie, EpmdPort: srv.EpmdPort(), RPC: dist.RPCSpawn})
	require.NoError(t, err)
	defer tc.Close()
	require.NoError(t, RunTools(ctx, tc))

	// The values move: a counter grows between two readings.
	var v1, v2 struct {
		Result []struct {
			Value []any `json:"value"`
		} `json:"result"`
	}
	q := url.Values{"query": {`erlang_vm_statistics_reductions_total{node="` + string(simNode.Name) + `"}`}}
	apiGet(t, a, "/api/v1/query", q, &v1)
	time.Sleep(3 * time.Second)
	apiGet(t, a, "/api/v1/query", q, &v2)
	require.Len(t, v1.Result, 1)
	require.Len(t, v2.Result, 1)
	r1, _ := strconv.ParseFloat(v1.Result[0].Value[1].(string), 64)
	r2, _ := strconv.ParseFloat(v2.Result[0].Value[1].(string), 64)
	require.Greater(t, r2, r1, "reductions of the simulated node do not grow")
}

func equalSets(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestWrongCookie: a simulated node refuses a wrong cookie with the error
// beamctl gives for a real node.
func TestWrongCookie(t *testing.T) {
	realNode := testnode.Start(t, testnode.Options{})
	ctx := context.Background()
	srv, err := Listen(Options{Host: testnode.ShortHost(), Cookie: realNode.Cookie})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	rec := &Recording{}
	replay, err := NewReplay(rec)
	require.NoError(t, err)
	n, err := srv.AddNode("simcookie", replay)
	require.NoError(t, err)

	_, realErr := dist.Dial(ctx, realNode.Name, dist.Options{Cookie: "wrong", EpmdPort: 4369})
	_, simErr := dist.Dial(ctx, string(n.Name), dist.Options{Cookie: "wrong", EpmdPort: srv.EpmdPort()})
	require.ErrorIs(t, realErr, dist.ErrBadCookie)
	require.ErrorIs(t, simErr, dist.ErrBadCookie)
	require.Equal(t, strings.ReplaceAll(realErr.Error(), realNode.Name, "NODE"), strings.ReplaceAll(simErr.Error(), string(n.Name), "NODE"))

	// The right cookie connects, and a call that was not recorded fails
	// as an undefined function does on a node.
	c, err := dist.Dial(ctx, string(n.Name), dist.Options{Cookie: realNode.Cookie, EpmdPort: srv.EpmdPort()})
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Call(ctx, "no_such_module", "f")
	var bad *dist.BadRPCError
	require.ErrorAs(t, err, &bad)
	require.Contains(t, bad.Error(), "undef")
	c2, err := dist.Dial(ctx, realNode.Name, dist.Options{Cookie: realNode.Cookie, EpmdPort: 4369, RPC: dist.RPCSpawn})
	require.NoError(t, err)
	defer c2.Close()
	_, realUndef := c2.Call(ctx, "no_such_module", "f")
	c3, err := dist.Dial(ctx, string(n.Name), dist.Options{Cookie: realNode.Cookie, EpmdPort: srv.EpmdPort(), RPC: dist.RPCSpawn})
	require.NoError(t, err)
	defer c3.Close()
	_, simUndef := c3.Call(ctx, "no_such_module", "f")
	require.ErrorAs(t, realUndef, &bad)
	require.ErrorAs(t, simUndef, &bad)
	require.Equal(t, strings.ReplaceAll(realUndef.Error(), realNode.Name, "NODE"), strings.ReplaceAll(simUndef.Error(), string(n.Name), "NODE"))
}

// TestRecordingFile: the committed recording decodes, holds the calls
// serve makes, and a Replay answers from it.
func TestRecordingFile(t *testing.T) {
	rec, err := ReadRecording(recordingFile)
	require.NoError(t, err)
	rp, err := NewReplay(rec)
	require.NoError(t, err)
	require.Greater(t, rp.Len(), 20)
	found := false
	for _, e := range rec.Entries {
		if e.Module == "erlang" && e.Function == "memory" {
			found = true
		}
	}
	require.True(t, found, "no erlang:memory() in the recording")
}

// TestRealNodeMeetsSimulated: a real OTP 25 node pointed at the
// simulator's EPMD registers there (ALIVE2), and it connects to a
// simulated node (the simulator accepts a real node's handshake) and calls
// it with rpc:call/5, which the recording answers.
func TestRealNodeMeetsSimulated(t *testing.T) {
	ctx := context.Background()
	rec, err := ReadRecording(recordingFile)
	require.NoError(t, err)
	replay, err := NewReplay(rec)
	require.NoError(t, err)
	srv, err := Listen(Options{Host: testnode.ShortHost(), Cookie: "meetcookie"})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	simNode, err := srv.AddNode("simmeet", replay)
	require.NoError(t, err)
	t.Setenv("ERL_EPMD_PORT", strconv.Itoa(srv.EpmdPort()))
	realNode := testnode.Start(t, testnode.Options{Cookie: "meetcookie"})

	names, err := dist.Names(ctx, realNode.Host, srv.EpmdPort())
	require.NoError(t, err)
	got := map[string]bool{}
	for _, n := range names {
		got[n.Name] = true
	}
	require.True(t, got[realNode.Alive] && got["simmeet"], "names in the simulator's EPMD: %v", names)

	c, err := dist.Dial(ctx, realNode.Name, dist.Options{Cookie: "meetcookie"})
	require.NoError(t, err)
	defer c.Close()
	callCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	r, err := c.Call(callCtx, "rpc", "call", simNode.Name, etf.Atom("erlang"), etf.Atom("memory"), etf.List{}, int64(10000))
	require.NoError(t, err)
	total, ok := etf.PropGet(r, etf.Atom("total"))
	require.True(t, ok, "rpc:call of erlang:memory() on the simulated node: %v", r)
	require.Positive(t, total)
	// An unknown call: the real node's rpc:call returns the simulated
	// node's {badrpc, {'EXIT', {undef, ...}}}.
	_, err = c.Call(callCtx, "rpc", "call", simNode.Name, etf.Atom("no_such_module"), etf.Atom("f"), etf.List{}, int64(10000))
	var bad *dist.BadRPCError
	require.ErrorAs(t, err, &bad)
	require.Contains(t, bad.Error(), "undef")
}
