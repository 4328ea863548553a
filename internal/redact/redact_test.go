package redact

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://hooks.slack.com/services/T000/B000/XXXXXXXX", "https://hooks.slack.com"},
		{"http://user:pw@alertmanager:9093/api?token=x#frag", "http://alertmanager:9093"},
		{"ftp://xxxxx@am.example:9093/?k", "ftp://am.example:9093"},
		{"localhost:9093", "localhost:9093"},
		{"hooks.slack.com/services/T000/B000/XXXX", "(not shown: it may hold a token)"},
		{"http://[::1", "(not shown: it may hold a token)"},
		{"", ""},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, URL(tt.in), tt.in)
	}
}

func TestString(t *testing.T) {
	u := "https://u:p%40ss@hooks.example/services/T0%2FKEN?key=K"
	text := fmt.Sprintf("Post %q: dial tcp: refused; path /services/T0/KEN; escaped /services/T0%%2FKEN; query key=K; user u:p%%40ss; password p@ss", u)
	got := String(text, URLSecrets(u)...)
	require.Equal(t, `Post "<secret>": dial tcp: refused; path <secret>; escaped <secret>; query <secret>; user <secret>; password <secret>`, got)
}

func TestError(t *testing.T) {
	err := fmt.Errorf("post to https://x/T0KEN: %w", context.DeadlineExceeded)
	red := Error(err, "T0KEN")
	require.EqualError(t, red, "post to https://x/<secret>: context deadline exceeded")
	require.ErrorIs(t, red, context.DeadlineExceeded)
	require.Nil(t, errors.Unwrap(red), "no way back to the text with the secret")
	require.NoError(t, Error(nil, "x"))
	plain := errors.New("nothing secret")
	require.Equal(t, plain, Error(plain, "T0KEN"))
}
