package cli

import "fmt"

// humanBytes prints a size the way ectl's tables do: 592B, 84.00KB, 1.22GB.
func humanBytes(n float64) string {
	neg := ""
	if n < 0 {
		neg, n = "-", -n
	}
	switch {
	case n < 1024:
		return fmt.Sprintf("%s%.0fB", neg, n)
	case n < 1<<20:
		return fmt.Sprintf("%s%.2fKB", neg, n/1024)
	case n < 1<<30:
		return fmt.Sprintf("%s%.2fMB", neg, n/(1<<20))
	}
	return fmt.Sprintf("%s%.2fGB", neg, n/(1<<30))
}
