package inspect

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/beamctl/beamctl/internal/etf"
)

// Elixir's spellings of what the tools take, read as the atoms and pids
// they are: an alias (MyApp.Worker is the atom 'Elixir.MyApp.Worker'), an
// atom literal (:name, :"a name") and an inspected pid (#PID<0.109.0>).

var (
	elixirAlias = regexp.MustCompile(`^[A-Z][A-Za-z0-9_]*(\.[A-Z][A-Za-z0-9_]*)*$`)
	elixirAtom  = regexp.MustCompile(`^:[A-Za-z_][A-Za-z0-9_@]*[?!]?$`)
)

// ElixirAtom reads an Elixir alias or atom literal; ok is false for
// anything else (an Erlang atom is read by termtext).
func ElixirAtom(s string) (etf.Atom, bool) {
	s = strings.TrimSpace(s)
	switch {
	case elixirAlias.MatchString(s):
		return etf.Atom("Elixir." + s), true
	case elixirAtom.MatchString(s):
		return etf.Atom(s[1:]), true
	case strings.HasPrefix(s, `:"`) && strings.HasSuffix(s, `"`) && len(s) > 3:
		if a, err := strconv.Unquote(s[1:]); err == nil && a != "" {
			return etf.Atom(a), true
		}
	}
	return "", false
}

// ModuleName is a module as the user gave it: Elixir's Enum or :erlang,
// or Erlang's erlang.
func ModuleName(s string) string {
	if a, ok := ElixirAtom(s); ok {
		return string(a)
	}
	return s
}
