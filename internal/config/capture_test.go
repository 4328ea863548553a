package config

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCaptureSettings(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "conf.bad-redact-shell.yml"))
	require.Error(t, err)
	require.Equal(t, `config testdata/conf.bad-redact-shell.yml: capture.redact_shell[1] "token=(" is not a regular expression`, err.Error())

	c, err := Parse([]byte("capture: {redact_shell: ['(?i)password\\S*']}\nclusters: [{name: x, cookie: c, nodes: [a@h]}]\n"), t.TempDir())
	require.NoError(t, err)
	require.Len(t, c.Capture.ShellRedactions(), 1)
	require.Equal(t, `db("[REDACTED]`, c.Capture.ShellRedactions()[0].ReplaceAllLiteralString(`db("PASSWORD=x")`, "[REDACTED]"))
}
