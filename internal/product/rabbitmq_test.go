package product

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/etf"
)

func TestRabbitAlarms(t *testing.T) {
	node := etf.Atom("rabbit@h")
	tests := []struct {
		name string
		in   etf.Term
		want []string
	}{
		{"none", etf.List{}, []string{}},
		{"memory and disk", etf.List{
			etf.Tuple{etf.Tuple{etf.Atom("resource_limit"), etf.Atom("memory"), node}, etf.List{}},
			etf.Tuple{etf.Tuple{etf.Atom("resource_limit"), etf.Atom("disk"), node}, etf.List{}},
		}, []string{"disk", "memory"}},
		{"file descriptors", etf.List{etf.Tuple{etf.Atom("file_descriptor_limit"), etf.List{}}}, []string{"file_descriptor_limit"}},
		{"garbage is skipped", etf.List{int64(1), etf.Tuple{etf.Atom("x")}, etf.Tuple{etf.Tuple{int64(1)}, etf.List{}}}, []string{}},
		{"not a list", etf.Atom("undefined"), []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, rabbitAlarms(tc.in))
		})
	}
}

func TestParseQueueScan(t *testing.T) {
	q := func(name string, ready, unacked int64) etf.Tuple {
		return etf.Tuple{[]byte("/"), []byte(name), etf.Atom("classic"), ready, unacked, int64(1), int64(2048)}
	}
	good := etf.Tuple{etf.Atom("calls"), int64(3), int64(1), etf.Tuple{int64(210), int64(5), int64(3), int64(6144)},
		etf.List{q("small", 10, 0), q("big", 200, 5)}}
	s, err := parseQueueScan(good)
	require.NoError(t, err)
	require.Equal(t, "calls", s.Source)
	require.Equal(t, int64(1), s.Unanswered)
	require.Equal(t, []string{"big", "small"}, []string{s.Top[0].Name, s.Top[1].Name}, "largest messages first")
	require.Equal(t, int64(205), s.Top[0].Messages())

	for name, bad := range map[string]etf.Term{
		"not a tuple":    etf.Atom("error"),
		"short sums":     etf.Tuple{etf.Atom("calls"), int64(0), int64(0), etf.Tuple{int64(0)}, etf.List{}},
		"top not a list": etf.Tuple{etf.Atom("calls"), int64(0), int64(0), etf.Tuple{int64(0), int64(0), int64(0), int64(0)}, etf.Atom("x")},
		"short queue":    etf.Tuple{etf.Atom("calls"), int64(0), int64(0), etf.Tuple{int64(0), int64(0), int64(0), int64(0)}, etf.List{etf.Tuple{int64(1)}}},
	} {
		_, err := parseQueueScan(bad)
		require.Error(t, err, name)
	}
}
