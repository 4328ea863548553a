package config

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCookieFileWarning: serve's cookie_file gets a warning naming the
// file and chmod 600 when its group or others can read or write it.
func TestCookieFileWarning(t *testing.T) {
	tests := []struct {
		mode os.FileMode
		warn bool
	}{{0o600, false}, {0o400, false}, {0o644, true}, {0o640, true}, {0o604, true}, {0o620, true}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%04o", tt.mode), func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "cookie")
			require.NoError(t, os.WriteFile(file, []byte("secret\n"), 0o600))
			require.NoError(t, os.Chmod(file, tt.mode))
			cfg, err := Parse([]byte("clusters:\n  - name: c\n    cookie_file: cookie\n    nodes: [a@h]\n"), dir)
			require.NoError(t, err)
			require.Equal(t, "secret", cfg.Clusters[0].Cookie)
			if !tt.warn {
				require.Empty(t, cfg.Warnings)
				return
			}
			require.Equal(t, []string{fmt.Sprintf(`cluster "c": cookie file %s can be read or written by its group or others (mode %04o): run chmod 600 %s`,
				file, tt.mode, file)}, cfg.Warnings)
		})
	}
}
