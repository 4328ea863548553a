package config

import (
	"fmt"
	"os"
)

// CookieFileWarning is a warning about the cookie file at path when its
// group or others may read or write it, as ssh warns about a private key:
// whoever reads the cookie can run any code on every node of the cluster.
// It is empty when the mode is 0600 or stricter, or when the file cannot
// be examined (reading it reports that).
func CookieFileWarning(path string) string {
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm()&0o077 == 0 {
		return ""
	}
	return fmt.Sprintf("cookie file %s can be read or written by its group or others (mode %04o): run chmod 600 %s", path, st.Mode().Perm(), path)
}
