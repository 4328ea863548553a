package inspect

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name  string
		tool  string
		raw   map[string]string
		check func(t *testing.T, a Args)
		err   string
	}{
		{name: "top defaults", tool: "top", check: func(t *testing.T, a Args) {
			require.Equal(t, "reductions", a.String("by"))
			require.Equal(t, 10, a.Int("n"))
			require.Zero(t, a.Duration("window"))
			require.Zero(t, a.Int("scan-limit"))
			require.False(t, a.Bool("agentless"))
		}},
		{name: "top given", tool: "top", raw: map[string]string{"by": "memory", "n": "1000", "window": "1m", "agentless": "true"},
			check: func(t *testing.T, a Args) {
				require.Equal(t, "memory", a.String("by"))
				require.Equal(t, 1000, a.Int("n"))
				require.Equal(t, time.Minute, a.Duration("window"))
				require.True(t, a.Bool("agentless"))
			}},
		{name: "empty means the default", tool: "ets", raw: map[string]string{"n": "", "sort": "", "match": ""},
			check: func(t *testing.T, a Args) {
				require.Equal(t, 20, a.Int("n"))
				require.Equal(t, "memory", a.String("sort"))
				require.Empty(t, a.String("match"))
			}},
		{name: "leaks time", tool: "leaks", raw: map[string]string{"n": "4", "pause": "1s"}, check: func(t *testing.T, a Args) {
			require.Equal(t, 4*time.Second, MustLookup("leaks").Time(a))
		}},
		{name: "leaks without gc takes no time", tool: "leaks", raw: map[string]string{"no-gc": "true"}, check: func(t *testing.T, a Args) {
			require.Zero(t, MustLookup("leaks").Time(a))
		}},
		{name: "suptree defaults", tool: "suptree", check: func(t *testing.T, a Args) {
			require.Empty(t, a.String("app"))
			require.Equal(t, 6, a.Int("depth"))
			require.Equal(t, 50, a.Int("max-children"))
			require.Equal(t, 5000, a.Int("max-nodes"))
			require.Equal(t, time.Second, a.Duration("call-timeout"))
		}},
		{name: "suptree too deep", tool: "suptree", raw: map[string]string{"depth": "21"}, err: `depth must be a whole number from 1 to 20, not "21"`},
		{name: "n too large", tool: "top", raw: map[string]string{"n": "1001"}, err: `n must be a whole number from 1 to 1000, not "1001"`},
		{name: "n not a number", tool: "leaks", raw: map[string]string{"n": "ten"}, err: `n must be a whole number from 1 to 1000, not "ten"`},
		{name: "window too long", tool: "top", raw: map[string]string{"window": "61s"}, err: `window must be a duration from 0s to 1m0s, not "61s"`},
		{name: "negative window", tool: "top", raw: map[string]string{"window": "-1s"}, err: `window must be a duration from 0s to 1m0s, not "-1s"`},
		{name: "interval too short", tool: "stat", raw: map[string]string{"interval": "10ms"}, err: `interval must be a duration from 100ms to 1h0m0s, not "10ms"`},
		{name: "bad choice", tool: "ets", raw: map[string]string{"sort": "name"}, err: `sort must be one of memory, size, not "name"`},
		{name: "bad bool", tool: "top", raw: map[string]string{"agentless": "maybe"}, err: `agentless must be true or false, not "maybe"`},
		{name: "required", tool: "pi", err: "pid is required"},
		{name: "unknown", tool: "ets", raw: map[string]string{"limit": "1"}, err: `ets has no parameter "limit"; it takes sort, n, match`},
		{name: "none taken", tool: "alloc", raw: map[string]string{"n": "1"}, err: `alloc takes no parameters, not "n"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := MustLookup(tc.tool).Parse(tc.raw)
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			tc.check(t, a)
		})
	}
}

// TestRegistry checks what every tool declares: parameters with sane
// bounds and defaults that parse, a Run, and words for what it changes.
func TestRegistry(t *testing.T) {
	seen := map[string]bool{}
	for _, tool := range Tools() {
		require.False(t, seen[tool.Name], "%s twice", tool.Name)
		seen[tool.Name] = true
		require.NotNil(t, tool.Run, tool.Name)
		require.NotEmpty(t, tool.Summary, tool.Name)
		require.Equal(t, tool.Effect == ReadOnly, tool.Changes == "", "%s: Changes says what a tool that is not read-only changes", tool.Name)
		if tool.Web {
			require.Equal(t, ReadOnly, tool.Effect, "%s: the API runs only read-only tools", tool.Name)
		}
		for _, p := range tool.Params {
			require.NotEmpty(t, p.Help, "%s %s", tool.Name, p.Name)
			if p.Kind == ParamInt || p.Kind == ParamDuration {
				require.LessOrEqual(t, p.Min, p.Max, "%s %s", tool.Name, p.Name)
			}
			if p.Kind == ParamEnum {
				require.NotEmpty(t, p.Choices, "%s %s", tool.Name, p.Name)
			}
		}
		if !slicesContainsRequired(tool.Params) {
			_, err := tool.Parse(nil)
			require.NoError(t, err, "%s: its defaults are within its bounds", tool.Name)
		}
	}
}

func slicesContainsRequired(ps []Param) bool {
	for _, p := range ps {
		if p.Required {
			return true
		}
	}
	return false
}
