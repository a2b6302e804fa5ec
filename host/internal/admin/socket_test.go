package admin_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/host/internal/admin"
	"github.com/mcphost/mcphost/host/internal/admin/admintest"
)

// unixClient is an HTTP client that dials the socket at path.
func unixClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
}

// TestSocket: the per-copy socket serves the API without a token to the
// current user, with the Host and Origin checks still applied, is mode
// 0600 in a 0700 directory, and is removed on Close; a stale socket at
// the path is replaced, anything else there is refused.
func TestSocket(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, path string)
		wantErr string
	}{
		{"fresh", func(*testing.T, string) {}, ""},
		{"stale socket", func(t *testing.T, path string) {
			ln, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			ln.(*net.UnixListener).SetUnlinkOnClose(false)
			ln.Close()
		}, ""},
		{"regular file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "not a socket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "run")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "copy-1.sock")
			tc.prepare(t, path)
			fake := admintest.New()
			s, err := admin.New(admin.Options{Addr: "127.0.0.1:0", Token: testToken, Control: fake})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			defer s.Close(ctx)
			err = s.StartSocket(path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("StartSocket: %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.SocketPath() != path {
				t.Errorf("SocketPath() = %q", s.SocketPath())
			}
			fi, err := os.Stat(path)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("socket: %v %v", fi, err)
			}
			if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
				t.Errorf("socket dir mode %v, want 0700", di.Mode().Perm())
			}
			c := unixClient(path)
			for _, rq := range []struct {
				method, path, origin string
				want                 int
			}{
				{"POST", "/api/v1/servers/alpha/restart", "", http.StatusOK},
				{"GET", "/api/v1/servers", "", http.StatusOK},
				{"POST", "/api/v1/servers/alpha/restart", "http://evil.example", http.StatusForbidden},
			} {
				req, _ := http.NewRequestWithContext(ctx, rq.method, "http://localhost"+rq.path, nil)
				if rq.origin != "" {
					req.Header.Set("Origin", rq.origin)
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != rq.want {
					t.Errorf("%s %s (origin %q) over the socket: %d %s, want %d", rq.method, rq.path, rq.origin, resp.StatusCode, body, rq.want)
				}
				if strings.Contains(string(body), testToken) {
					t.Errorf("%s shows the token", rq.path)
				}
			}
			if err := s.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("socket still there after Close: %v", err)
			}
		})
	}
}

// TestTokenFileNotRemovedIfReplaced: Close leaves a token file alone once
// another process has written its own token there.
func TestTokenFileNotRemovedIfReplaced(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "run", "admin.token")
	srv, _ := start(t, admin.Options{TokenFile: path, Control: admintest.New()})
	if err := admin.WriteTokenFile(path, "another-copy-s-token", false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || strings.TrimSpace(string(b)) != "another-copy-s-token" {
		t.Errorf("the other copy's token file: %q %v", b, err)
	}
}

func TestDefaultSocketPath(t *testing.T) {
	t.Parallel()
	env := func(xdg string) func(string) string {
		return func(k string) string {
			if k == "XDG_RUNTIME_DIR" {
				return xdg
			}
			return ""
		}
	}
	if got, want := admin.DefaultSocketPath(42, env("/run/user/1000")), "/run/user/1000/mcphost/copy-42.sock"; got != want {
		t.Errorf("DefaultSocketPath = %q, want %q", got, want)
	}
	long := "/" + strings.Repeat("d", 120)
	if got := admin.DefaultSocketPath(42, env(long)); len(got) > admin.MaxSocketPath || !strings.HasSuffix(got, "copy-42.sock") {
		t.Errorf("DefaultSocketPath with a long runtime dir = %q", got)
	}
}
