// Command build bundles the web UI (internal/ui/src) into internal/ui/dist
// with esbuild's Go API: one minified JavaScript file and one CSS file,
// which the server embeds. uPlot comes from internal/ui/node_modules
// (npm ci, pinned by package-lock.json); `make ui` runs both.
//
//	go run ./internal/ui/build [-dir internal/ui]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/beamctl/beamctl/internal/ui/bundle"
)

func main() {
	dir := flag.String("dir", "internal/ui", "the UI's directory (src, node_modules, dist)")
	flag.Parse()
	sizes, err := bundle.Write(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
	for _, s := range sizes {
		fmt.Printf("%-8s %7d bytes, %6d gzipped\n", s.Name, s.Raw, s.Gzip)
	}
}
