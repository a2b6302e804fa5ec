//go:build unix

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"
)

// TestAdminBrowserLogin: `mcphost ctl ui` prints the dashboard's address
// with a login code, which a browser trades once for a session cookie; the
// cookie reads the API and its event stream, but a change with it needs
// Sec-Fetch-Site: same-origin; a page of another origin is refused, and a
// foreign Host is refused on every path of both listeners.
func TestAdminBrowserLogin(t *testing.T) {
	t.Parallel()
	mcpAddr, adminAddr := freeAddr(t), freeAddr(t)
	const token = "browser-login-e2e-token"
	cfg := writeConfig(t, fmt.Sprintf(`
listen "http" {
  address = %q
}
admin {
  address    = %q
  auth_token = %q
}
%s`, mcpAddr, adminAddr, token, exampleServer("ex")))
	startProxyAt(t, cfg, "http://"+mcpAddr+"/mcp")
	base := "http://" + adminAddr
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	if out, err := ctl(t, base, token, "status"); err != nil || !strings.Contains(out, "ex") {
		t.Fatalf("ctl status: %v\n%s", err, out)
	}
	out, err := ctl(t, base, token, "ui")
	if err != nil {
		t.Fatalf("ctl ui: %v\n%s", err, out)
	}
	link := strings.TrimSpace(out)
	code, ok := strings.CutPrefix(link, base+"/#login=")
	if !ok || code == "" || strings.Contains(link, token) {
		t.Fatalf("ctl ui printed %q, want %s/#login=<code>", out, base)
	}

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar}
	send := func(c *http.Client, method, path, body string, headers ...string) int {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			if headers[i] == "Host" {
				req.Host = headers[i+1]
			} else {
				req.Header.Set(headers[i], headers[i+1])
			}
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	login := `{"code":"` + code + `"}`
	if got := send(browser, "POST", base+"/api/v1/login", login, "Content-Type", "application/json", "Origin", base); got != 200 {
		t.Fatalf("login with the code: %d", got)
	}
	if got := send(http.DefaultClient, "POST", base+"/api/v1/login", login, "Origin", base); got != 401 {
		t.Fatalf("second login with the same code: %d, want 401", got)
	}
	if got := send(browser, "GET", base+"/api/v1/servers", ""); got != 200 {
		t.Fatalf("GET servers with the cookie: %d", got)
	}
	if got := send(http.DefaultClient, "GET", base+"/api/v1/servers", ""); got != 401 {
		t.Fatalf("GET servers without the cookie: %d, want 401", got)
	}
	if got := send(browser, "POST", base+"/api/v1/servers/ex/restart", "", "Sec-Fetch-Site", "cross-site"); got != 403 {
		t.Fatalf("cross-site restart with the cookie: %d, want 403", got)
	}
	otherOrigin := "http://" + mcpAddr // another port on 127.0.0.1
	if got := send(browser, "GET", base+"/api/v1/servers", "", "Origin", otherOrigin); got != 403 {
		t.Fatalf("GET servers from %s with the cookie: %d, want 403", otherOrigin, got)
	}
	if got := send(http.DefaultClient, "GET", base+"/api/v1/servers", "", "Origin", otherOrigin, "Authorization", "Bearer "+token); got != 403 {
		t.Fatalf("GET servers from %s with the token: %d, want 403", otherOrigin, got)
	}

	// The event stream, with the cookie, shows a restart made with it.
	streamCtx, stopStream := context.WithCancel(ctx)
	defer stopStream()
	req, _ := http.NewRequestWithContext(streamCtx, http.MethodGet, base+"/api/v1/events", nil)
	stream, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if stream.StatusCode != 200 {
		t.Fatalf("events with the cookie: %d", stream.StatusCode)
	}
	events := make(chan string, 64)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(stream.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events <- data
			}
		}
	}()
	if got := send(browser, "POST", base+"/api/v1/servers/ex/restart", "", "Sec-Fetch-Site", "same-origin", "Origin", base); got != 200 {
		t.Fatalf("same-origin restart with the cookie: %d", got)
	}
	deadline := time.After(30 * time.Second)
	for seen := false; !seen; {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("the event stream ended")
			}
			seen = strings.Contains(ev, `"ex"`)
		case <-deadline:
			t.Fatal("no event about ex after its restart")
		}
	}

	// DNS rebinding: a foreign Host gets 403 everywhere, token or not.
	_, mcpPort, _ := net.SplitHostPort(mcpAddr)
	_, adminPort, _ := net.SplitHostPort(adminAddr)
	for _, tc := range []struct{ addr, port, method, path string }{
		{mcpAddr, mcpPort, "POST", "/mcp"}, {mcpAddr, mcpPort, "GET", "/sse"}, {mcpAddr, mcpPort, "POST", "/message?sessionId=x"},
		{mcpAddr, mcpPort, "GET", "/ws"}, {mcpAddr, mcpPort, "GET", "/metrics"}, {mcpAddr, mcpPort, "GET", "/"},
		{adminAddr, adminPort, "GET", "/api/v1/servers"}, {adminAddr, adminPort, "GET", "/api/v1/events"},
		{adminAddr, adminPort, "POST", "/api/v1/login"}, {adminAddr, adminPort, "POST", "/api/v1/reload"},
		{adminAddr, adminPort, "GET", "/metrics"}, {adminAddr, adminPort, "GET", "/"},
	} {
		for _, host := range []string{"evil.example", "evil.example:" + tc.port} {
			if got := send(http.DefaultClient, tc.method, "http://"+tc.addr+tc.path, `{"token":"`+token+`"}`,
				"Host", host, "Authorization", "Bearer "+token); got != 403 {
				t.Errorf("%s http://%s%s with Host %s: %d, want 403", tc.method, tc.addr, tc.path, host, got)
			}
		}
	}
}
