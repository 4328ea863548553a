package termtext

import (
	"testing"

	"github.com/beamctl/beamctl/internal/etf"
)

// FuzzParse feeds arbitrary text to the parser: it must not panic, and
// whatever it parses must print, flat and pretty, as text that parses back
// to an equal term.
func FuzzParse(f *testing.F) {
	for _, s := range erlangTexts {
		f.Add(s)
	}
	for _, s := range erlangRejects {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o := Options{LocalNode: local, MaxBytes: -1} // Round trips need the whole text.
		term, err := ParseWith(s, o)
		if err != nil {
			return
		}
		for _, text := range []string{FormatWith(term, o), FormatPrettyWith(term, o)} {
			back, err := ParseWith(text, o)
			if err != nil {
				t.Fatalf("%q parsed to %#v, printed as %q, which does not parse: %v", s, term, text, err)
			}
			if !etf.Equal(term, back) {
				t.Fatalf("%q: printed as %q, parsed back as %#v, want %#v", s, text, back, term)
			}
		}
		if ex := FormatElixir(term, Options{LocalNode: local, MaxBytes: 4096}); len(ex) > 4096+3 {
			t.Fatalf("%q: Elixir's text is %d bytes, over its bound", s, len(ex))
		}
	})
}
