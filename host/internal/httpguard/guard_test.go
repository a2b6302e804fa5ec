package httpguard

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

func TestCanonicalHost(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"127.0.0.1:3001", "127.0.0.1"},
		{"LocalHost.:3001", "localhost"},
		{"localhost.", "localhost"},
		{"[::1]:80", "::1"},
		{"[::1]", "::1"},
		{"::1", "::1"},
		{"Example.COM", "example.com"},
		{"", ""},
	} {
		if got := CanonicalHost(tt.in); got != tt.want {
			t.Errorf("CanonicalHost(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCheckHost(t *testing.T) {
	t.Parallel()
	loopback := New(Options{})
	named := New(Options{Hosts: []string{"Admin.Example."}})
	any := New(Options{AnyHost: true})
	for _, tt := range []struct {
		name  string
		g     *Guard
		host  string
		allow bool
	}{
		{"loopback IPv4", loopback, "127.0.0.1:3001", true},
		{"loopback IPv4 without port", loopback, "127.0.0.1", true},
		{"other loopback IPv4", loopback, "127.1.2.3:80", true},
		{"localhost any case, trailing dot", loopback, "LOCALHOST.:3001", true},
		{"IPv6 loopback", loopback, "[::1]:3001", true},
		{"foreign name", loopback, "evil.example", false},
		{"foreign name with port", loopback, "evil.example:3001", false},
		{"localhost subdomain", loopback, "localhost.evil.example", false},
		{"private address", loopback, "192.168.1.2:3001", false},
		{"empty", loopback, "", false},
		{"configured name", named, "admin.example:3001", true},
		{"configured name, other case", named, "ADMIN.example.", true},
		{"loopback with a configured name", named, "localhost:3001", true},
		{"other name", named, "evil.example", false},
		{"any host", any, "evil.example", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/", nil)
			r.Host = tt.host
			err := tt.g.CheckHost(r)
			if (err == nil) != tt.allow {
				t.Fatalf("CheckHost(%q) = %v, want allowed %v", tt.host, err, tt.allow)
			}
			if err != nil && (!errors.Is(err, ErrHost) || Status(err) != http.StatusForbidden) {
				t.Fatalf("error %v: want ErrHost and 403", err)
			}
		})
	}
}

func TestCheckOrigin(t *testing.T) {
	t.Parallel()
	self := New(Options{SameOrigin: true})
	mcp := New(Options{LoopbackOrigins: true, Origins: []string{"https://app.example"}})
	for _, tt := range []struct {
		name   string
		g      *Guard
		host   string
		tls    bool
		origin string
		allow  bool
	}{
		{"no Origin", self, "127.0.0.1:3001", false, "", true},
		{"own origin", self, "127.0.0.1:3001", false, "http://127.0.0.1:3001", true},
		{"own origin, localhost", self, "localhost:3001", false, "http://localhost:3001", true},
		{"own origin, default port", self, "localhost", false, "http://localhost:80", true},
		{"own origin over TLS", self, "localhost:3001", true, "https://localhost:3001", true},
		{"other port on 127.0.0.1", self, "127.0.0.1:3001", false, "http://127.0.0.1:8080", false},
		{"other port on localhost", self, "localhost:3001", false, "http://localhost:3000", false},
		{"localhost for 127.0.0.1", self, "127.0.0.1:3001", false, "http://localhost:3001", false},
		{"other scheme", self, "127.0.0.1:3001", false, "https://127.0.0.1:3001", false},
		{"foreign", self, "127.0.0.1:3001", false, "https://attacker.example", false},
		{"null", self, "127.0.0.1:3001", false, "null", false},
		{"mcp: loopback any port", mcp, "127.0.0.1:3000", false, "http://localhost:6274", true},
		{"mcp: configured", mcp, "127.0.0.1:3000", false, "https://app.example", true},
		{"mcp: foreign", mcp, "127.0.0.1:3000", false, "https://evil.example", false},
		{"mcp: null", mcp, "127.0.0.1:3000", false, "null", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/api/v1/servers", nil)
			r.Host = tt.host
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			err := tt.g.Check(r)
			if (err == nil) != tt.allow {
				t.Fatalf("Check(Host %q, Origin %q) = %v, want allowed %v", tt.host, tt.origin, err, tt.allow)
			}
			if err != nil && (!errors.Is(err, ErrOrigin) || Status(err) != http.StatusForbidden) {
				t.Fatalf("error %v: want ErrOrigin and 403", err)
			}
		})
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newStore(t *testing.T) (*Sessions, *fakeClock) {
	clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s := NewSessions(SessionOptions{Now: clock.Now})
	t.Cleanup(s.Close)
	return s, clock
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	store, _ := newStore(t)
	g := New(Options{Token: "s3cret", Sessions: store})
	live, _, err := store.Create()
	if err != nil {
		t.Fatal(err)
	}
	revoked, _, err := store.Create()
	if err != nil {
		t.Fatal(err)
	}
	store.Revoke(revoked)
	noSessions := New(Options{Token: "s3cret"})

	type req struct {
		method, auth, cookieName, cookie, fetchSite string
	}
	const host = "127.0.0.1:3001"
	for _, tt := range []struct {
		name   string
		g      *Guard
		req    req
		want   Method
		status int
	}{
		{"bearer", g, req{method: "GET", auth: "Bearer s3cret"}, Bearer, 0},
		{"bearer, other case and spaces", g, req{method: "POST", auth: "bearer   s3cret"}, Bearer, 0},
		{"bearer POST needs no Sec-Fetch-Site", g, req{method: "POST", auth: "Bearer s3cret", fetchSite: "cross-site"}, Bearer, 0},
		{"wrong token", g, req{method: "GET", auth: "Bearer s3cre"}, 0, 401},
		{"longer token", g, req{method: "GET", auth: "Bearer s3cret0"}, 0, 401},
		{"not bearer", g, req{method: "GET", auth: "Basic s3cret"}, 0, 401},
		{"empty bearer", g, req{method: "GET", auth: "Bearer "}, 0, 401},
		{"nothing", g, req{method: "GET"}, 0, 401},
		{"cookie GET", g, req{method: "GET", cookie: live}, Cookie, 0},
		{"cookie GET, cross-site", g, req{method: "GET", cookie: live, fetchSite: "cross-site"}, Cookie, 0},
		{"cookie POST, same-origin", g, req{method: "POST", cookie: live, fetchSite: "same-origin"}, Cookie, 0},
		{"cookie POST, cross-site", g, req{method: "POST", cookie: live, fetchSite: "cross-site"}, 0, 403},
		{"cookie POST, same-site", g, req{method: "POST", cookie: live, fetchSite: "same-site"}, 0, 403},
		{"cookie POST, no Sec-Fetch-Site", g, req{method: "POST", cookie: live}, 0, 403},
		{"cookie DELETE, no Sec-Fetch-Site", g, req{method: "DELETE", cookie: live}, 0, 403},
		{"cookie OPTIONS, cross-site", g, req{method: "OPTIONS", cookie: live, fetchSite: "cross-site"}, 0, 403},
		{"cookie HEAD, cross-site", g, req{method: "HEAD", cookie: live, fetchSite: "cross-site"}, Cookie, 0},
		{"cookie of another port", g, req{method: "GET", cookieName: "mcphost_session_3002", cookie: live}, 0, 401},
		{"unknown cookie", g, req{method: "GET", cookie: "made-up"}, 0, 401},
		{"revoked cookie", g, req{method: "GET", cookie: revoked}, 0, 401},
		{"cookie without a store", noSessions, req{method: "GET", cookie: live}, 0, 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(tt.req.method, "/api/v1/servers", nil)
			r.Host = host
			if tt.req.auth != "" {
				r.Header.Set("Authorization", tt.req.auth)
			}
			if tt.req.cookie != "" {
				name := tt.req.cookieName
				if name == "" {
					name = CookieName(r)
				}
				r.AddCookie(&http.Cookie{Name: name, Value: tt.req.cookie})
			}
			if tt.req.fetchSite != "" {
				r.Header.Set("Sec-Fetch-Site", tt.req.fetchSite)
			}
			m, err := tt.g.Authenticate(r)
			if tt.status == 0 {
				if err != nil || m != tt.want {
					t.Fatalf("Authenticate = %v, %v; want %v", m, err, tt.want)
				}
				return
			}
			if err == nil || Status(err) != tt.status {
				t.Fatalf("Authenticate = %v, %v; want status %d", m, err, tt.status)
			}
		})
	}

}

func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	store, clock := newStore(t)
	id, exp, err := store.Create()
	if err != nil {
		t.Fatal(err)
	}
	if want := clock.Now().Add(DefaultSessionTTL); !exp.Equal(want) {
		t.Fatalf("expiry %v, want %v", exp, want)
	}
	clock.Advance(DefaultSessionTTL - time.Second)
	if !store.Valid(id) {
		t.Fatal("session refused before its expiry")
	}
	clock.Advance(time.Second)
	if store.Valid(id) {
		t.Fatal("session accepted at its expiry")
	}
	if n, _ := store.Len(); n != 1 {
		t.Fatalf("%d sessions before the sweep, want 1", n)
	}
	store.Sweep()
	if n, _ := store.Len(); n != 0 {
		t.Fatalf("%d sessions after the sweep, want 0", n)
	}
}

func TestLoginCodes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		wait    time.Duration
		uses    int
		wantOKs []bool
	}{
		{"once", 0, 1, []bool{true}},
		{"reused", 0, 3, []bool{true, false, false}},
		{"at 59 s", 59 * time.Second, 1, []bool{true}},
		{"after 60 s", 60 * time.Second, 2, []bool{false, false}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store, clock := newStore(t)
			code, exp, err := store.NewCode()
			if err != nil {
				t.Fatal(err)
			}
			if want := clock.Now().Add(DefaultCodeTTL); !exp.Equal(want) {
				t.Fatalf("expiry %v, want %v", exp, want)
			}
			clock.Advance(tt.wait)
			for i, want := range tt.wantOKs {
				if got := store.Redeem(code); got != want {
					t.Fatalf("use %d: Redeem = %v, want %v", i+1, got, want)
				}
			}
			if store.Redeem("") || store.Redeem("made-up") {
				t.Fatal("an unknown code was accepted")
			}
			if _, n := store.Len(); n != 0 {
				t.Fatalf("%d codes left, want 0", n)
			}
		})
	}
}

func TestSecretsAreDistinct(t *testing.T) {
	t.Parallel()
	store, _ := newStore(t)
	seen := map[string]bool{}
	for range 100 {
		id, _, err := store.Create()
		if err != nil {
			t.Fatal(err)
		}
		code, _, err := store.NewCode()
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != 43 || len(code) != 43 { // 256 bits, base64url
			t.Fatalf("id %d and code %d characters long, want 43", len(id), len(code))
		}
		if seen[id] || seen[code] {
			t.Fatal("a secret repeated")
		}
		seen[id], seen[code] = true, true
	}
}

func TestSessionCookie(t *testing.T) {
	t.Parallel()
	store, clock := newStore(t)
	r := httptest.NewRequest("POST", "/api/v1/login", nil)
	r.Host = "127.0.0.1:3001"
	c := store.SessionCookie(r, "id", clock.Now().Add(DefaultSessionTTL))
	got := c.String()
	want := "mcphost_session_3001=id; Path=/api/; Expires=Fri, 02 Jan 2026 15:04:05 GMT; Max-Age=43200; HttpOnly; SameSite=Strict"
	if got != want {
		t.Fatalf("cookie\n%s\nwant\n%s", got, want)
	}
	if cl := ClearCookie(r).String(); cl != "mcphost_session_3001=; Path=/api/; Max-Age=0; HttpOnly; SameSite=Strict" {
		t.Fatalf("clearing cookie %s", cl)
	}
}

func TestSweeperStopsOnClose(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()}
	s := NewSessions(SessionOptions{Now: clock.Now, SweepEvery: time.Millisecond})
	if _, _, err := s.NewCode(); err != nil {
		t.Fatal(err)
	}
	clock.Advance(DefaultCodeTTL)
	// The sweeper, started by the first code, forgets it once expired.
	poll.Within(t, 10*time.Second, "the sweeper forgetting an expired code", func() bool {
		_, n := s.Len()
		return n == 0
	})
	s.Close() // returns only once the sweeper has ended
	select {
	case <-s.done:
	default:
		t.Fatal("sweeper still running after Close")
	}
	s.Close() // idempotent
	if _, _, err := s.Create(); err != nil || !s.sweeping {
		t.Fatal("a closed store stopped answering")
	}

	unused := NewSessions(SessionOptions{})
	unused.Close() // no sweeper was started: Close does not wait for one
}
