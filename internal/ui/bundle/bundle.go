// Package bundle builds the web UI's assets from internal/ui/src with
// esbuild's Go API (no Node.js program runs; npm only fetches uPlot).
package bundle

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// Asset is one built file.
type Asset struct {
	Name string // app.js, app.css
	Data []byte
}

// Size is a built file's size, plain and gzipped (the budget counts the
// latter).
type Size struct {
	Name      string
	Raw, Gzip int
}

// Build bundles dir/src/main.js and dir/src/style.css.
func Build(dir string) ([]Asset, error) {
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "uplot", "dist", "uPlot.esm.js")); err != nil {
		return nil, fmt.Errorf("uPlot is not installed in %s/node_modules: run `make ui` (npm ci): %w", dir, err)
	}
	var out []Asset
	for _, entry := range []struct{ src, name string }{{"main.js", "app.js"}, {"style.css", "app.css"}} {
		r := api.Build(api.BuildOptions{
			EntryPoints:       []string{filepath.Join(dir, "src", entry.src)},
			Bundle:            true,
			MinifyWhitespace:  true,
			MinifyIdentifiers: true,
			MinifySyntax:      true,
			Format:            api.FormatESModule,
			Target:            api.ES2020,
			NodePaths:         []string{filepath.Join(dir, "node_modules")},
			Outfile:           entry.name,
			Write:             false,
			LegalComments:     api.LegalCommentsEndOfFile,
			Charset:           api.CharsetUTF8,
		})
		if len(r.Errors) > 0 {
			msgs := api.FormatMessages(r.Errors, api.FormatMessagesOptions{Kind: api.ErrorMessage})
			return nil, fmt.Errorf("bundle %s: %s", entry.src, strings.Join(msgs, "\n"))
		}
		if len(r.OutputFiles) != 1 {
			return nil, errors.New("bundle " + entry.src + ": esbuild wrote no single file")
		}
		out = append(out, Asset{Name: entry.name, Data: r.OutputFiles[0].Contents})
	}
	return out, nil
}

// Write builds the assets into dir/dist and returns their sizes.
func Write(dir string) ([]Size, error) {
	assets, err := Build(dir)
	if err != nil {
		return nil, err
	}
	var sizes []Size
	for _, a := range assets {
		if err := os.WriteFile(filepath.Join(dir, "dist", a.Name), a.Data, 0o644); err != nil {
			return nil, fmt.Errorf("write %s: %w", a.Name, err)
		}
		sizes = append(sizes, Size{Name: a.Name, Raw: len(a.Data), Gzip: Gzipped(a.Data)})
	}
	return sizes, nil
}

// Gzipped returns the size of data gzipped at the best compression.
func Gzipped(data []byte) int {
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	_, _ = w.Write(data)
	_ = w.Close()
	return b.Len()
}
