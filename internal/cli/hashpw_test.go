package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// TestHashPassword: the hash it prints is one the web configuration
// accepts and that matches the password; bad input is a sentence.
// (Not parallel: it sets the package's passwordIn.)
func TestHashPassword(t *testing.T) {
	defer func(r io.Reader) { passwordIn = r }(passwordIn)
	tests := []struct {
		name   string
		input  string
		args   []string
		errSub string
	}{
		{"table", "s3cret pass\n", []string{"hash-password", "--cost", "4"}, ""},
		{"json", "s3cret pass", []string{"-o", "json", "hash-password", "--cost", "4"}, ""},
		{"empty", "\n", []string{"hash-password"}, "no password on standard input"},
		{"too long", strings.Repeat("x", 73) + "\n", []string{"hash-password"}, "longer than 72 bytes"},
		{"bad cost", "pw\n", []string{"hash-password", "--cost", "99"}, "--cost must be from 4 to 31"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			passwordIn = strings.NewReader(tc.input)
			code, stdout, stderr := run(t, tc.args...)
			if tc.errSub != "" {
				require.Equal(t, 1, code)
				require.Contains(t, stderr, tc.errSub)
				return
			}
			require.Zero(t, code, stderr)
			h := strings.TrimSpace(stdout)
			if tc.name == "json" {
				var v struct{ Hash string }
				require.NoError(t, json.Unmarshal([]byte(stdout), &v))
				h = v.Hash
			}
			require.NoError(t, bcrypt.CompareHashAndPassword([]byte(h), []byte("s3cret pass")))
			require.Error(t, bcrypt.CompareHashAndPassword([]byte(h), []byte("other")))
			web := filepath.Join(t.TempDir(), "web.yml")
			require.NoError(t, os.WriteFile(web, []byte(fmt.Sprintf("basic_auth_users:\n  alice: %s\n", h)), 0o600))
			code, stdout, stderr = run(t, "check", "web-config", web)
			require.Zero(t, code, stderr)
			require.Contains(t, stdout, "1 users")
		})
	}
}
