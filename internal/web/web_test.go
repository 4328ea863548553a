package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/alarm"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/store"
	"github.com/beamctl/beamctl/internal/testnode"
)

// model is the server as the API sees it, over a real store, journal and
// alarm engine, and connections to real nodes.
type model struct {
	rec    *journal.Recorder
	alarms *alarm.Engine
	nodes  []Node
	conns  map[string]inspect.Conn
	dumps  string // the crash dump directory
	code   map[string]NodeCode
}

func (m model) Notifications() Notifications { return notifications{m.rec} }
func (m model) Alarms() Alarms               { return m.alarms }
func (m model) Nodes() []Node                { return m.nodes }
func (m model) CrashDumpDir() string         { return m.dumps }

func (m model) NodeCode(_ context.Context, _, node string) (NodeCode, error) {
	return m.code[node], nil
}

func (model) Metadata() map[string]Metadata {
	return map[string]Metadata{"x": {Type: "gauge", Help: "X."}}
}

func (m model) Conn(_ context.Context, node string) (inspect.Conn, error) {
	if c, ok := m.conns[node]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("node %s is not managed by this server", node)
}

// notifications is the recorder as the API reads it (as internal/app's).
type notifications struct{ *journal.Recorder }

func (n notifications) Query(ctx context.Context, f journal.Filter) ([]journal.Notification, error) {
	return n.Store().Query(ctx, f)
}

// newServer serves the API of m over a fresh store, journal and alarm
// engine, and returns the store to fill and the model it serves.
func newServer(t *testing.T, m model) (*httptest.Server, *store.DB, model) {
	t.Helper()
	db, err := store.Open(t.TempDir(), nil, nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	ns, err := journal.Open(t.TempDir(), journal.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { ns.Close() })
	ae, err := alarm.Open(context.Background(), alarm.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { ae.Close() })
	m.rec, m.alarms = journal.NewRecorder(ns, nil, journal.RecorderOptions{}), ae
	srv := httptest.NewServer(New(db, m, nil, nil, nil))
	t.Cleanup(srv.Close)
	return srv, db, m
}

// get fetches an API path and decodes its data into data (if not nil); it
// returns the HTTP status and the error message of an error answer.
func get(t *testing.T, srv *httptest.Server, path string, data any) (int, string) {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var body struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	require.NoError(t, json.Unmarshal(b, &body), "%s", b)
	if body.Status == "success" && data != nil {
		require.NoError(t, json.Unmarshal(body.Data, data), "%s", body.Data)
	}
	return resp.StatusCode, body.Error
}

// TestHostileRequests sends malformed and oversized requests: each gets a
// Prometheus-shaped error (or a plain 4xx), never a panic or a 5xx.
func TestHostileRequests(t *testing.T) {
	srv, _, _ := newServer(t, model{})

	big := strings.Repeat("a", 2<<20)
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		status int
		errSub string
	}{
		{"no query", "GET", "/api/v1/query", "", 400, "parameter query is required"},
		{"bad promql", "GET", "/api/v1/query?query=" + url.QueryEscape("sum(("), "", 400, "parse error"},
		{"bad time", "GET", "/api/v1/query?query=up&time=yesterday", "", 400, "invalid parameter time"},
		{"NaN time", "GET", "/api/v1/query?query=up&time=NaN", "", 400, "invalid parameter time"},
		{"range without start", "GET", "/api/v1/query_range?query=up&end=10&step=1", "", 400, "invalid parameter start"},
		{"negative step", "GET", "/api/v1/query_range?query=up&start=0&end=10&step=-1", "", 400, "invalid parameter step"},
		{"too many points", "GET", "/api/v1/query_range?query=up&start=0&end=100000000&step=1", "", 400, "exceeds 11,000 points"},
		{"end before start", "GET", "/api/v1/query_range?query=up&start=100&end=10&step=1", "", 400, "end is before its start"},
		{"oversized body", "POST", "/api/v1/query", "query=" + big, 413, "the request body is larger than 1048576 bytes"},
		{"wrong method", "PUT", "/api/v1/query?query=up", "", 405, "method PUT is not allowed"},
		{"series without match", "GET", "/api/v1/series", "", 400, "no match[] parameter provided"},
		{"bad selector", "GET", "/api/v1/series?match[]=" + url.QueryEscape("{"), "", 400, "selector"},
		{"federate without match", "GET", "/federate", "", 400, ""},
		{"federate bad selector", "GET", "/federate?match[]=" + url.QueryEscape("rate("), "", 400, ""},
		{"metadata bad limit", "GET", "/api/v1/metadata?limit=x", "", 400, "limit must be a number"},
		{"inspect unknown node", "GET", "/api/v1/nodes/nosuch@h/top", "", 404, "not managed by this server"},
		{"top n above its bound", "GET", "/api/v1/nodes/nosuch@h/top?n=5000", "", 400, `n must be a whole number from 1 to 1000, not "5000"`},
		{"top window above its bound", "GET", "/api/v1/nodes/nosuch@h/top?window=2m", "", 400, `window must be a duration from 0s to 1m0s, not "2m"`},
		{"top bad attribute", "GET", "/api/v1/nodes/nosuch@h/top?by=colour", "", 400, `by must be one of reductions, memory, message_queue_len, binary_memory, total_heap_size, not "colour"`},
		{"top unknown parameter", "GET", "/api/v1/nodes/nosuch@h/top?limit=3", "", 400, `top has no parameter "limit"; it takes by, n, window, scan-limit, agentless`},
		{"top parameter twice", "GET", "/api/v1/nodes/nosuch@h/top?n=1&n=2", "", 400, "n is given 2 times"},
		{"ets n below its bound", "GET", "/api/v1/nodes/nosuch@h/ets?n=0", "", 400, `n must be a whole number from 1 to 1000, not "0"`},
		{"pi without pid", "GET", "/api/v1/nodes/nosuch@h/pi", "", 400, "pid is required"},
		{"memory with a parameter", "GET", "/api/v1/nodes/nosuch@h/memory?n=1", "", 400, `memory takes no parameters, not "n"`},
		{"tool the API does not run by GET", "GET", "/api/v1/nodes/nosuch@h/leaks", "", 404, `no tool "leaks" on the API by GET; GET runs pi, top, memory, alloc, ets, apps, suptree, rabbitmq, mnesia, ejabberd; POST (admin) runs leaks, msacc`},
		{"application environments stay off the API", "GET", "/api/v1/nodes/nosuch@h/app_env?app=kernel", "", 404, `no tool "app_env" on the API`},
		{"unknown tool", "GET", "/api/v1/nodes/nosuch@h/nosuch", "", 404, `no tool "nosuch" on the API`},
		{"notifications bad since", "GET", "/api/v1/notifications?since=lately", "", 400, "since: cannot parse"},
		{"notifications bad limit", "GET", "/api/v1/notifications?limit=-1", "", 400, "limit must be a whole number"},
		{"notifications huge limit", "GET", "/api/v1/notifications?limit=99999999", "", 400, "limit must be a whole number"},
		{"notifications bad after_id", "GET", "/api/v1/notifications?after_id=x", "", 400, "after_id must be a whole number"},
		{"notifications FTS syntax", "GET", "/api/v1/notifications?grep=" + url.QueryEscape(`"(*) NEAR AND`), "", 200, ""},
		{"notifications huge grep", "GET", "/api/v1/notifications?grep=" + strings.Repeat("w%20", 3000), "", 200, ""},
		{"alarm bad id", "GET", "/api/v1/alarms/x", "", 400, "alarm id must be a positive whole number"},
		{"alarm unknown", "GET", "/api/v1/alarms/7", "", 404, "no such alarm"},
		{"alarm unknown action", "POST", "/api/v1/alarms/7/snooze", "", 404, "unknown action"},
		{"alarm ack unknown", "POST", "/api/v1/alarms/7/ack", "", 404, "no such alarm"},
		{"alarms bad limit", "GET", "/api/v1/alarms?limit=0", "", 400, "limit must be a whole number"},
		{"alarms bad severity", "GET", "/api/v1/alarms?severity=loud", "", 400, `severity "loud" is not critical, major, minor or warning`},
		{"stream bad since", "GET", "/api/v1/notifications/stream?since=lately", "", 400, "since: cannot parse"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			require.NoError(t, err)
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, tc.status, resp.StatusCode)
			if tc.errSub == "" {
				return
			}
			var body struct {
				Status, ErrorType, Error string
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
			require.Equal(t, "error", body.Status)
			require.Contains(t, body.Error, tc.errSub)
		})
	}
}

// TestToolsListing reads GET /api/v1/tools: the registry with its bounds,
// agent use and effects, as a UI would.
func TestToolsListing(t *testing.T) {
	srv, _, _ := newServer(t, model{})
	type param struct {
		Name     string   `json:"name"`
		Type     string   `json:"type"`
		Help     string   `json:"help"`
		Default  string   `json:"default"`
		Required bool     `json:"required"`
		Min      any      `json:"min"`
		Max      any      `json:"max"`
		Choices  []string `json:"choices"`
	}
	var tools []struct {
		Name    string  `json:"name"`
		Summary string  `json:"summary"`
		Params  []param `json:"params"`
		Agent   string  `json:"agent"`
		Effect  string  `json:"effect"`
		Changes string  `json:"changes"`
		Web     bool    `json:"web"`
	}
	status, msg := get(t, srv, "/api/v1/tools", &tools)
	require.Equal(t, http.StatusOK, status, msg)
	byName := map[string]int{}
	var names []string
	for i, tool := range tools {
		byName[tool.Name] = i
		names = append(names, tool.Name)
		require.NotEmpty(t, tool.Summary, tool.Name)
		if tool.Effect != "read-only" {
			require.NotEmpty(t, tool.Changes, "%s says what it changes", tool.Name)
			require.False(t, tool.Web, "%s changes the node: not on the API", tool.Name)
		}
	}
	require.Equal(t, []string{"pi", "top", "memory", "alloc", "leaks", "msacc", "ets", "stat", "apps", "suptree", "app_env", "load", "eval", "rabbitmq", "mnesia", "ejabberd"}, names)

	top := tools[byName["top"]]
	require.Equal(t, "unless agentless", top.Agent)
	require.Equal(t, "read-only", top.Effect)
	require.True(t, top.Web)
	require.Equal(t, []param{
		{Name: "by", Type: "enum", Help: top.Params[0].Help, Default: "reductions", Choices: inspect.TopAttrs},
		{Name: "n", Type: "int", Help: top.Params[1].Help, Default: "10", Min: 1.0, Max: 1000.0},
		{Name: "window", Type: "duration", Help: top.Params[2].Help, Default: "0s", Min: "0s", Max: "1m0s"},
		{Name: "scan-limit", Type: "int", Help: top.Params[3].Help, Default: "0", Min: 0.0, Max: 2147483647.0},
		{Name: "agentless", Type: "bool", Help: top.Params[4].Help},
	}, top.Params)

	pi := tools[byName["pi"]]
	require.Equal(t, "no", pi.Agent)
	require.True(t, pi.Params[0].Required)

	leaks := tools[byName["leaks"]]
	require.Equal(t, "yes", leaks.Agent)
	require.Equal(t, "garbage collects processes", leaks.Effect)
	msacc := tools[byName["msacc"]]
	require.Equal(t, "flips a VM flag and restores it", msacc.Effect)
	require.Contains(t, msacc.Changes, "microstate_accounting")
	require.False(t, tools[byName["app_env"]].Web, "application environments hold passwords")
	require.Equal(t, "changes code and may kill processes", tools[byName["load"]].Effect)
	require.Contains(t, tools[byName["load"]].Changes, "kills the processes still running its old code")
	require.Equal(t, "runs any code", tools[byName["eval"]].Effect)
	suptree := tools[byName["suptree"]]
	require.Equal(t, "unless agentless", suptree.Agent)
	require.True(t, suptree.Web)
}

// TestInspectTools runs every tool the API serves on a real node with known
// state, and checks what each finds.
func TestInspectTools(t *testing.T) {
	t.Parallel()
	n := testnode.Start(t, testnode.Options{Eval: `
		V = spawn(fun() -> receive never -> ok end end), register(web_victim, V),
		[V ! {msg, I} || I <- lists:seq(1, 500)],
		Self = self(),
		spawn(fun() -> ets:new(webtab, [named_table, public]), ets:insert(webtab, [{I, I} || I <- lists:seq(1, 1000)]),
		               Self ! ready, receive stop -> ok end end),
		receive ready -> ok end,
		register(web_ready, spawn(fun() -> receive stop -> ok end end))`})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := dist.Dial(ctx, n.Name, dist.Options{Cookie: n.Cookie})
	require.NoError(t, err)
	defer conn.Close()
	// erl registers in epmd before -eval runs: wait for the setup to finish.
	require.Eventually(t, func() bool {
		r, err := conn.Call(ctx, "erlang", "whereis", etf.Atom("web_ready"))
		_, ok := r.(etf.Pid)
		return err == nil && ok
	}, 30*time.Second, 50*time.Millisecond)
	srv, _, _ := newServer(t, model{conns: map[string]inspect.Conn{n.Name: conn}})
	base := "/api/v1/nodes/" + url.PathEscape(n.Name) + "/"

	t.Run("pi by name", func(t *testing.T) {
		var pi inspect.ProcInfo
		status, msg := get(t, srv, base+"pi?pid=web_victim", &pi)
		require.Equal(t, http.StatusOK, status, msg)
		require.Equal(t, "web_victim", pi.RegisteredName)
		require.Equal(t, int64(500), pi.MessageQueueLen)
		require.Regexp(t, `^<0\.\d+\.0>$`, pi.Pid)
		require.NotEmpty(t, pi.Stack)
		require.Positive(t, pi.MemoryBytes)
	})
	t.Run("pi by pid", func(t *testing.T) {
		var pi inspect.ProcInfo
		status, msg := get(t, srv, base+"pi?pid=0.0.0", &pi)
		require.Equal(t, http.StatusOK, status, msg)
		require.Equal(t, "<0.0.0>", pi.Pid)
		require.Equal(t, "init", pi.RegisteredName)
	})
	t.Run("pi of a dead pid", func(t *testing.T) {
		status, msg := get(t, srv, base+"pi?pid=0.9999.0", nil)
		require.Equal(t, http.StatusUnprocessableEntity, status)
		require.Contains(t, msg, "is not alive on "+n.Name)
	})
	for _, q := range []string{"by=message_queue_len&n=1", "by=message_queue_len&n=1&agentless=true"} {
		t.Run("top "+q, func(t *testing.T) {
			var top inspect.TopResult
			status, msg := get(t, srv, base+"top?"+q, &top)
			require.Equal(t, http.StatusOK, status, msg)
			require.Equal(t, n.Name, top.Node)
			require.Equal(t, "message_queue_len", top.By)
			require.Zero(t, top.WindowSeconds)
			require.Len(t, top.Processes, 1)
			require.Equal(t, "web_victim", top.Processes[0].Name)
			require.Equal(t, int64(500), top.Processes[0].Value)
		})
	}
	t.Run("top over a window with the defaults", func(t *testing.T) {
		var top inspect.TopResult
		status, msg := get(t, srv, base+"top?window=200ms", &top)
		require.Equal(t, http.StatusOK, status, msg)
		require.Equal(t, "reductions", top.By)
		require.Equal(t, 0.2, top.WindowSeconds)
		require.Len(t, top.Processes, 10)
		for i := 1; i < len(top.Processes); i++ {
			require.GreaterOrEqual(t, top.Processes[i-1].Value, top.Processes[i].Value, "ranked")
		}
	})
	t.Run("memory", func(t *testing.T) {
		var rep inspect.MemoryReport
		status, msg := get(t, srv, base+"memory", &rep)
		require.Equal(t, http.StatusOK, status, msg)
		require.Equal(t, "total", rep.Memory[0].Kind)
		require.Greater(t, rep.Memory[0].Bytes, int64(1<<20))
		var names []string
		for _, r := range rep.Resources {
			names = append(names, r.Name)
			require.Positive(t, r.Count, r.Name)
			require.Greater(t, r.Limit, r.Count, r.Name)
		}
		require.Equal(t, []string{"processes", "ports", "atoms", "ets"}, names)
	})
	t.Run("alloc", func(t *testing.T) {
		var rep inspect.AllocReport
		status, msg := get(t, srv, base+"alloc", &rep)
		require.Equal(t, http.StatusOK, status, msg)
		types := map[string]bool{}
		for _, a := range rep.Types {
			types[a.Type] = true
			require.GreaterOrEqual(t, a.AllocatedBytes, a.UsedBytes, a.Type)
		}
		require.True(t, types["eheap_alloc"] && types["binary_alloc"] && types["ets_alloc"], "%v", types)
		require.Equal(t, "total", rep.Total.Type)
		require.Greater(t, rep.Total.UsedBytes, int64(0))
		require.Greater(t, len(rep.Instances), len(rep.Types))
	})
	t.Run("ets finds the table", func(t *testing.T) {
		var res inspect.ETSResult
		status, msg := get(t, srv, base+"ets?sort=size&n=1&match=webtab", &res)
		require.Equal(t, http.StatusOK, status, msg)
		require.Equal(t, n.Name, res.Node)
		require.Len(t, res.Tables, 1)
		require.Equal(t, "webtab", res.Tables[0].Name)
		require.Equal(t, int64(1000), res.Tables[0].Size)
		require.Equal(t, "public", res.Tables[0].Protection)
	})
	t.Run("ets with the defaults", func(t *testing.T) {
		var res inspect.ETSResult
		status, msg := get(t, srv, base+"ets", &res)
		require.Equal(t, http.StatusOK, status, msg)
		require.Greater(t, len(res.Tables), 1)
		require.LessOrEqual(t, len(res.Tables), 20)
		for i := 1; i < len(res.Tables); i++ {
			require.GreaterOrEqual(t, res.Tables[i-1].MemoryBytes, res.Tables[i].MemoryBytes, "sorted by memory")
		}
	})
	t.Run("apps", func(t *testing.T) {
		var res inspect.AppsResult
		status, msg := get(t, srv, base+"apps", &res)
		require.Equal(t, http.StatusOK, status, msg)
		require.Equal(t, n.Name, res.Node)
		running := map[string]bool{}
		for _, a := range res.Applications {
			running[a.Name] = a.Running
			require.Regexp(t, `^\d+(\.\d+)*$`, a.Version, a.Name)
		}
		require.True(t, running["kernel"] && running["stdlib"], "%v", running)
	})
	for _, q := range []string{"app=kernel&max-children=2", "app=kernel&max-children=2&agentless=true"} {
		t.Run("suptree "+q, func(t *testing.T) {
			var res inspect.SupTreeResult
			status, msg := get(t, srv, base+"suptree?"+q, &res)
			require.Equal(t, http.StatusOK, status, msg)
			require.Equal(t, n.Name, res.Node)
			require.Len(t, res.Applications, 1)
			tree := res.Applications[0].Tree
			require.NotNil(t, tree)
			require.Equal(t, "kernel_sup", tree.ID)
			require.Len(t, tree.Children, 2)
			require.Equal(t, "max-children", tree.Truncated)
			require.Positive(t, tree.NotShown)
		})
	}
	t.Run("suptree out of bounds", func(t *testing.T) {
		status, msg := get(t, srv, base+"suptree?depth=21", nil)
		require.Equal(t, http.StatusBadRequest, status)
		require.Contains(t, msg, "depth must be a whole number from 1 to 20")
	})
}

// TestRoutes takes the happy path of every route that does not talk to a
// node, over a real store, journal and alarm engine.
func TestRoutes(t *testing.T) {
	t.Parallel()
	srv, db, m := newServer(t, model{nodes: []Node{
		{Cluster: "c", Node: "b@h", State: "up", Family: "rel 1", OTPRelease: "26"},
		{Cluster: "c", Node: "a@h", State: "up", Family: "rel 1", OTPRelease: "25"},
		{Cluster: "c", Node: "new@h", State: "connecting"},
	}})
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	ls := []store.Label{{Name: "__name__", Value: "beam_x"}, {Name: "cluster", Value: "c"}, {Name: "node", Value: "a@h"}}
	require.NoError(t, db.Append(ctx, []store.Sample{
		{Labels: ls, Time: now.Add(-20 * time.Second), Value: 1},
		{Labels: ls, Time: now.Add(-10 * time.Second), Value: 2},
		{Labels: ls, Time: now, Value: 5},
	}))
	ts := strconv.FormatInt(now.Unix(), 10)
	metric := map[string]string{"__name__": "beam_x", "cluster": "c", "node": "a@h"}

	t.Run("query", func(t *testing.T) {
		var res struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  []any             `json:"value"`
			} `json:"result"`
		}
		status, msg := get(t, srv, "/api/v1/query?query=beam_x&time="+ts, &res)
		require.Equal(t, http.StatusOK, status, msg)
		require.Equal(t, "vector", res.ResultType)
		require.Len(t, res.Result, 1)
		require.Equal(t, metric, res.Result[0].Metric)
		require.Equal(t, []any{float64(now.Unix()), "5"}, res.Result[0].Value)
	})
	t.Run("query by POST", func(t *testing.T) {
		resp, err := http.PostForm(srv.URL+"/api/v1/query", url.Values{"query": {"sum(beam_x) * 2"}, "time": {ts}})
		require.NoError(t, err)
		defer resp.Body.Close()
		var body struct {
			Data struct {
				Result []struct {
					Value []any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		require.Equal(t, "10", body.Data.Result[0].Value[1])
	})
	t.Run("query_range", func(t *testing.T) {
		var res struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Values [][]any           `json:"values"`
			} `json:"result"`
		}
		start := strconv.FormatInt(now.Add(-20*time.Second).Unix(), 10)
		status, msg := get(t, srv, "/api/v1/query_range?query=beam_x&start="+start+"&end="+ts+"&step=10s", &res)
		require.Equal(t, http.StatusOK, status, msg)
		require.Equal(t, "matrix", res.ResultType)
		require.Equal(t, metric, res.Result[0].Metric)
		var vals []any
		for _, v := range res.Result[0].Values {
			vals = append(vals, v[1])
		}
		require.Equal(t, []any{"1", "2", "5"}, vals)
	})
	t.Run("series", func(t *testing.T) {
		var res []map[string]string
		status, msg := get(t, srv, "/api/v1/series?match[]="+url.QueryEscape(`beam_x{node="a@h"}`), &res)
		require.Equal(t, http.StatusOK, status, msg)
		require.Equal(t, []map[string]string{metric}, res)
	})
	t.Run("labels", func(t *testing.T) {
		var res []string
		status, msg := get(t, srv, "/api/v1/labels", &res)
		require.Equal(t, http.StatusOK, status, msg)
		require.Equal(t, []string{"__name__", "cluster", "node"}, res)
		status, msg = get(t, srv, "/api/v1/label/node/values", &res)
		require.Equal(t, http.StatusOK, status, msg)
		require.Equal(t, []string{"a@h"}, res)
	})
	t.Run("metadata", func(t *testing.T) {
		var res map[string][]Metadata
		status, msg := get(t, srv, "/api/v1/metadata?metric=x", &res)
		require.Equal(t, http.StatusOK, status, msg)
		require.Equal(t, map[string][]Metadata{"x": {{Type: "gauge", Help: "X."}}}, res)
	})
	t.Run("federate", func(t *testing.T) {
		resp, err := http.Get(srv.URL + "/federate?match[]=beam_x")
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Regexp(t, `^# HELP beam_x Federated by beamctl.\n# TYPE beam_x untyped\nbeam_x\{cluster="c",node="a@h"\} 5 \d{13}\n$`, string(b))
	})
	t.Run("nodes", func(t *testing.T) {
		var res []Node
		status, msg := get(t, srv, "/api/v1/nodes", &res)
		require.Equal(t, http.StatusOK, status, msg)
		require.Equal(t, m.nodes, res)
	})
	t.Run("families", func(t *testing.T) {
		var res []Family
		status, msg := get(t, srv, "/api/v1/families", &res)
		require.Equal(t, http.StatusOK, status, msg)
		require.Equal(t, []Family{{Cluster: "c", Family: "rel 1", Nodes: []string{"a@h", "b@h"}, OTPReleases: []string{"25", "26"}}}, res)
	})
	t.Run("notifications and their stream", func(t *testing.T) {
		require.NoError(t, m.rec.Record(ctx, journal.Notification{Time: now, Cluster: "c", Node: "a@h", Kind: "log", Severity: journal.Error, Text: "disk full"}))
		var res []journal.Notification
		status, msg := get(t, srv, "/api/v1/notifications?node=a@h&grep=disk", &res)
		require.Equal(t, http.StatusOK, status, msg)
		require.Len(t, res, 1)
		require.Equal(t, "disk full", res[0].Text)
		first := res[0].ID

		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		req, err := http.NewRequestWithContext(sctx, http.MethodGet, srv.URL+"/api/v1/notifications/stream?kind=log&after_id=0", nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
		// The handler subscribes before it answers: this one is live.
		require.NoError(t, m.rec.Record(ctx, journal.Notification{Time: now, Cluster: "c", Node: "b@h", Kind: "log", Severity: journal.Info, Text: "disk cleaned"}))
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var n journal.Notification
				require.NoError(t, json.Unmarshal([]byte(data), &n))
				require.Equal(t, "disk cleaned", n.Text)
				require.Greater(t, n.ID, first)
				return
			}
		}
		t.Fatalf("the stream ended without the notification: %v", sc.Err())
	})
	t.Run("alarms", func(t *testing.T) {
		m.alarms.SetRules([]alarm.Rule{&alarm.QueryRule{RuleName: "x_high", Expr: "beam_x > 3", Severity: alarm.Major,
			Text: "x is {{num .Value}}", Q: db}})
		m.alarms.Evaluate(ctx, now)
		var as []alarm.Alarm
		status, msg := get(t, srv, "/api/v1/alarms?active=true&node=a@h", &as)
		require.Equal(t, http.StatusOK, status, msg)
		require.Len(t, as, 1)
		require.Equal(t, "x_high", as[0].Rule)
		require.Equal(t, alarm.Major, as[0].Severity)
		require.Equal(t, "x is 5", as[0].Description)
		id, first := strconv.FormatInt(as[0].ID, 10), as[0].ID
		for q, want := range map[string]int{"rule=x_high&severity=major": 1, "severity=minor": 0, "family=rel%201": 1, "family=other": 0, "rule=y": 0} {
			status, msg = get(t, srv, "/api/v1/alarms?"+q, &as)
			require.Equal(t, http.StatusOK, status, msg)
			require.Len(t, as, want, q)
		}

		// The stream tells of the acknowledgement as it happens.
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		req, err := http.NewRequestWithContext(sctx, http.MethodGet, srv.URL+"/api/v1/alarms/stream?node=a@h", nil)
		require.NoError(t, err)
		stream, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer stream.Body.Close()
		require.Equal(t, "text/event-stream", stream.Header.Get("Content-Type"))

		resp, err := http.PostForm(srv.URL+"/api/v1/alarms/"+id+"/ack", url.Values{"who": {"ops"}})
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		sc := bufio.NewScanner(stream.Body)
		var change alarmChange
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				require.NoError(t, json.Unmarshal([]byte(data), &change))
				break
			}
		}
		require.Equal(t, "acked", change.Event.Kind.String())
		require.Equal(t, first, change.Alarm.ID)
		require.Equal(t, "anonymous@loopback", change.Alarm.AckedBy)
		var a alarm.Alarm
		status, msg = get(t, srv, "/api/v1/alarms/"+id, &a)
		require.Equal(t, http.StatusOK, status, msg)
		// The form's who is ignored: the identity is the authenticated one.
		require.Equal(t, "anonymous@loopback", a.AckedBy)
		var kinds []string
		for _, e := range a.History {
			kinds = append(kinds, e.Kind.String())
		}
		require.Contains(t, kinds, "raised")
		require.Contains(t, kinds, "acked")
	})
	t.Run("health", func(t *testing.T) {
		for path, want := range map[string]string{"/-/healthy": "beamctl is healthy.\n", "/-/ready": "beamctl is ready.\n"} {
			resp, err := http.Get(srv.URL + path)
			require.NoError(t, err)
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.Equal(t, want, string(b))
		}
	})
}
