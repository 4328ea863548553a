// Package ui is beamctl serve's web UI: a small single-page application
// in plain JavaScript (src/), bundled with uPlot by esbuild into dist/ and
// embedded in the binary, so nothing is fetched from elsewhere at run time.
//
// Every page has its own URL under /ui/ (the shell is served for all of
// them; the script routes on the path, so links and the back button work).
// The shell holds no data: every figure comes from the API with the
// caller's credentials, so the shell and assets need no authentication.
// docs/ui.md says why this shape and not a framework.
package ui

//go:generate go run ./build -dir .

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"path"
	"strings"
	"sync"
)

//go:embed dist/app.js dist/app.css
var dist embed.FS

// Prefix is where the UI is served.
const Prefix = "/ui/"

type asset struct {
	data, gz []byte
	ctype    string
}

var (
	once    sync.Once
	assets  map[string]*asset
	version string // the assets' content hash, in their URLs
	shell   []byte
)

var shellTmpl = template.Must(template.New("shell").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>beamctl</title>
<link rel="stylesheet" href="/ui/assets/app.css?v={{.}}">
<script type="module" src="/ui/assets/app.js?v={{.}}"></script>
</head>
<body>
<noscript>beamctl's web UI needs JavaScript; the HTTP API (/api/v1/…) and the CLI do not.</noscript>
<div id="app"></div>
</body>
</html>
`))

func load() {
	assets = map[string]*asset{}
	h := sha256.New()
	for _, name := range []string{"app.js", "app.css"} {
		data, err := dist.ReadFile("dist/" + name)
		if err != nil {
			panic(fmt.Sprintf("ui: embedded %s missing: %v", name, err)) // go:embed guarantees it
		}
		h.Write(data)
		var b bytes.Buffer
		w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		_, _ = w.Write(data)
		_ = w.Close()
		ct := "text/javascript; charset=utf-8"
		if strings.HasSuffix(name, ".css") {
			ct = "text/css; charset=utf-8"
		}
		assets[name] = &asset{data: data, gz: b.Bytes(), ctype: ct}
	}
	version = hex.EncodeToString(h.Sum(nil))[:12]
	var b bytes.Buffer
	if err := shellTmpl.Execute(&b, version); err != nil {
		panic(err)
	}
	shell = b.Bytes()
}

// Sizes returns the embedded assets' sizes, plain and gzipped (as served).
func Sizes() map[string][2]int {
	once.Do(load)
	out := map[string][2]int{}
	for n, a := range assets {
		out[n] = [2]int{len(a.data), len(a.gz)}
	}
	return out
}

// Handler serves the shell for every page under /ui/ and the assets
// under /ui/assets/.
func Handler() http.Handler {
	once.Do(load)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name, ok := strings.CutPrefix(r.URL.Path, Prefix+"assets/"); ok {
			serveAsset(w, r, path.Clean(name))
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(shell)
	})
}

func serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := assets[name]
	if !ok {
		http.Error(w, "no such asset", http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Vary", "Accept-Encoding")
	if r.URL.Query().Get("v") == version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	body := a.data
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
