package bundle

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// budget is the web UI's budget of compressed JS+CSS (issue 13).
const budget = 200 * 1000

// TestBundleFresh: the committed dist/ is what the sources build to (run
// `make ui` after changing internal/ui/src), and it is within the budget.
func TestBundleFresh(t *testing.T) {
	dir := filepath.Join("..")
	assets, err := Build(dir)
	require.NoError(t, err)
	total := 0
	for _, a := range assets {
		committed, err := os.ReadFile(filepath.Join(dir, "dist", a.Name))
		require.NoError(t, err)
		require.True(t, string(committed) == string(a.Data), "internal/ui/dist/%s is stale: run `make ui`", a.Name)
		gz := Gzipped(a.Data)
		t.Logf("%s: %d bytes, %d gzipped", a.Name, len(a.Data), gz)
		total += gz
	}
	require.LessOrEqual(t, total, budget, "compressed JS+CSS over the budget")
}
