package nodename

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Name
		long    bool
		wantErr string
	}{
		{in: "app@host", want: Name{"app", "host"}},
		{in: "app@host.example.com", want: Name{"app", "host.example.com"}, long: true},
		{in: "rabbit@10.0.0.1", want: Name{"rabbit", "10.0.0.1"}, long: true},
		{in: "justaname", wantErr: `node name "justaname" has no @host part (expected name@host)`},
		{in: "@host", wantErr: `node name "@host" is not of the form name@host`},
		{in: "a@b@c", wantErr: `node name "a@b@c" is not of the form name@host`},
		{in: "a b@h", wantErr: `node name "a b@h": character ' ' is not allowed in the name part`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			n, err := Parse(tc.in)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, n)
			require.Equal(t, tc.in, n.String())
			require.Equal(t, tc.long, n.Long())
		})
	}
}
