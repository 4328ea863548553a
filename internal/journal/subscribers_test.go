package journal

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSubscribers(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer s.Close()
	r := NewRecorder(s, nil, RecorderOptions{})
	require.Zero(t, r.Subscribers())
	_, cancelA := r.Subscribe(Filter{}, 1)
	_, cancelB := r.Subscribe(Filter{Node: "a@h"}, 1)
	require.Equal(t, 2, r.Subscribers())
	cancelA()
	cancelA() // a second cancel changes nothing
	require.Equal(t, 1, r.Subscribers())
	cancelB()
	require.Zero(t, r.Subscribers())
}
