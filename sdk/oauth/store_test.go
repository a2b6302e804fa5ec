package oauth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCanonicalResource(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://MCP.Example.com/mcp", "https://mcp.example.com/mcp"},
		{"HTTPS://mcp.example.com:443/mcp/", "https://mcp.example.com/mcp"},
		{"http://localhost:8080/mcp#frag", "http://localhost:8080/mcp"},
		{"https://mcp.example.com", "https://mcp.example.com"},
		{"https://mcp.example.com/", "https://mcp.example.com"},
		{"http://[::1]:80/x", "http://[::1]/x"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := canonicalResource(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("canonicalResource(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	if _, err := canonicalResource("/relative"); err == nil {
		t.Error("a relative URL was accepted")
	}
}

func TestResourceCovers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prm, server string
		want        bool
	}{
		{"https://mcp.example.com/mcp", "https://mcp.example.com/mcp", true},
		{"https://mcp.example.com/mcp/", "https://mcp.example.com/mcp", true},
		{"https://mcp.example.com", "https://mcp.example.com/mcp", true},
		{"https://mcp.example.com/api", "https://mcp.example.com/api/mcp", true},
		{"https://mcp.example.com/mc", "https://mcp.example.com/mcp", false},
		{"https://evil.example.com/mcp", "https://mcp.example.com/mcp", false},
		{"http://mcp.example.com/mcp", "https://mcp.example.com/mcp", false},
		{"https://mcp.example.com/other", "https://mcp.example.com/mcp", false},
	}
	for _, tt := range tests {
		t.Run(tt.prm+" "+tt.server, func(t *testing.T) {
			t.Parallel()
			if got := resourceCovers(tt.prm, tt.server); got != tt.want {
				t.Errorf("resourceCovers(%q, %q) = %v, want %v", tt.prm, tt.server, got, tt.want)
			}
		})
	}
}

func TestKey(t *testing.T) {
	t.Parallel()
	a := Key("github", "https://api.example.com/mcp")
	if a != Key("github", "https://API.example.com/mcp/") {
		t.Error("the same server under two spellings of its URL has two keys")
	}
	if a == Key("github", "https://other.example.com/mcp") {
		t.Error("two servers with one name share a key")
	}
	if !strings.HasPrefix(a, "github-") {
		t.Errorf("Key = %q, want it to start with the server name", a)
	}
	for _, name := range []string{"../../etc/passwd", "a/b", `a\b`, "..", ""} {
		k := Key(name, "https://x")
		if k != filepath.Base(k) || strings.ContainsAny(k, `/\`) || strings.HasPrefix(k, ".") {
			t.Errorf("Key(%q) = %q, not a plain file name", name, k)
		}
	}
}

func TestFileStore(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "oauth")
	s := FileStore{Dir: dir}
	if _, err := s.Load("srv-1"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a missing record: %v, want fs.ErrNotExist", err)
	}
	rec := &Record{Resource: "https://x/mcp", AccessToken: "at", RefreshToken: "rt", Expiry: time.Unix(1e9, 0).UTC(), Scopes: []string{"a"}}
	if err := s.Save("srv-1", rec); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load("srv-1")
	if err != nil || got.AccessToken != "at" || got.RefreshToken != "rt" || !got.Expiry.Equal(rec.Expiry) {
		t.Fatalf("Load = %+v, %v; want what was saved", got, err)
	}
	if runtime.GOOS != "windows" {
		for path, want := range map[string]fs.FileMode{dir: 0o700, filepath.Join(dir, "srv-1.json"): 0o600} {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != want {
				t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), want)
			}
		}
	}
	// Another process's save is seen by the next Load.
	if err := (FileStore{Dir: dir}).Save("srv-1", &Record{AccessToken: "at2"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Load("srv-1"); err != nil || got.AccessToken != "at2" {
		t.Fatalf("Load after another store's Save = %+v, %v; want at2", got, err)
	}
	if err := s.Delete("srv-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("srv-1"); err != nil {
		t.Fatalf("Delete of a missing record: %v", err)
	}
	if _, err := s.Load("srv-1"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load after Delete: %v, want fs.ErrNotExist", err)
	}
	for _, bad := range []string{"../x", "a/b", ".hidden", ""} {
		if err := s.Save(bad, rec); err == nil {
			t.Errorf("Save(%q) was accepted", bad)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("a temporary file was left: %s", e.Name())
		}
	}
}

// TestFileStoreAtomic: readers racing writers see one whole record or
// another, never a part.
func TestFileStoreAtomic(t *testing.T) {
	t.Parallel()
	s := FileStore{Dir: t.TempDir()}
	long := strings.Repeat("x", 64<<10)
	if err := s.Save("k", &Record{AccessToken: "w0-" + long}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				if err := s.Save("k", &Record{AccessToken: fmt.Sprintf("w%d-%d-%s", w, i, long)}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				r, err := s.Load("k")
				if err != nil {
					errs <- err
					return
				}
				if !strings.HasSuffix(r.AccessToken, long) {
					errs <- fmt.Errorf("read a partial record (%d bytes of token)", len(r.AccessToken))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestDefaultDir(t *testing.T) {
	t.Parallel()
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	got, err := DefaultDir(env("MCPHOST_OAUTH_DIR", "/custom", "HOME", "/home/u"))
	if err != nil || got != "/custom" {
		t.Errorf("DefaultDir with MCPHOST_OAUTH_DIR = %q, %v", got, err)
	}
	tests := []struct {
		goos string
		env  func(string) string
		want string
	}{
		{"linux", env("XDG_CONFIG_HOME", "/xdg", "HOME", "/home/u"), "/xdg"},
		{"linux", env("HOME", "/home/u"), "/home/u/.config"},
		{"darwin", env("HOME", "/Users/u"), "/Users/u/Library/Application Support"},
		{"windows", env("AppData", `C:\Users\u\AppData\Roaming`), `C:\Users\u\AppData\Roaming`},
	}
	for _, tt := range tests {
		got, err := userConfigDir(tt.goos, tt.env)
		if err != nil || got != filepath.FromSlash(tt.want) && got != tt.want {
			t.Errorf("userConfigDir(%s) = %q, %v; want %q", tt.goos, got, err, tt.want)
		}
	}
	if _, err := userConfigDir("linux", env()); err == nil {
		t.Error("userConfigDir without HOME or XDG_CONFIG_HOME did not fail")
	}
	if _, err := userConfigDir("linux", env("XDG_CONFIG_HOME", "rel")); err == nil {
		t.Error("a relative XDG_CONFIG_HOME was accepted")
	}
	if got, err := DefaultDir(env("HOME", "/home/u", "XDG_CONFIG_HOME", "/xdg")); runtime.GOOS == "linux" && (err != nil || got != "/xdg/mcphost/oauth") {
		t.Errorf("DefaultDir = %q, %v; want /xdg/mcphost/oauth", got, err)
	}
}
