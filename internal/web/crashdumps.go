package web

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CrashDump is a crash dump stored by the server, as GET
// /api/v1/crashdumps lists it. Cluster, Node and File are the directory
// entries of <storage.path>/crashdumps/<cluster>/<node>/<file>, the three
// parts of its download URL.
type CrashDump struct {
	ID      string    `json:"id"` // cluster/node/file
	Cluster string    `json:"cluster"`
	Node    string    `json:"node"`
	File    string    `json:"file"`
	Size    int64     `json:"size"`    // bytes stored (gzip)
	Fetched time.Time `json:"fetched"` // when the server stored it
	// Written and Slogan are the dump's own time line and slogan, read
	// from its first lines (empty when the file is not a readable gzip
	// crash dump). The top processes are in its crash_dump notification.
	Written string `json:"written,omitempty"`
	Slogan  string `json:"slogan,omitempty"`
}

const (
	// maxCrashDumps bounds what one list request answers (limit).
	maxCrashDumps = 1000
	// dumpHeadBytes bounds what a list reads of each dump (decompressed)
	// for its time line and slogan: a dump's header is its first three
	// lines, the rest (gigabytes) is never read by a list.
	dumpHeadBytes = 16 << 10
	// dumpChunk is one write of a download, each with its own deadline.
	dumpChunk = 256 << 10
)

// crashDumps serves GET /api/v1/crashdumps?limit=N: the stored dumps,
// newest first.
func (h *handler) crashDumps(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxCrashDumps {
			h.respond(w, nil, badData("limit must be a whole number from 1 to %d, not %q", maxCrashDumps, s))
			return
		}
		limit = n
	}
	root, err := h.dumpRoot()
	if err != nil {
		h.respond(w, nil, &apiError{status: http.StatusInternalServerError, typ: "internal", err: err})
		return
	}
	if root == nil {
		h.respond(w, []CrashDump{}, nil)
		return
	}
	defer root.Close()
	dumps, err := listDumps(root.FS())
	if err != nil {
		h.respond(w, nil, &apiError{status: http.StatusInternalServerError, typ: "internal", err: err})
		return
	}
	dumps = dumps[:min(limit, len(dumps))]
	for i := range dumps {
		dumps[i].Written, dumps[i].Slogan = dumpHead(root.FS(), dumps[i].ID)
	}
	h.respond(w, dumps, nil)
}

// dumpRoot opens the crash dump directory as an os.Root, so that nothing
// outside it can be reached (nil when the server has stored no dump).
func (h *handler) dumpRoot() (*os.Root, error) {
	dir := h.m.CrashDumpDir()
	if dir == "" {
		return nil, nil
	}
	root, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the crash dumps: %w", err)
	}
	return root, nil
}

// listDumps reads the three levels cluster/node/file of the crash dump
// directory (directories and regular files only, no symbolic links),
// newest first.
func listDumps(fsys fs.FS) ([]CrashDump, error) {
	var out []CrashDump
	clusters, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("cannot read the crash dumps: %w", err)
	}
	for _, c := range clusters {
		if !c.IsDir() {
			continue
		}
		nodes, err := fs.ReadDir(fsys, c.Name())
		if err != nil {
			continue
		}
		for _, n := range nodes {
			if !n.IsDir() {
				continue
			}
			files, err := fs.ReadDir(fsys, c.Name()+"/"+n.Name())
			if err != nil {
				continue
			}
			for _, f := range files {
				if !f.Type().IsRegular() {
					continue
				}
				fi, err := f.Info()
				if err != nil {
					continue
				}
				out = append(out, CrashDump{ID: c.Name() + "/" + n.Name() + "/" + f.Name(),
					Cluster: c.Name(), Node: n.Name(), File: f.Name(), Size: fi.Size(), Fetched: fi.ModTime().UTC()})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Fetched.Equal(out[j].Fetched) {
			return out[i].Fetched.After(out[j].Fetched)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// dumpHead reads a stored dump's time line (line 2) and slogan from at
// most dumpHeadBytes of it, decompressed.
func dumpHead(fsys fs.FS, name string) (written, slogan string) {
	f, err := fsys.Open(name)
	if err != nil {
		return "", ""
	}
	defer f.Close()
	gz, err := gzip.NewReader(io.LimitReader(f, dumpHeadBytes))
	if err != nil {
		return "", ""
	}
	sc := bufio.NewScanner(io.LimitReader(gz, dumpHeadBytes))
	sc.Buffer(make([]byte, 0, 4096), dumpHeadBytes)
	for line := 1; line <= 3 && sc.Scan(); line++ {
		s := strings.TrimRight(sc.Text(), "\r")
		switch {
		case line == 2:
			written = s
		case strings.HasPrefix(s, "Slogan: "):
			slogan = strings.TrimPrefix(s, "Slogan: ")
		}
	}
	return written, slogan
}

// dumpPart checks one part of a download path: a single directory entry's
// name.
func dumpPart(what, s string) *apiError {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\\\x00") {
		return badData("the %s %q is not a crash dump's %s: give the names GET /api/v1/crashdumps lists", what, s, what)
	}
	return nil
}

// crashDump serves GET /api/v1/crashdumps/{cluster}/{node}/{file}: the
// stored file, recorded in the audit trail first. The three parts must be
// entries the list shows; the file is opened within the crash dump
// directory only (os.Root).
func (h *handler) crashDump(w http.ResponseWriter, r *http.Request) {
	cluster, node, file := r.PathValue("cluster"), r.PathValue("node"), r.PathValue("file")
	for _, p := range [][2]string{{"cluster", cluster}, {"node", node}, {"file", file}} {
		if aerr := dumpPart(p[0], p[1]); aerr != nil {
			h.respond(w, nil, aerr)
			return
		}
	}
	notFound := &apiError{status: http.StatusNotFound, typ: "not_found",
		err: fmt.Errorf("no crash dump %s/%s/%s is stored: GET /api/v1/crashdumps lists them", cluster, node, file)}
	root, err := h.dumpRoot()
	if err != nil {
		h.respond(w, nil, &apiError{status: http.StatusInternalServerError, typ: "internal", err: err})
		return
	}
	if root == nil {
		h.respond(w, nil, notFound)
		return
	}
	defer root.Close()
	name := path.Join(cluster, node, file)
	if !listed(root.FS(), cluster, node, file) {
		h.respond(w, nil, notFound)
		return
	}
	end, ok := h.audit(w, r, "crashdump.download", node, map[string]string{"cluster": cluster, "file": file})
	if !ok {
		return
	}
	f, err := root.Open(name)
	if err != nil {
		end(err)
		h.respond(w, nil, notFound)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		end(fmt.Errorf("not a regular file: %v", err))
		h.respond(w, nil, notFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": file}))
	w.Header().Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
	w.Header().Set("Cache-Control", "no-store")
	end(h.streamFile(w, f, fi.Size()))
}

// listed reports whether cluster/node/file is an entry of the directory
// listings (a directory, a directory, a regular file), compared by name.
func listed(fsys fs.FS, cluster, node, file string) bool {
	has := func(dir, name string, ok func(fs.DirEntry) bool) bool {
		es, err := fs.ReadDir(fsys, dir)
		if err != nil {
			return false
		}
		for _, e := range es {
			if e.Name() == name {
				return ok(e)
			}
		}
		return false
	}
	isDir := func(e fs.DirEntry) bool { return e.IsDir() }
	return has(".", cluster, isDir) && has(cluster, node, isDir) &&
		has(cluster+"/"+node, file, func(e fs.DirEntry) bool { return e.Type().IsRegular() })
}

// streamFile writes size bytes of f in chunks, each with its own write
// deadline in place of the server's WriteTimeout (a dump can take longer
// than that to send; a client that stops reading is still cut).
func (h *handler) streamFile(w http.ResponseWriter, f io.Reader, size int64) error {
	rc := http.NewResponseController(w)
	buf := make([]byte, dumpChunk)
	var sent int64
	for {
		n, rerr := f.Read(buf)
		if n > 0 {
			h.streamWrite(rc)
			if _, err := w.Write(buf[:n]); err != nil {
				return fmt.Errorf("sent %d of %d bytes: %w", sent, size, err)
			}
			sent += int64(n)
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("read after %d of %d bytes: %w", sent, size, rerr)
		}
	}
}
