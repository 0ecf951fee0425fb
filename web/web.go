// Package web serves the browser apps, the officials' offline verifier at
// /verify/, the resident's wallet at /wallet/ and the officers' console at
// /officer/, from files embedded in the binary, with their shared
// WebAssembly module under /app/ and the names of places and ethnic groups
// the pages show in /app/names.json (from package permit's tables).
//
// The module (app/epermit.wasm, built from cmd/epermit-wasm by "make wasm")
// and Go's app/wasm_exec.js are build products: a binary built without them
// still serves the pages, and answers 503 for the module with how to build it.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/epermit/epermit/internal/httpgzip"
	"github.com/epermit/epermit/permit"
)

//go:embed all:static
var static embed.FS

// Config is what the pages need to know of the service that serves them.
type Config struct {
	// Pin is the RFC 7638 thumbprint of the root key that signs the trust list.
	Pin string
	// Issuer is the service's base URL.
	Issuer string
}

// file is one embedded file ready to serve.
type file struct {
	body  []byte
	ctype string
	etag  string

	gzOnce sync.Once
	gz     []byte // body compressed, made on first use; nil when not worth it
}

// gzipped returns the body compressed with gzip, or nil for a small file.
func (f *file) gzipped() []byte {
	f.gzOnce.Do(func() {
		if len(f.body) < 1024 || strings.HasPrefix(f.ctype, "image/png") {
			return
		}
		f.gz = httpgzip.Compress(f.body)
	})
	return f.gz
}

// Handler serves the apps. Mount it for the paths under /verify/, /wallet/,
// /officer/ and /app/.
type Handler struct {
	files map[string]*file // by URL path
}

// New reads the embedded files and returns their handler.
func New(cfg Config) (*Handler, error) {
	h := &Handler{files: map[string]*file{}}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		h.add("/"+strings.TrimPrefix(p, "static/"), body)
		return nil
	})
	if err != nil {
		return nil, err
	}
	conf, err := json.Marshal(map[string]string{"pin": cfg.Pin, "trust_list": "/trust-list", "issuer": cfg.Issuer})
	if err != nil {
		return nil, err
	}
	h.add("/verify/config.json", conf)
	names, err := namesJSON()
	if err != nil {
		return nil, err
	}
	h.add("/app/names.json", names)
	return h, nil
}

// namesJSON is /app/names.json: the full names of the GB/T 2260 divisions
// package permit knows ("divisions": code -> [zh, en], see
// permit.Division.Name for the fallback the pages apply to other codes)
// and of the 56 ethnic groups ("ethnicities": GB/T 3304 code -> [zh, en]).
func namesJSON() ([]byte, error) {
	eth := map[string][2]string{}
	for i := 1; i <= 56; i++ {
		code := fmt.Sprintf("%02d", i)
		if zh, en, ok := permit.EthnicityName(code); ok {
			eth[code] = [2]string{zh, en}
		}
	}
	return json.Marshal(map[string]any{"divisions": permit.DivisionNames(), "ethnicities": eth})
}

func (h *Handler) add(p string, body []byte) {
	ctype := mime.TypeByExtension(path.Ext(p))
	switch path.Ext(p) {
	case ".webmanifest":
		ctype = "application/manifest+json"
	case ".wasm":
		ctype = "application/wasm"
	case "":
		ctype = http.DetectContentType(body)
	}
	sum := sha256.Sum256(body)
	h.files[p] = &file{body: body, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
}

// ServeHTTP serves GET and HEAD for the embedded files; a directory path
// serves its index.html.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if p == "/verify" || p == "/wallet" || p == "/officer" {
		http.Redirect(w, r, p+"/", http.StatusMovedPermanently)
		return
	}
	if strings.HasSuffix(p, "/") {
		p += "index.html"
	}
	f := h.files[p]
	if f == nil {
		if p == "/app/epermit.wasm" || p == "/app/wasm_exec.js" {
			http.Error(w, "the WebAssembly module is not built into this binary: run make wasm, then build again", http.StatusServiceUnavailable)
			return
		}
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", f.ctype)
	hd.Set("ETag", f.etag)
	// Always revalidate: the service workers keep the apps for offline use.
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	if strings.HasSuffix(p, ".html") {
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; style-src 'self' 'unsafe-inline'; connect-src 'self'; worker-src 'self'; manifest-src 'self'; frame-ancestors 'none'")
		hd.Set("Referrer-Policy", "no-referrer")
	}
	hd.Add("Vary", "Accept-Encoding")
	body := f.body
	if gz := f.gzipped(); gz != nil && httpgzip.Accepted(r) {
		// The module is 8 MB and compresses to a third: send it compressed,
		// under the identity body's ETag made weak (the same content).
		hd.Set("Content-Encoding", "gzip")
		hd.Set("ETag", `W/`+f.etag)
		body = gz
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// Built reports whether the WebAssembly module is embedded.
func (h *Handler) Built() bool { return h.files["/app/epermit.wasm"] != nil }

// Export writes the apps as static files under dir, with /verify/config.json
// for this configuration, for a web server other than permitd: dir/verify/,
// dir/wallet/, dir/officer/ and dir/app/ go at the root of the site that also
// serves the trust list (/trust-list), the status lists, the wallet's
// endpoints and (for the console and the verifier's portraits) /v1/.
func (h *Handler) Export(dir string) (int, error) {
	n := 0
	for p, f := range h.files {
		if strings.HasSuffix(p, "/README.md") || strings.HasSuffix(p, "/.keep") {
			continue
		}
		path := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(p, "/")))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return n, err
		}
		if err := os.WriteFile(path, f.body, 0o644); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
