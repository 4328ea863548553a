package termtext

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/beamctl/beamctl/internal/etf"
)

// FormatElixir writes a term as Elixir's inspect/1 would, on one line:
// aliases (MyApp.Worker for 'Elixir.MyApp.Worker'), :atoms, "strings" for
// printable UTF-8 binaries, ~c"..." for printable charlists, %{k => v}
// maps, #PID<0.1.0>. It is bounded as Format is (o.MaxBytes): a longer
// text is cut with "..." where the bound is reached.
func FormatElixir(t etf.Term, o Options) string {
	max := o.MaxBytes
	if max == 0 {
		max = DefaultMaxBytes
	}
	w := &exWriter{opts: o, max: max}
	w.term(t, 0)
	if w.cut {
		w.b.WriteString("...")
	}
	return w.b.String()
}

type exWriter struct {
	opts Options
	b    strings.Builder
	max  int // < 0: unbounded
	cut  bool
}

func (w *exWriter) str(s string) {
	if w.cut {
		return
	}
	if w.max >= 0 && w.b.Len()+len(s) > w.max {
		w.cut = true
		return
	}
	w.b.WriteString(s)
}

func (w *exWriter) term(t etf.Term, depth int) {
	if w.cut {
		return
	}
	if depth >= maxFormatDepth {
		w.str("...")
		return
	}
	switch v := t.(type) {
	case etf.Atom:
		w.str(ElixirAtomText(string(v)))
	case bool:
		w.str(strconv.FormatBool(v))
	case []byte:
		w.binary(v)
	case string:
		w.binary([]byte(v))
	case etf.String:
		l := make(etf.List, len(v))
		for i := range v {
			l[i] = int64(v[i])
		}
		w.list(l, nil, depth)
	case etf.List:
		w.list(v, nil, depth)
	case []etf.Term:
		w.list(v, nil, depth)
	case etf.ImproperList:
		w.list(v.Elems, v.Tail, depth)
	case etf.Tuple:
		w.str("{")
		for i, e := range v {
			if i > 0 {
				w.str(", ")
			}
			w.term(e, depth+1)
		}
		w.str("}")
	case etf.Map:
		w.str("%{")
		for i, p := range v {
			if i > 0 {
				w.str(", ")
			}
			if a, ok := p.Key.(etf.Atom); ok && elixirKey.MatchString(string(a)) {
				w.str(string(a) + ": ")
			} else {
				w.term(p.Key, depth+1)
				w.str(" => ")
			}
			w.term(p.Value, depth+1)
		}
		w.str("}")
	case etf.Pid:
		w.str(fmt.Sprintf("#PID<%s.%d.%d>", w.node(v.Node), v.ID, v.Serial))
	case etf.Port:
		w.str(fmt.Sprintf("#Port<%s.%d>", w.node(v.Node), v.ID))
	case etf.Ref:
		var b strings.Builder
		b.WriteString("#Reference<" + w.node(v.Node))
		for i := min(int(v.Len), etf.MaxRefWords) - 1; i >= 0; i-- {
			b.WriteString("." + strconv.FormatUint(uint64(v.ID[i]), 10))
		}
		w.str(b.String() + ">")
	case etf.Export:
		w.str("&" + ElixirMFA(string(v.Module), string(v.Function), int(v.Arity)))
	case etf.Fun:
		w.str(fmt.Sprintf("#Function<%d.%d/%s>", v.OldIndex, v.OldUniq, ElixirAtomText(string(v.Module))))
	default:
		w.str(FormatWith(t, w.opts)) // numbers and bit strings print alike
	}
}

// node writes the node of a pid: 0 for the local node, else its name.
func (w *exWriter) node(n etf.Atom) string {
	if n == w.opts.LocalNode && n != "" {
		return "0"
	}
	return string(n)
}

func (w *exWriter) list(l []etf.Term, tail etf.Term, depth int) {
	if tail == nil && len(l) > 0 {
		if s, ok := w.charlist(l); ok {
			w.str("~c" + s)
			return
		}
	}
	w.str("[")
	for i, e := range l {
		if i > 0 {
			w.str(", ")
		}
		// [a: 1] for a keyword list's pairs.
		if kv, ok := e.(etf.Tuple); ok && len(kv) == 2 && tail == nil {
			if a, ok := kv[0].(etf.Atom); ok && elixirKey.MatchString(string(a)) && keyword(l) {
				w.str(string(a) + ": ")
				w.term(kv[1], depth+1)
				continue
			}
		}
		w.term(e, depth+1)
	}
	if tail != nil {
		w.str(" | ")
		w.term(tail, depth+1)
	}
	w.str("]")
}

// keyword reports whether every element is a {key, value} pair with an
// atom key: Elixir's keyword list.
func keyword(l []etf.Term) bool {
	for _, e := range l {
		kv, ok := e.(etf.Tuple)
		if !ok || len(kv) != 2 {
			return false
		}
		if _, ok := kv[0].(etf.Atom); !ok {
			return false
		}
	}
	return true
}

// charlist writes a list of printable characters as a quoted string.
func (w *exWriter) charlist(l []etf.Term) (string, bool) {
	runes := make([]rune, len(l))
	for i, e := range l {
		n, err := etf.ToInt64(e)
		if err != nil || n < 0 || n > utf8.MaxRune || !elixirPrintable(rune(n)) {
			return "", false
		}
		runes[i] = rune(n)
	}
	return elixirQuote(string(runes)), true
}

func (w *exWriter) binary(b []byte) {
	if utf8.Valid(b) {
		ok := true
		for _, r := range string(b) {
			if !elixirPrintable(r) {
				ok = false
				break
			}
		}
		if ok {
			w.str(elixirQuote(string(b)))
			return
		}
	}
	w.str("<<")
	for i, c := range b {
		if i > 0 {
			w.str(", ")
		}
		w.str(strconv.Itoa(int(c)))
		if w.cut {
			return
		}
	}
	w.str(">>")
}

func elixirPrintable(r rune) bool {
	return r >= ' ' && r != 0x7f && (r < 0x80 || r >= 0xA0) || r == '\n' || r == '\t' || r == '\r'
}

// elixirQuote writes "s" with Elixir's escapes (interpolation too).
func elixirQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`, "\r", `\r`, "#{", `\#{`)
	return `"` + r.Replace(s) + `"`
}

var (
	elixirKey     = regexp.MustCompile(`^[a-z_][A-Za-z0-9_@]*[?!]?$`)
	elixirAliasRe = regexp.MustCompile(`^Elixir(\.[A-Z][A-Za-z0-9_]*)+$`)
)

// ElixirAtomText is an atom as Elixir writes it: an alias for
// 'Elixir.MyApp.Worker', true, false and nil bare, :name, or :"quoted".
func ElixirAtomText(a string) string {
	switch {
	case a == "true" || a == "false" || a == "nil":
		return a
	case elixirAliasRe.MatchString(a):
		return strings.TrimPrefix(a, "Elixir.")
	case elixirKey.MatchString(a):
		return ":" + a
	}
	return ":" + elixirQuote(a)
}

// ElixirMFA is Module.function/arity as Elixir writes it: Process.sleep/1,
// :gen_server.loop/7.
func ElixirMFA(module, function string, arity int) string {
	fn := function
	if !elixirKey.MatchString(fn) {
		fn = elixirQuote(fn)
	}
	return fmt.Sprintf("%s.%s/%d", ElixirAtomText(module), fn, arity)
}

// erlangMFA reads module:function/arity as Erlang writes it.
var erlangMFA = regexp.MustCompile(`^('(?:[^'\\]|\\.)*'|[a-z][A-Za-z0-9_@]*):('(?:[^'\\]|\\.)*'|[a-z][A-Za-z0-9_@]*)/(\d+)$`)

// ElixirName rewrites a module, registered name or module:function/arity
// written by Format into Elixir's spelling; other text is returned as it
// is.
func ElixirName(s string) string {
	if m := erlangMFA.FindStringSubmatch(s); m != nil {
		arity, _ := strconv.Atoi(m[3])
		return ElixirMFA(unquoteAtom(m[1]), unquoteAtom(m[2]), arity)
	}
	if s != "" && !strings.ContainsAny(s, "<>{}[], ") {
		return ElixirAtomText(unquoteAtom(s))
	}
	return s
}

func unquoteAtom(s string) string {
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		if t, err := Parse(s); err == nil {
			if a, ok := t.(etf.Atom); ok {
				return string(a)
			}
		}
		return s[1 : len(s)-1]
	}
	return s
}
