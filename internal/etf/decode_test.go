package etf

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func u32(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }

// cat concatenates byte pieces, for writing terms by hand.
func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// zlibData compresses b as term_to_binary(T, [compressed]) does.
func zlibData(b []byte) []byte {
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// TestDecodeTags decodes hand-written terms of the tags that a current OTP
// no longer writes by default, and non-canonical encodings that
// binary_to_term still accepts. The golden test checks these same bytes
// against a real binary_to_term.
func TestDecodeTags(t *testing.T) {
	node := []byte{tagSmallAtomUTF8, 3, 'a', '@', 'b'}
	tests := []struct {
		name string
		in   []byte
		want Term
	}{
		{"ATOM_EXT", []byte{tagAtom, 0, 2, 'o', 'k'}, Atom("ok")},
		{"ATOM_EXT latin1", []byte{tagAtom, 0, 2, 'h', 0xe9}, Atom("hé")},
		{"SMALL_ATOM_EXT latin1", []byte{tagSmallAtom, 1, 0xff}, Atom("ÿ")},
		{"FLOAT_EXT", append([]byte{tagFloat}, []byte("1.50000000000000000000e+00\x00\x00\x00\x00\x00")...), 1.5},
		{"PID_EXT", cat([]byte{tagPid}, node, u32(5), u32(1), []byte{3}), Pid{Node: "a@b", ID: 5, Serial: 1, Creation: 3}},
		{"PORT_EXT", cat([]byte{tagPort}, node, u32(7), []byte{2}), Port{Node: "a@b", ID: 7, Creation: 2}},
		{"V4_PORT_EXT", cat([]byte{tagV4Port}, node, u32(1), u32(5), u32(9)), Port{Node: "a@b", ID: 1<<32 + 5, Creation: 9}},
		{"NEW_REFERENCE_EXT", cat([]byte{tagNewReference, 0, 3}, node, []byte{1}, u32(1), u32(2), u32(3)),
			Ref{Node: "a@b", Creation: 1, Len: 3, ID: [MaxRefWords]uint32{1, 2, 3}}},
		{"REFERENCE_EXT", cat([]byte{tagReference}, node, u32(42), []byte{1}),
			Ref{Node: "a@b", Creation: 1, Len: 1, ID: [MaxRefWords]uint32{42}}},
		{"SMALL_BIG with a small value", []byte{tagSmallBig, 9, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0}, int64(-1)},
		{"SMALL_BIG min int64", []byte{tagSmallBig, 8, 1, 0, 0, 0, 0, 0, 0, 0, 0x80}, int64(math.MinInt64)},
		{"LARGE_BIG of 2^64", cat([]byte{tagLargeBig}, u32(9), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 1}),
			new(big.Int).Lsh(big.NewInt(1), 64)},
		{"BIT_BINARY of whole bytes", cat([]byte{tagBitBinary}, u32(1), []byte{8, 0xff}), []byte{0xff}},
		{"BIT_BINARY clears unused bits", cat([]byte{tagBitBinary}, u32(1), []byte{3, 0xff}), BitBinary{Bytes: []byte{0xe0}, Bits: 3}},
		{"list with a list tail", cat([]byte{tagList}, u32(1), []byte{tagSmallInteger, 1, tagList}, u32(1),
			[]byte{tagSmallInteger, 2, tagNil}), List{int64(1), int64(2)}},
		{"list with a string tail", cat([]byte{tagList}, u32(1), []byte{tagSmallInteger, 1, tagString, 0, 1, 2}),
			List{int64(1), int64(2)}},
		{"empty list with a tail", cat([]byte{tagList}, u32(0), []byte{tagSmallAtomUTF8, 1, 'a'}), Atom("a")},
		{"empty LIST_EXT", cat([]byte{tagList}, u32(0), []byte{tagNil}), List(nil)},
		{"empty STRING_EXT", []byte{tagString, 0, 0}, String("")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(append([]byte{tagVersion}, tc.in...))
			require.NoError(t, err)
			require.True(t, Equal(tc.want, got), "got %#v, want %#v", got, tc.want)
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	var bomb []byte
	for range 20000 {
		bomb = append(bomb, tagSmallTuple, 1)
	}
	var listBomb []byte
	for range 20000 {
		listBomb = append(listBomb, tagList, 0, 0, 0, 1)
	}
	payload := cat([]byte{tagBinary}, u32(1000), make([]byte, 1000))
	tests := []struct {
		name      string
		in        []byte
		want      string
		truncated bool
	}{
		{"empty", nil, "etf: decode term at offset 0: unexpected end of input", true},
		{"no version", []byte{tagNil}, "etf: decode term at offset 0: expected version byte 131, got 106", false},
		{"only version", []byte{tagVersion}, "etf: decode term at offset 1: unexpected end of input: need 1 bytes, 0 left", true},
		{"unknown tag", []byte{131, 1}, "etf: decode term at offset 1: unknown tag 1", false},
		{"trailing bytes", []byte{131, tagNil, 0}, "etf: decode term at offset 2: 1 trailing bytes after the term", false},
		{"truncated integer", []byte{131, tagInteger, 0, 0}, "etf: decode integer at offset 1: unexpected end of input: need 4 bytes, 2 left", true},
		{"truncated nested", []byte{131, tagSmallTuple, 2, tagNil, tagBinary, 0, 0, 0, 9, 1},
			"etf: decode binary at offset 4: length 9 exceeds remaining 1 bytes", false},
		{"huge list", cat([]byte{131, tagList}, u32(math.MaxUint32), make([]byte, 10)),
			"etf: decode list at offset 1: length 4294967295 exceeds remaining 10 bytes", false},
		{"huge binary", cat([]byte{131, tagBinary}, u32(1<<31)), "etf: decode binary at offset 1: length 2147483648 exceeds remaining 0 bytes", false},
		{"huge string", []byte{131, tagString, 0xff, 0xff, 'a'}, "etf: decode string at offset 1: unexpected end of input: need 65535 bytes, 1 left", true},
		{"huge map", cat([]byte{131, tagMap}, u32(2), []byte{1, 2, 3}), "etf: decode map at offset 1: length 2 exceeds remaining 3 bytes", false},
		{"huge tuple", cat([]byte{131, tagLargeTuple}, u32(1<<30)), "etf: decode tuple at offset 1: length 1073741824 exceeds remaining 0 bytes", false},
		{"small tuple too big", []byte{131, tagSmallTuple, 3, tagNil}, "etf: decode tuple at offset 1: arity 3 exceeds remaining 1 bytes", false},
		{"huge bignum", cat([]byte{131, tagLargeBig}, u32(1<<30), []byte{0}), "etf: decode integer at offset 1: length 1073741824 exceeds remaining 1 bytes", false},
		{"bad bignum sign", []byte{131, tagSmallBig, 1, 2, 1}, "etf: decode integer at offset 1: bad sign byte 2", false},
		{"huge fun", cat([]byte{131, tagNewFun}, u32(1<<30)), "etf: decode fun at offset 1: size 1073741824 exceeds remaining 4 bytes", false},
		{"depth bomb", append([]byte{131}, bomb...), "etf: decode tuple at offset 20001: terms nested deeper than 10000", false},
		{"list depth bomb", append([]byte{131}, listBomb...), "etf: decode list at offset 50001: terms nested deeper than 10000", false},
		{"bad utf-8 atom", []byte{131, tagSmallAtomUTF8, 1, 0xff}, `etf: decode atom at offset 1: atom "\xff" is not valid UTF-8`, false},
		{"atom of 256 characters", cat([]byte{131, tagAtomUTF8, 1, 0}, bytes.Repeat([]byte{'a'}, 256)),
			"etf: decode atom at offset 1: atom of 256 characters, more than 255", false},
		{"cache ref without header", []byte{131, tagAtomCacheRef, 0}, "etf: decode atom at offset 1: atom cache reference 0, but the header has 0 atoms", false},
		{"NaN", []byte{131, tagNewFloat, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0}, "etf: decode float at offset 1: NaN is not an Erlang float", false},
		{"old float garbage", append([]byte{131, tagFloat}, make([]byte, 31)...), `etf: decode float at offset 1: old float text "": strconv.ParseFloat: parsing "": invalid syntax`, false},
		{"bad bit count", cat([]byte{131, tagBitBinary}, u32(1), []byte{9, 0}), "etf: decode bitstring at offset 1: 1 bytes with 9 bits used in the last one", false},
		{"ref with 6 words", []byte{131, tagNewerReference, 0, 6}, "etf: decode reference at offset 1: 6 ID words, not 1..5", false},
		{"pid without atom node", []byte{131, tagNewPid, tagNil}, "etf: decode pid at offset 1: expected an atom, got tag 106", false},
		{"duplicate map key", cat([]byte{131, tagMap}, u32(2), []byte{tagSmallInteger, 1, tagNil, tagSmallBig, 1, 0, 1, tagNil}),
			"etf: decode map at offset 1: key integer at offset 9 appears twice", false},
		{"nested compressed", []byte{131, tagSmallTuple, 1, tagCompressed}, "etf: decode compressed term at offset 3: a compressed term may only appear at the top level", false},
		{"compressed size lie", cat([]byte{131, tagCompressed}, u32(1004), zlibData(payload)),
			"etf: decode compressed term at offset 1: inflates to more bytes than the declared 1004", false},
		{"compressed size short", cat([]byte{131, tagCompressed}, u32(1006), zlibData(payload)),
			"etf: decode compressed term at offset 1: inflates to fewer bytes than the declared 1006", false},
		{"compressed over the limit", cat([]byte{131, tagCompressed}, u32(1<<31), zlibData(payload)),
			"etf: decode compressed term at offset 1: declared size 2147483648 exceeds the limit of 67108864 bytes", false},
		{"compressed bomb", cat([]byte{131, tagCompressed}, u32(1<<25), []byte{0x78, 0x9c, 1}),
			"etf: decode compressed term at offset 1: declared size 33554432 cannot come from 3 bytes of zlib data", false},
		{"compressed garbage", cat([]byte{131, tagCompressed}, u32(5), []byte{1, 2, 3, 4}),
			"etf: decode compressed term at offset 1: zlib: zlib: invalid header", false},
		{"compressed bad term", cat([]byte{131, tagCompressed}, u32(2), zlibData([]byte{tagSmallTuple, 1})),
			"etf: decode tuple at offset 0 of the inflated term: arity 1 exceeds remaining 0 bytes", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.in)
			require.EqualError(t, err, tc.want)
			var de *DecodeError
			require.ErrorAs(t, err, &de)
			require.Equal(t, tc.truncated, errors.Is(err, ErrTruncated))
		})
	}
}

// TestDecodeCompressed checks the byte count of a compressed term followed
// by other bytes.
func TestDecodeCompressed(t *testing.T) {
	payload := cat([]byte{tagBinary}, u32(1000), bytes.Repeat([]byte{7}, 1000))
	in := cat([]byte{131, tagCompressed}, u32(uint32(len(payload))), zlibData(payload))
	var d Decoder
	got, n, err := d.Decode(append(in, 0xaa, 0xbb))
	require.NoError(t, err)
	require.Equal(t, len(in), n)
	require.Equal(t, bytes.Repeat([]byte{7}, 1000), got)

	d.MaxDecompressed = 1000
	_, _, err = d.Decode(in)
	require.EqualError(t, err, "etf: decode compressed term at offset 1: declared size 1005 exceeds the limit of 1000 bytes")
}

// TestDecoderOptions covers the atom cache, MaxDepth and byte counts of
// DecodeTerm, as the distribution code uses them.
func TestDecoderOptions(t *testing.T) {
	d := Decoder{AtomCache: []Atom{"reg_send", "net_kernel"}, MaxDepth: 2}
	in := []byte{tagSmallTuple, 2, tagAtomCacheRef, 1, tagAtomCacheRef, 0, 0xff}
	got, n, err := d.DecodeTerm(in)
	require.NoError(t, err)
	require.Equal(t, 6, n)
	require.Equal(t, Tuple{Atom("net_kernel"), Atom("reg_send")}, got)

	_, _, err = d.DecodeTerm([]byte{tagAtomCacheRef, 2})
	require.EqualError(t, err, "etf: decode atom at offset 0: atom cache reference 2, but the header has 2 atoms")

	deep := []byte{tagList, 0, 0, 0, 1, tagSmallTuple, 1, tagSmallTuple, 0, tagNil}
	_, _, err = d.DecodeTerm(deep)
	require.EqualError(t, err, "etf: decode tuple at offset 7: terms nested deeper than 2")
	d.MaxDepth = 3
	_, n, err = d.DecodeTerm(deep)
	require.NoError(t, err)
	require.Equal(t, len(deep), n)
}

// TestDecodeCopies checks that nothing decoded aliases the input buffer.
func TestDecodeCopies(t *testing.T) {
	in, err := Encode(Tuple{[]byte("bin"), String("str"), Atom("a_new_atom_for_this_test"), BitBinary{Bytes: []byte{0xf0}, Bits: 4}})
	require.NoError(t, err)
	got, err := Decode(in)
	require.NoError(t, err)
	for i := range in {
		in[i] = 0
	}
	require.True(t, Equal(Tuple{[]byte("bin"), String("str"), Atom("a_new_atom_for_this_test"), BitBinary{Bytes: []byte{0xf0}, Bits: 4}}, got))
}

// TestTruncatedPrefixes cuts terms at every length: every prefix must fail
// with an error (most with ErrTruncated), never panic.
func TestTruncatedPrefixes(t *testing.T) {
	terms := []Term{
		randomTerm(rand.New(rand.NewPCG(1, 2)), 6),
		randomTerm(rand.New(rand.NewPCG(5, 6)), 6),
		Fun{Arity: 1, Module: "m", Pid: Pid{Node: "n@h"}, FreeVars: []Term{int64(1), Atom("x")}},
		Tuple{Ref{Node: "n@h", Len: 3}, Port{Node: "n@h", ID: 1 << 40}, Export{Module: "m", Function: "f", Arity: 1}},
		Tuple{1.5, BitBinary{Bytes: []byte{1, 2}, Bits: 1}, String("abc"), ImproperList{Elems: []Term{int64(1)}, Tail: int64(2)}},
	}
	for i, term := range terms {
		b, err := Encode(term)
		require.NoError(t, err)
		for n := range len(b) {
			_, err := Decode(b[:n])
			require.Error(t, err, "term %d, prefix of %d bytes", i, n)
			var de *DecodeError
			require.ErrorAs(t, err, &de)
		}
		_, err = Decode(b)
		require.NoError(t, err)
	}
}

// TestListTailChain decodes a list written as 100,000 LIST_EXTs, each the
// tail of the one before: it is one flat list, not 100,000 nested levels,
// and decoding it must cost linear time.
func TestListTailChain(t *testing.T) {
	in := []byte{tagVersion}
	for i := range 100000 {
		in = append(in, tagList, 0, 0, 0, 1, tagSmallInteger, byte(i))
	}
	in = append(in, tagNil)
	got, err := Decode(in)
	require.NoError(t, err)
	require.Len(t, got, 100000)
	require.Equal(t, int64(255), got.(List)[255])
}

// TestDecodeMapKeys checks that a key appearing twice is found in small
// (pairwise) and large (hashed) maps, across encodings of one atom or
// integer, and that keys differing deep inside are kept.
func TestDecodeMapKeys(t *testing.T) {
	mapOf := func(keys ...[]byte) []byte {
		b := cat([]byte{131, tagMap}, u32(uint32(len(keys))))
		for _, k := range keys {
			b = append(append(b, k...), tagNil)
		}
		return b
	}
	filler := func(n int) [][]byte {
		var keys [][]byte
		for i := range n {
			keys = append(keys, []byte{tagSmallInteger, byte(100 + i)})
		}
		return keys
	}
	atomUTF8 := []byte{tagSmallAtomUTF8, 1, 'a'}
	atomOld := []byte{tagAtom, 0, 1, 'a'}
	tuple := func(v byte) []byte { return []byte{tagSmallTuple, 2, tagSmallInteger, 1, tagSmallInteger, v} }
	tests := []struct {
		name string
		keys [][]byte
		want string
	}{
		{"small: atom in two encodings", [][]byte{atomUTF8, atomOld}, "key atom at offset 10 appears twice"},
		{"small: tuples", [][]byte{tuple(1), tuple(1)}, "key tuple of 2 at offset 13 appears twice"},
		{"small: distinct tuples", [][]byte{tuple(1), tuple(2)}, ""},
		{"large: atom in two encodings", append(filler(10), atomUTF8, atomOld), "key atom at offset 40 appears twice"},
		{"large: tuples", append(filler(10), tuple(1), tuple(1)), "key tuple of 2 at offset 43 appears twice"},
		{"large: distinct tuples", append(filler(10), tuple(1), tuple(2)), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(mapOf(tc.keys...))
			if tc.want != "" {
				require.EqualError(t, err, "etf: decode map at offset 1: "+tc.want)
				return
			}
			require.NoError(t, err)
			require.Len(t, got, len(tc.keys))
		})
	}
}

// TestDecodeNestedMapKeys decodes maps whose keys are maps, nested to the
// depth limit: finding duplicates must not redo work at every level.
func TestDecodeNestedMapKeys(t *testing.T) {
	var key Term = int64(0)
	for i := range DefaultMaxDepth/2 - 1 {
		m := Map{{Key: key, Value: int64(i)}}
		for j := range smallMap + 1 {
			m = append(m, MapPair{Key: Tuple{int64(j)}, Value: List(nil)})
		}
		key = m
	}
	b, err := Encode(key)
	require.NoError(t, err)
	got, err := Decode(b)
	require.NoError(t, err)
	require.True(t, Equal(key, got))
}

// TestDecodeAtomAllocs checks that decoding a known atom, inline or from
// the atom cache, allocates nothing.
func TestDecodeAtomAllocs(t *testing.T) {
	inline := []byte{131, tagSmallAtomUTF8, 2, 'o', 'k'}
	d := Decoder{AtomCache: []Atom{"net_kernel"}}
	cached := []byte{tagAtomCacheRef, 0}
	_, err := Decode(inline)
	require.NoError(t, err)
	_, _, err = d.DecodeTerm(cached)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = Decode(inline)
		_, _, _ = d.DecodeTerm(cached)
	})
	require.Zero(t, allocs)
}

// TestDecodeCacheRefNotInterned checks that an invalid atom from a
// distribution header is returned as is but not interned, so that the same
// bytes inline are still refused.
func TestDecodeCacheRefNotInterned(t *testing.T) {
	d := Decoder{AtomCache: []Atom{"bad\xff"}}
	got, _, err := d.DecodeTerm([]byte{tagAtomCacheRef, 0})
	require.NoError(t, err)
	require.Equal(t, Atom("bad\xff"), got)
	_, err = Decode([]byte{131, tagSmallAtomUTF8, 4, 'b', 'a', 'd', 0xff})
	require.EqualError(t, err, `etf: decode atom at offset 1: atom "bad\xff" is not valid UTF-8`)
}

// TestDecodeConcurrent decodes new and known atoms from several goroutines
// at once, for the race detector to check the shared atom table.
func TestDecodeConcurrent(t *testing.T) {
	done := make(chan error)
	for g := range 4 {
		go func() {
			var err error
			for i := range 2000 {
				name := Atom("concurrent_" + string(rune('a'+g)) + string(rune('a'+i%26)) + string(rune('a'+i/26%26)))
				var b []byte
				if b, err = Encode(Tuple{name, OK, Atom("concurrent_shared")}); err != nil {
					break
				}
				var got Term
				if got, err = Decode(b); err != nil {
					break
				}
				if !Equal(got, Tuple{name, OK, Atom("concurrent_shared")}) {
					err = errors.New("decoded another term")
					break
				}
			}
			done <- err
		}()
	}
	for range 4 {
		require.NoError(t, <-done)
	}
}
