//go:build unix

package audit

import (
	"os"
	"syscall"
)

// flock takes the exclusive advisory lock writers in other processes wait
// for.
func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			return err
		}
	}
}

func funlock(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
