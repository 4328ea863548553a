package etf

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the decoder. It must never panic;
// whatever it decodes must encode, decode again to an Equal term, and
// encode to the same bytes the second time (the encoding is canonical).
// The seed corpus is random terms plus testdata/fuzz/FuzzDecode, which
// holds term_to_binary output of a real OTP 25 and the inputs of past
// findings.
func FuzzDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		b, err := Encode(randomTerm(r, 4))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	payload := cat([]byte{tagSmallTuple, 2, tagNil}, []byte{tagString, 0, 2, 'h', 'i'})
	f.Add(cat([]byte{131, tagCompressed}, u32(uint32(len(payload))), zlibData(payload)))
	f.Add([]byte{131, tagList, 0, 0, 0, 1, tagSmallInteger, 1, tagList, 0, 0, 0, 1, tagSmallInteger, 2, tagString, 0, 1, 3})
	f.Add([]byte{131, tagMap, 0, 0, 0, 1, tagAtom, 0, 1, 0xe9, tagFloat})
	f.Fuzz(func(t *testing.T, b []byte) {
		d := Decoder{AtomCache: []Atom{"a", "b"}, MaxDepth: 100, MaxDecompressed: 1 << 20}
		_, _, _ = d.DecodeTerm(b) // without the version byte: must not panic either
		term, err := Decode(b)
		if err != nil {
			return
		}
		if !Equal(term, term) {
			t.Fatalf("%#v is not Equal to itself", term)
		}
		enc, err := Encode(term)
		if err != nil {
			t.Fatalf("decoded %#v but cannot encode it: %v", term, err)
		}
		again, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-decode of %#v: %v", term, err)
		}
		if !Equal(term, again) || !Equal(again, term) {
			t.Fatalf("round trip changed %#v into %#v", term, again)
		}
		enc2, err := Encode(again)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("second encoding differs (%v):\n%x\n%x", err, enc, enc2)
		}
	})
}
