package dist

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/etf"
)

// header builds 131 'D' with the given refs: each ref is (new, segment,
// index, text). The flag nibbles are packed low half first, and the
// LongAtoms nibble follows the last ref's nibble.
func header(long bool, refs ...struct {
	isNew    bool
	seg, idx byte
	text     string
},
) []byte {
	n := len(refs)
	b := []byte{tagVersion, tagDistHeader, byte(n)}
	if n == 0 {
		return b
	}
	flags := make([]byte, n/2+1)
	set := func(i int, v byte) {
		if i%2 == 1 {
			v <<= 4
		}
		flags[i/2] |= v
	}
	for i, r := range refs {
		v := r.seg & 0x7
		if r.isNew {
			v |= 0x8
		}
		set(i, v)
	}
	if long {
		set(n, 1)
	}
	b = append(b, flags...)
	for _, r := range refs {
		b = append(b, r.idx)
		if r.isNew {
			if long {
				b = append(b, byte(len(r.text)>>8))
			}
			b = append(b, byte(len(r.text)))
			b = append(b, r.text...)
		}
	}
	return b
}

type ref = struct {
	isNew    bool
	seg, idx byte
	text     string
}

func TestParseDistHeader(t *testing.T) {
	tests := []struct {
		name    string
		frames  [][]byte // decoded in order on one cache
		want    []etf.Atom
		wantErr string
	}{
		{name: "no refs", frames: [][]byte{header(false)}, want: nil},
		{
			name:   "odd count, new entries",
			frames: [][]byte{header(false, ref{true, 0, 1, "a"}, ref{true, 3, 200, "bb"}, ref{true, 7, 255, "ccc"})},
			want:   []etf.Atom{"a", "bb", "ccc"},
		},
		{
			name:   "even count, long atoms",
			frames: [][]byte{header(true, ref{true, 1, 2, "x"}, ref{true, 2, 3, "yy"})},
			want:   []etf.Atom{"x", "yy"},
		},
		{
			name: "old entries resolve through the cache",
			frames: [][]byte{
				header(false, ref{true, 5, 9, "rex"}),
				header(false, ref{false, 5, 9, ""}, ref{true, 0, 0, "new"}),
			},
			want: []etf.Atom{"rex", "new"},
		},
		{name: "reference to an empty entry", frames: [][]byte{header(false, ref{false, 0, 1, ""})}, wantErr: "empty entry 1"},
		{
			// A node caches the empty atom too (a REG_SEND's unused
			// cookie field): a later reference to it is valid.
			name: "the empty atom cached",
			frames: [][]byte{
				header(false, ref{true, 0, 4, ""}),
				header(false, ref{false, 0, 4, ""}),
			},
			want: []etf.Atom{""},
		},
		{name: "truncated text", frames: [][]byte{header(false, ref{true, 0, 1, "abc"})[:7]}, wantErr: "truncated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cache atomCache
			var got []etf.Atom
			var err error
			for _, f := range tc.frames {
				var n int
				got, n, err = parseDistHeader(f[2:], &cache)
				if err == nil {
					require.Equal(t, len(f)-2, n)
				}
			}
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestFrameRoundTrip(t *testing.T) {
	pid := etf.Pid{Node: "a@b", ID: 1, Creation: 7}
	msg := etf.Tuple{etf.Atom("hello"), etf.List{int64(1), int64(2)}}
	tests := []struct {
		name string
		ctl  etf.Tuple
		read bool // dispatch reads the message, so it is decoded
	}{
		{"send", etf.Tuple{int64(opSendSender), pid, pid}, true},
		{"monitor exit", etf.Tuple{int64(opPayloadMonitorPExit), pid, pid, etf.Ref{Node: "a@b", Len: 3, ID: [etf.MaxRefWords]uint32{1, 2, 3}}}, true},
		{"link exit", etf.Tuple{int64(opPayloadExit), pid, pid}, true},
		{"exit/2", etf.Tuple{int64(opPayloadExit2), pid, pid}, false},
		{"reg send", etf.Tuple{int64(opRegSend), pid, etf.Atom(""), etf.Atom("rex")}, false},
	}
	for _, tc := range tests {
		for _, useHeader := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/header=%v", tc.name, useHeader), func(t *testing.T) {
				b, err := appendFrame(nil, useHeader, tc.ctl, msg, true)
				require.NoError(t, err)
				require.Equal(t, len(b)-4, int(b[0])<<24|int(b[1])<<16|int(b[2])<<8|int(b[3]))
				var cache atomCache
				f, err := decodeFrame(b[4:], &cache)
				require.NoError(t, err)
				require.True(t, etf.Equal(tc.ctl, f.control))
				require.True(t, f.hasMsg)
				if !tc.read {
					require.Nil(t, f.message, "an ignored message is not decoded")
					// Its bytes are not even looked at.
					b[len(b)-1] = 0xff
					_, err := decodeFrame(b[4:], &cache)
					require.NoError(t, err)
					return
				}
				require.True(t, etf.Equal(msg, f.message))
			})
		}
	}
}

// FuzzDecodeFrame feeds arbitrary frames to the frame decoder, which reads
// bytes straight from the network: it must return an error, never panic.
func FuzzDecodeFrame(f *testing.F) {
	ctl := etf.Tuple{int64(opSend), etf.Atom(""), etf.Pid{Node: "a@b", ID: 1, Creation: 7}}
	for _, useHeader := range []bool{false, true} {
		b, err := appendFrame(nil, useHeader, ctl, etf.Atom("x"), true)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[4:])
	}
	f.Add(append(header(false, ref{true, 0, 1, "a"}, ref{false, 0, 1, ""}), 82, 0))
	f.Add(append(header(true, ref{true, 1, 2, "rex"}), 104, 1, 82, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		var cache atomCache
		_, _ = decodeFrame(b, &cache)
		_, _, _ = peekReplyRef(b, &cache)
	})
}
