package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/mcphost/mcphost/host/internal/admin"
	"github.com/mcphost/mcphost/host/internal/admin/admintest"
	"github.com/mcphost/mcphost/sdk/plugintest/syncbuf"
)

// browser is an HTTP client with a cookie jar, like a browser's page.
type browser struct {
	t      *testing.T
	base   string
	client *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: base, client: &http.Client{Jar: jar}}
}

// do sends a request with the given headers (name, value pairs).
func (b *browser) do(method, path, body string, headers ...string) response {
	b.t.Helper()
	req, err := http.NewRequest(method, b.base+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(data)}
}

func (b *browser) cookies() []*http.Cookie {
	u, _ := url.Parse(b.base + "/api/v1/")
	return b.client.Jar.Cookies(u)
}

func newCode(t *testing.T, base string) admin.LoginCode {
	t.Helper()
	r := send(t, base, request{method: "POST", path: "/api/v1/login-codes", token: testToken})
	if r.status != 200 {
		t.Fatalf("login-codes: %d %s", r.status, r.body)
	}
	var c admin.LoginCode
	if err := json.Unmarshal([]byte(r.body), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestLogin: the token or a login code buys a session cookie, which
// authenticates reads and, with Sec-Fetch-Site: same-origin, changes;
// logout ends it.
func TestLogin(t *testing.T) {
	t.Parallel()
	fake := admintest.New()
	logs := &syncbuf.Buffer{}
	log := hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Trace})
	srv, base := start(t, admin.Options{Token: testToken, Control: fake, Logger: log})
	_, port, _ := net.SplitHostPort(srv.Addr())
	sameOrigin := []string{"Sec-Fetch-Site", "same-origin", "Origin", base}

	for _, how := range []string{"token", "code"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			b := newBrowser(t, base)
			if r := b.do("GET", "/api/v1/servers", ""); r.status != 401 {
				t.Fatalf("before login: %d", r.status)
			}
			var secret string
			body := `{"token":"` + testToken + `"}`
			if how == "code" {
				c := newCode(t, base)
				if want := "http://127.0.0.1:" + port + "/#login=" + c.Code; c.URL != want {
					t.Errorf("url %q, want %q", c.URL, want)
				}
				if d := time.Until(c.ExpiresAt); d <= 0 || d > time.Minute {
					t.Errorf("code expires in %v", d)
				}
				secret = c.Code
				body = `{"code":"` + c.Code + `"}`
			}
			r := b.do("POST", "/api/v1/login", body, "Content-Type", "application/json", "Origin", base)
			if r.status != 200 {
				t.Fatalf("login: %d %s", r.status, r.body)
			}
			checkHygiene(t, r, testToken)
			setCookie := r.header.Get("Set-Cookie")
			for _, want := range []string{"mcphost_session_" + port + "=", "Path=/api/", "HttpOnly", "SameSite=Strict", "Max-Age=43200"} {
				if !strings.Contains(setCookie, want) {
					t.Errorf("Set-Cookie %q lacks %s", setCookie, want)
				}
			}
			if len(b.cookies()) != 1 {
				t.Fatalf("cookies %v", b.cookies())
			}
			cookie := b.cookies()[0].Value

			if r := b.do("GET", "/api/v1/servers", ""); r.status != 200 {
				t.Errorf("GET with the cookie: %d %s", r.status, r.body)
			}
			if r := b.do("POST", "/api/v1/servers/alpha/restart", "", "Sec-Fetch-Site", "cross-site"); r.status != 403 {
				t.Errorf("cross-site POST with the cookie: %d %s", r.status, r.body)
			}
			if r := b.do("POST", "/api/v1/servers/alpha/restart", ""); r.status != 403 {
				t.Errorf("POST with the cookie, no Sec-Fetch-Site: %d %s", r.status, r.body)
			}
			if r := b.do("POST", "/api/v1/servers/alpha/restart", "", "Sec-Fetch-Site", "same-origin", "Origin", "http://127.0.0.1:1"); r.status != 403 {
				t.Errorf("POST from another port: %d %s", r.status, r.body)
			}
			if r := b.do("POST", "/api/v1/servers/alpha/restart", "", sameOrigin...); r.status != 200 {
				t.Errorf("same-origin POST with the cookie: %d %s", r.status, r.body)
			}
			if how == "code" {
				// The code was used up.
				r := newBrowser(t, base).do("POST", "/api/v1/login", body, "Origin", base)
				if r.status != 401 {
					t.Errorf("second use of the code: %d %s", r.status, r.body)
				}
			}
			if r := b.do("POST", "/api/v1/logout", "", sameOrigin...); r.status != 200 {
				t.Fatalf("logout: %d %s", r.status, r.body)
			}
			if len(b.cookies()) != 0 {
				t.Errorf("cookie kept after logout: %v", b.cookies())
			}
			// The session is gone on the server too.
			req, _ := http.NewRequest("GET", base+"/api/v1/servers", nil)
			req.AddCookie(&http.Cookie{Name: "mcphost_session_" + port, Value: cookie})
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 {
				t.Errorf("the logged-out session's cookie: %d", resp.StatusCode)
			}
			for _, v := range []string{cookie, secret} {
				if v != "" && strings.Contains(logs.String(), v) {
					t.Errorf("a secret was logged:\n%s", logs.String())
				}
			}
		})
	}
	t.Cleanup(func() {
		if strings.Contains(logs.String(), testToken) {
			t.Errorf("the token was logged:\n%s", logs.String())
		}
	})
}

// TestLoginCodeExpires: a login code is refused 60 s after it was made
// (on the server's clock).
func TestLoginCodeExpires(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	_, base := start(t, admin.Options{Token: testToken, Control: admintest.New(), Now: clock})
	fresh, stale := newCode(t, base), newCode(t, base)
	mu.Lock()
	now = now.Add(59 * time.Second)
	mu.Unlock()
	if r := send(t, base, request{method: "POST", path: "/api/v1/login", body: `{"code":"` + fresh.Code + `"}`}); r.status != 200 {
		t.Errorf("code at 59 s: %d %s", r.status, r.body)
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	if r := send(t, base, request{method: "POST", path: "/api/v1/login", body: `{"code":"` + stale.Code + `"}`}); r.status != 401 {
		t.Errorf("code at 60 s: %d %s", r.status, r.body)
	}
}

// TestLoginCodeOverSocket: over the copy's socket (no token), a login code
// comes with the TCP listener's address.
func TestLoginCodeOverSocket(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, admin.Options{Token: testToken, Control: admintest.New()})
	path := t.TempDir() + "/copy.sock"
	if err := srv.StartSocket(path); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(context.Background(), "POST", "http://localhost/api/v1/login-codes", nil)
	resp, err := unixClient(path).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c admin.LoginCode
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, err)
	}
	if want := "http://" + srv.Addr() + "/#login=" + c.Code; c.URL != want {
		t.Errorf("url %q, want %q", c.URL, want)
	}
}
