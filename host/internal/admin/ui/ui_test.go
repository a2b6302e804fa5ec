package ui

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	t.Parallel()
	h := Handler(http.NotFoundHandler())
	tests := []struct {
		method, path string
		status       int
		ctype        string
		body         string // a substring of the body
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", `<script type="module" src="/ui/app.js">`},
		{"HEAD", "/", 200, "text/html; charset=utf-8", ""},
		{"GET", "/ui/app.js", 200, "text/javascript; charset=utf-8", "./vendor/preact.module.js"},
		{"GET", "/ui/api.js", 200, "text/javascript; charset=utf-8", "/api/v1/events"},
		{"GET", "/ui/style.css", 200, "text/css; charset=utf-8", ".card"},
		{"GET", "/ui/vendor/preact.module.js", 200, "text/javascript; charset=utf-8", "export{"},
		{"GET", "/ui/vendor/hooks.module.js", 200, "text/javascript; charset=utf-8", `from"./preact.module.js"`},
		{"GET", "/ui/vendor/htm.module.js", 200, "text/javascript; charset=utf-8", "export"},
		{"GET", "/ui/vendor/LICENSE.preact", 200, "text/plain; charset=utf-8", "MIT"},
		{"GET", "/ui/index.html", 404, "", ""},
		{"GET", "/ui/ui.go", 404, "", ""},
		{"GET", "/ui/vendor/README.md", 404, "", ""},
		{"GET", "/ui/../ui.go", 404, "", ""},
		{"GET", "/ui/", 404, "", ""},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, rec.Code, tt.status)
			continue
		}
		if tt.status != 200 {
			continue
		}
		hd := rec.Header()
		for k, want := range map[string]string{
			"Content-Type":            tt.ctype,
			"Content-Security-Policy": CSP,
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"Cache-Control":           "no-cache",
		} {
			if got := hd.Get(k); got != want {
				t.Errorf("%s %s: %s = %q, want %q", tt.method, tt.path, k, got, want)
			}
		}
		if hd.Get("ETag") == "" {
			t.Errorf("%s %s: no ETag", tt.method, tt.path)
		}
		if tt.method == "HEAD" && rec.Body.Len() != 0 {
			t.Errorf("HEAD %s: a body of %d bytes", tt.path, rec.Body.Len())
		}
		if !strings.Contains(rec.Body.String(), tt.body) {
			t.Errorf("%s %s: body lacks %q", tt.method, tt.path, tt.body)
		}
	}
}

func TestNotModified(t *testing.T) {
	t.Parallel()
	h := Handler(http.NotFoundHandler())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/ui/app.js", nil))
	etag := rec.Header().Get("ETag")
	req := httptest.NewRequest("GET", "/ui/app.js", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Errorf("If-None-Match %s: status %d with %d bytes, want 304 and none", etag, rec.Code, rec.Body.Len())
	}
}

// TestNoInlineCode checks what the CSP would refuse anyway, so that a
// mistake shows here rather than as a blank page: no inline script, no
// inline handler or style attribute, no remote URL, no HTML insertion.
func TestNoInlineCode(t *testing.T) {
	t.Parallel()
	read := func(name string) string {
		b, err := files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	page := read("index.html")
	for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(page, -1) {
		if !strings.Contains(m, `src="/ui/`) {
			t.Errorf("index.html: inline script %s", m)
		}
	}
	if regexp.MustCompile(`(?i)\son[a-z]+=|\sstyle=|<style`).MatchString(page) {
		t.Error("index.html: an inline handler or style")
	}
	ours, err := fs.Glob(files, "*.*")
	if err != nil {
		t.Fatal(err)
	}
	views, err := fs.Glob(files, "views/*.js")
	if err != nil {
		t.Fatal(err)
	}
	if len(views) == 0 {
		t.Fatal("no views/*.js embedded")
	}
	for _, name := range append(ours, views...) {
		src := read(name)
		for _, bad := range []string{"http://", "https://", "dangerouslySetInnerHTML", "innerHTML", "eval(", "new Function"} {
			if strings.Contains(src, bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
	}
}

func TestSize(t *testing.T) {
	t.Parallel()
	if n := Size(); n < 10<<10 || n > 200<<10 {
		t.Errorf("Size = %d bytes, want between 10 and 200 KiB", n)
	}
}
