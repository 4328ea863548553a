//go:build !unix

package audit

import "os"

// flock does nothing where there is no flock: writers in one process are
// still serialized by the Log's mutex.
func flock(*os.File) error { return nil }

func funlock(*os.File) {}
