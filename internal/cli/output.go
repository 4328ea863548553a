package cli

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/termtext"
)

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// termJSON maps a term to JSON for -o json. The mapping favours what a
// script wants to read: atoms, binaries and printable charlists become
// strings, tuples and lists arrays, maps objects when every key prints as a
// string. Pids, refs, ports and funs become their Erlang text. The exact
// term is always available in Erlang text next to it (see rpc).
func termJSON(t etf.Term, local etf.Atom) any {
	switch v := t.(type) {
	case etf.Atom:
		switch v {
		case etf.True:
			return true
		case etf.False:
			return false
		}
		return string(v)
	case int64:
		return v
	case *big.Int:
		return json.Number(v.String())
	case float64:
		return v
	case []byte:
		if utf8.Valid(v) {
			return string(v)
		}
		return map[string]string{"binary_base64": base64.StdEncoding.EncodeToString(v)}
	case etf.String:
		if s, err := etf.ToString(v); err == nil {
			return s
		}
		return string(v)
	case etf.List:
		if s, ok := printableList(v); ok {
			return s
		}
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = termJSON(e, local)
		}
		return out
	case etf.ImproperList:
		out := make([]any, len(v.Elems))
		for i, e := range v.Elems {
			out[i] = termJSON(e, local)
		}
		return map[string]any{"improper_list": out, "tail": termJSON(v.Tail, local)}
	case etf.Tuple:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = termJSON(e, local)
		}
		return out
	case etf.Map:
		obj := make(map[string]any, len(v))
		for _, p := range v {
			k, ok := keyString(p.Key)
			if !ok {
				return mapPairs(v, local)
			}
			obj[k] = termJSON(p.Value, local)
		}
		return obj
	}
	return termtext.FormatWith(t, termtext.Options{LocalNode: local})
}

func mapPairs(m etf.Map, local etf.Atom) []any {
	out := make([]any, len(m))
	for i, p := range m {
		out[i] = map[string]any{"key": termJSON(p.Key, local), "value": termJSON(p.Value, local)}
	}
	return out
}

func keyString(k etf.Term) (string, bool) {
	switch v := k.(type) {
	case etf.Atom:
		return string(v), true
	case []byte:
		return string(v), utf8.Valid(v)
	case int64:
		return fmt.Sprint(v), true
	}
	return "", false
}

// printableList reports whether a list of integers reads as text, like
// io_lib:printable_unicode_list/1.
func printableList(l etf.List) (string, bool) {
	if len(l) == 0 {
		return "", false
	}
	rs := make([]rune, len(l))
	for i, e := range l {
		n, ok := e.(int64)
		if !ok || n < 0 || n > unicode.MaxRune {
			return "", false
		}
		r := rune(n)
		if !unicode.IsPrint(r) && r != '\n' && r != '\t' && r != '\r' {
			return "", false
		}
		rs[i] = r
	}
	return string(rs), true
}

// elixir reports whether tables print in Elixir's syntax: --syntax says,
// or, with auto, whether what is shown runs Elixir code (hint).
func (e *env) elixir(hint bool) bool {
	switch e.g.syntax {
	case "elixir":
		return true
	case "erlang":
		return false
	}
	return hint
}

// elixirNames reports whether any of the names or MFAs is of an Elixir
// module ('Elixir.MyApp.Worker', 'Elixir.Process':sleep/1).
func elixirNames(names ...string) bool {
	for _, n := range names {
		if strings.HasPrefix(n, "Elixir.") || strings.HasPrefix(n, "'Elixir.") {
			return true
		}
	}
	return false
}
