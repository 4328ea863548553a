// Package etf encodes and decodes Erlang's External Term Format, the byte
// format of term_to_binary/1 and of every message on the distribution wire.
//
// A decoded term is one of the Go types below. The mapping is lossless, so a
// decoded term re-encodes to a term that is =:= to the original:
//
//	atom                 Atom
//	integer              int64, or *big.Int when it does not fit in int64
//	float                float64
//	binary               []byte
//	bitstring            BitBinary
//	list                 List (proper), ImproperList (with a non-[] tail)
//	[]                   List(nil)
//	"abc" (STRING_EXT)   String (a list of bytes 0..255)
//	tuple                Tuple
//	map                  Map (ordered key/value pairs; any key type)
//	pid, port, ref       Pid, Port, Ref
//	fun M:F/A            Export
//	fun (local)          Fun (kept opaque: it can be re-encoded, not called)
//
// Decoding is safe on untrusted bytes: it never panics, bounds nesting depth,
// and never allocates more than the input can justify (a length field larger
// than the remaining input is an error, not an allocation).
package etf

import "fmt"

// Term is any value this package can encode or has decoded.
type Term = any

// Atom is an Erlang atom. Its text is UTF-8.
type Atom string

// Common atoms.
const (
	True      Atom = "true"
	False     Atom = "false"
	Undefined Atom = "undefined"
	OK        Atom = "ok"
	Error     Atom = "error"
)

// String is a list of small integers (0..255) that Erlang sent as STRING_EXT.
// Each byte of the Go string is one element of the list; it is not UTF-8
// decoded (use ToString for that).
type String string

// List is a proper Erlang list. The empty list [] decodes as List(nil).
type List []Term

// ImproperList is a list whose tail is not []: [a, b | c].
type ImproperList struct {
	Elems []Term
	Tail  Term
}

// Tuple is an Erlang tuple.
type Tuple []Term

// MapPair is one association of a Map.
type MapPair struct {
	Key   Term
	Value Term
}

// Map is an Erlang map kept as ordered pairs, so that keys of any type
// (tuples, lists, maps) survive. Look keys up with Get.
type Map []MapPair

// BitBinary is a bitstring whose length is not a multiple of 8: Bits (1..8)
// bits of the last byte are used, counted from the most significant bit.
type BitBinary struct {
	Bytes []byte
	Bits  uint8
}

// Pid is a process identifier.
type Pid struct {
	Node     Atom
	ID       uint32
	Serial   uint32
	Creation uint32
}

// Port is a port identifier.
type Port struct {
	Node     Atom
	ID       uint64
	Creation uint32
}

// MaxRefWords is the largest number of ID words a reference carries.
const MaxRefWords = 5

// Ref is a reference. It is comparable, so it can key a Go map.
type Ref struct {
	Node     Atom
	Creation uint32
	Len      uint8 // number of valid words in ID
	ID       [MaxRefWords]uint32
}

// Export is an external fun: fun Module:Function/Arity.
type Export struct {
	Module   Atom
	Function Atom
	Arity    uint8
}

// Fun is a local fun (NEW_FUN_EXT). It is kept so it can be printed and
// re-encoded; Go cannot call it.
type Fun struct {
	Arity    uint8
	Uniq     [16]byte
	Index    uint32
	Module   Atom
	OldIndex int64
	OldUniq  int64
	Pid      Pid
	FreeVars []Term
}

// Words returns the valid ID words of r.
func (r Ref) Words() []uint32 { return r.ID[:r.Len] }

// Get returns the value stored under key (compared with Equal).
func (m Map) Get(key Term) (Term, bool) {
	for _, p := range m {
		if Equal(p.Key, key) {
			return p.Value, true
		}
	}
	return nil, false
}

// String renders the pid as Erlang shows a pid of an unknown node index.
func (p Pid) String() string { return fmt.Sprintf("<%s.%d.%d>", p.Node, p.ID, p.Serial) }
