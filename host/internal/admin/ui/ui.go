// Package ui is the admin dashboard: static files embedded in the binary and
// served by the admin listener at / (the page) and /ui/ (its assets). The
// page is plain ES modules with Preact and htm vendored under vendor/ (see
// vendor/README.md), so building mcphost needs no npm step.
package ui

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// CSP is the page's Content-Security-Policy: everything from its own
// origin, no inline script or style, no eval, no framing.
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

//go:embed index.html app.js api.js lib.js style.css views/*.js vendor/*.js vendor/LICENSE.*
var files embed.FS

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	"":      "text/plain; charset=utf-8", // the licences
}

type asset struct {
	body  []byte
	ctype string
	etag  string
}

// Handler serves GET and HEAD of / (index.html) and /ui/<file>; any other
// path goes to notFound.
func Handler(notFound http.Handler) http.Handler {
	assets := map[string]asset{}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ext := path.Ext(p)
		if strings.HasPrefix(path.Base(p), "LICENSE.") {
			ext = ""
		}
		ctype, ok := contentTypes[ext]
		if !ok {
			return nil
		}
		body, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		assets[p] = asset{body: body, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
		return nil
	})
	if err != nil {
		panic("ui: embedded files: " + err.Error()) // cannot happen: the files are compiled in
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := "index.html"
		if r.URL.Path != "/" {
			name = strings.TrimPrefix(r.URL.Path, "/ui/")
		}
		a, ok := assets[name]
		if !ok || name == "index.html" && r.URL.Path != "/" {
			notFound.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Type", a.ctype)
		// The names carry no version: the browser may keep a copy but
		// checks it (a 304 costs little) so an upgrade shows at once.
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		if r.Header.Get("If-None-Match") == a.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(a.body)
		}
	})
}

// Size is the total size in bytes of the files the handler serves.
func Size() int {
	n := 0
	_ = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += int(info.Size())
			}
		}
		return err
	})
	return n
}
