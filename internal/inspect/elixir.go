package inspect

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/termtext"
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

// ElixirNames are a process's pid, registered name and MFAs as Elixir
// writes them (#PID<0.109.0>, MyApp.Worker, Process.sleep/1).
type ElixirNames struct {
	Pid             string `json:"pid"`
	RegisteredName  string `json:"registered_name,omitempty"`
	CurrentFunction string `json:"current_function"`
	InitialCall     string `json:"initial_call"`
}

// elixirNames spells a process's names as Elixir does when one of them is
// of an Elixir module, and is nil otherwise: the API's JSON then has both
// spellings where they differ.
func elixirNames(pid, name, current, initial string) *ElixirNames {
	isElixir := false
	for _, s := range []string{name, current, initial} {
		if strings.HasPrefix(s, "Elixir.") || strings.HasPrefix(s, "'Elixir.") {
			isElixir = true
		}
	}
	if !isElixir {
		return nil
	}
	out := &ElixirNames{Pid: "#PID" + pid, CurrentFunction: termtext.ElixirName(current), InitialCall: termtext.ElixirName(initial)}
	if name != "" {
		out.RegisteredName = termtext.ElixirName(name)
	}
	return out
}
