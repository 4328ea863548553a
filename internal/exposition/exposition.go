// Package exposition writes the Prometheus text exposition format
// (version 0.0.4): `beamctl metrics`, the collectors' text (package
// collector) and the server's /federate all write through its Writer.
//
// Label values and HELP text are escaped as the format defines: a label
// value escapes backslash, double quote and line feed (\\, \", \n), HELP
// text backslash and line feed; every other character, control characters
// and non-ASCII text included, is written as itself. The format is UTF-8,
// so invalid UTF-8 is replaced by U+FFFD. Metric and label names are
// written as given: callers pass valid names.
package exposition

import (
	"bufio"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Label is one label of a sample.
type Label struct {
	Name, Value string
}

// Writer writes metric families and their samples. Write a family's
// Family line, then its samples; errors are returned by Flush.
type Writer struct {
	w *bufio.Writer
}

// NewWriter returns a Writer on w. Call Flush when done.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriter(w)} }

// Family writes the HELP and TYPE lines of the metric family name; typ is
// counter, gauge, histogram, summary or untyped.
func (w *Writer) Family(name, help, typ string) {
	w.w.WriteString("# HELP " + name + " " + EscapeHelp(help) + "\n")
	w.w.WriteString("# TYPE " + name + " " + typ + "\n")
}

// Sample writes one sample of the family name with labels (in order),
// then value and, unless ts is zero, ts as a Unix time in milliseconds.
func (w *Writer) Sample(name string, labels []Label, value float64, ts time.Time) {
	w.w.WriteString(name)
	if len(labels) > 0 {
		w.w.WriteByte('{')
		for i, l := range labels {
			if i > 0 {
				w.w.WriteByte(',')
			}
			w.w.WriteString(l.Name)
			w.w.WriteString(`="`)
			w.w.WriteString(EscapeLabelValue(l.Value))
			w.w.WriteByte('"')
		}
		w.w.WriteByte('}')
	}
	w.w.WriteByte(' ')
	w.w.WriteString(FormatValue(value))
	if !ts.IsZero() {
		w.w.WriteByte(' ')
		w.w.WriteString(strconv.FormatInt(ts.UnixMilli(), 10))
	}
	w.w.WriteByte('\n')
}

// Flush writes what is buffered and returns the first write error.
func (w *Writer) Flush() error { return w.w.Flush() }

// FormatValue writes a sample value: +Inf, -Inf, NaN or the shortest
// decimal that reads back as v.
func FormatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// EscapeLabelValue escapes a label value for the text between its double
// quotes.
func EscapeLabelValue(s string) string {
	return labelEscaper.Replace(strings.ToValidUTF8(s, "\uFFFD"))
}

// EscapeHelp escapes HELP text.
func EscapeHelp(s string) string {
	return helpEscaper.Replace(strings.ToValidUTF8(s, "\uFFFD"))
}
