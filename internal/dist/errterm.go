package dist

import (
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/termtext"
)

// errTermMaxBytes bounds the text of a node's term in an error: errors end
// up in logs and notifications, and the term (an exception's reason, a
// process's state) can be of any size.
const errTermMaxBytes = 8 << 10

// formatTerm writes the term of an error (a badrpc reason) on one line as
// Erlang's ~tp does, with local's pids written as <0.X.Y>, cut at
// errTermMaxBytes with a marker.
func formatTerm(t etf.Term, local etf.Atom) string {
	return termtext.FormatWith(t, termtext.Options{LocalNode: local, MaxBytes: errTermMaxBytes})
}
