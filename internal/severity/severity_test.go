package severity

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNames(t *testing.T) {
	tests := []struct {
		l    Level
		name string
	}{
		{None, ""}, {Info, "info"}, {Warning, "warning"}, {Minor, "minor"}, {Major, "major"}, {Error, "error"}, {Critical, "critical"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.name, tc.l.String())
			p, err := Parse(tc.name)
			require.NoError(t, err)
			require.Equal(t, tc.l, p)
			b, err := json.Marshal(map[string]Level{"severity": tc.l})
			require.NoError(t, err)
			require.JSONEq(t, `{"severity": "`+tc.name+`"}`, string(b))
			var back map[string]Level
			require.NoError(t, json.Unmarshal(b, &back))
			require.Equal(t, tc.l, back["severity"])
			v, err := tc.l.Value()
			require.NoError(t, err)
			require.Equal(t, tc.name, v)
			var s Level
			require.NoError(t, s.Scan(tc.name))
			require.Equal(t, tc.l, s)
		})
	}
	_, err := Parse("severe")
	require.EqualError(t, err, `unknown severity "severe"`)
	require.Equal(t, "severity(9)", Level(9).String())
	require.Less(t, Warning, Minor)
	require.Less(t, Major, Critical)
	require.Less(t, Info, Error)
}
