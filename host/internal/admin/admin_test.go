package admin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/mcphost/mcphost/host/internal/admin"
	"github.com/mcphost/mcphost/host/internal/admin/admintest"
	"github.com/mcphost/mcphost/sdk/plugintest/syncbuf"
)

const testToken = "s3cret-admin-token-0123456789abcdef"

// start runs a Server on a real loopback listener and closes it with the
// test.
func start(t *testing.T, opts admin.Options) (*admin.Server, string) {
	t.Helper()
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	s, err := admin.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, "http://" + s.Addr()
}

type response struct {
	status int
	header http.Header
	body   string
}

type request struct {
	method, path string
	token        string // sent as "Bearer <token>" when set
	auth         string // a raw Authorization header, when set
	host         string
	origin       string
	body         string
}

func send(t *testing.T, base string, rq request) response {
	t.Helper()
	req, err := http.NewRequest(rq.method, base+rq.path, strings.NewReader(rq.body))
	if err != nil {
		t.Fatal(err)
	}
	if rq.token != "" {
		req.Header.Set("Authorization", "Bearer "+rq.token)
	}
	if rq.auth != "" {
		req.Header.Set("Authorization", rq.auth)
	}
	if rq.host != "" {
		req.Host = rq.host
	}
	if rq.origin != "" {
		req.Header.Set("Origin", rq.origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

// checkHygiene holds for every response: no CORS header, no token, and
// JSON (with an "error" member on failures).
func checkHygiene(t *testing.T, r response, token string) {
	t.Helper()
	for k := range r.header {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			t.Errorf("response has CORS header %s", k)
		}
	}
	if strings.Contains(r.body, token) {
		t.Errorf("response body contains the token: %s", r.body)
	}
	if r.status == http.StatusOK && r.header.Get("Content-Security-Policy") != "" {
		return // the dashboard's page or an asset (see ui/ui_test.go)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	var v any
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Errorf("body is not JSON: %v: %s", err, r.body)
	}
	if r.status >= 400 {
		var e admin.ErrorBody
		if json.Unmarshal([]byte(r.body), &e); e.Error == "" {
			t.Errorf("error response without an error message: %s", r.body)
		}
	}
}

func TestEndpoints(t *testing.T) {
	t.Parallel()
	fake := admintest.New()
	logs := &syncbuf.Buffer{}
	log := hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Trace})
	srv, base := start(t, admin.Options{Token: testToken, Control: fake, Logger: log})
	_, port, _ := net.SplitHostPort(srv.Addr())

	tests := []struct {
		name       string
		req        request
		wantStatus int
		wantBody   []string // substrings of the body
		wantCall   string   // a call the fake must have recorded
		check      func(t *testing.T, r response)
		anon       bool // send no token (otherwise a request without one gets testToken)
	}{
		{name: "servers", req: request{method: "GET", path: "/api/v1/servers"}, wantStatus: 200,
			check: func(t *testing.T, r response) {
				var got admin.ServerList
				if err := json.Unmarshal([]byte(r.body), &got); err != nil {
					t.Fatal(err)
				}
				if len(got.Servers) != 2 || got.Servers[0].Name != "alpha" || got.Servers[0].Tools != 3 ||
					got.Servers[1].NextAttempt.IsZero() {
					t.Errorf("servers = %+v", got.Servers)
				}
			}},
		{name: "one server", req: request{method: "GET", path: "/api/v1/servers/alpha"}, wantStatus: 200,
			wantBody: []string{`"name": "alpha"`, `"transport": "stdio"`, `"protocol_version": "2025-06-18"`},
			check: func(t *testing.T, r response) {
				if strings.Contains(r.body, "next_attempt") {
					t.Errorf("next_attempt not omitted: %s", r.body)
				}
			}},
		{name: "failed server has next attempt", req: request{method: "GET", path: "/api/v1/servers/beta"}, wantStatus: 200,
			wantBody: []string{`"next_attempt": "2030-01-02T03:04:05Z"`, `"last_error": "exit status 1"`, `"restarts": 2`}},
		{name: "unknown server", req: request{method: "GET", path: "/api/v1/servers/nope"}, wantStatus: 404,
			wantBody: []string{`unknown server \"nope\"`}},
		{name: "trace tool", req: request{method: "POST", path: "/api/v1/trace/tools/get_trace", token: testToken, body: `{"response_id":"latest"}`},
			wantStatus: 200, wantBody: []string{`"tool":"get_trace"`, `"response_id":"latest"`}, wantCall: "trace get_trace"},
		{name: "trace tool needs the token", req: request{method: "POST", path: "/api/v1/trace/tools/get_trace"}, wantStatus: 401, anon: true},
		{name: "trace tool, tracing off", req: request{method: "POST", path: "/api/v1/trace/tools/off", token: testToken}, wantStatus: 404,
			wantBody: []string{"not configured"}},
		{name: "trace tool, nothing recorded", req: request{method: "POST", path: "/api/v1/trace/tools/empty", token: testToken}, wantStatus: 404,
			wantBody: []string{`"error": "nothing recorded yet: no client response has been traced"`}},
		{name: "trace tool, bad body", req: request{method: "POST", path: "/api/v1/trace/tools/x", token: testToken, body: `{nope`}, wantStatus: 400},
		{name: "trace resource", req: request{method: "GET", path: "/api/v1/trace/resource?uri=trace://stats/cache"}, wantStatus: 200,
			wantBody: []string{`trace://stats/cache`}},
		{name: "start", req: request{method: "POST", path: "/api/v1/servers/beta/start", token: testToken}, wantStatus: 200,
			wantBody: []string{`"action": "start"`, `"state": "running"`}, wantCall: "start beta"},
		{name: "stop", req: request{method: "POST", path: "/api/v1/servers/alpha/stop", token: testToken}, wantStatus: 200,
			wantBody: []string{`"action": "stop"`, `"server": "alpha"`}, wantCall: "stop alpha"},
		{name: "restart", req: request{method: "POST", path: "/api/v1/servers/alpha/restart", auth: "bearer " + testToken}, wantStatus: 200,
			wantBody: []string{`"action": "restart"`}, wantCall: "restart alpha"},
		{name: "start unknown server", req: request{method: "POST", path: "/api/v1/servers/nope/start", token: testToken}, wantStatus: 404,
			wantBody: []string{"unknown server"}},
		{name: "unknown action", req: request{method: "POST", path: "/api/v1/servers/alpha/explode", token: testToken}, wantStatus: 404},
		{name: "POST without token", req: request{method: "POST", path: "/api/v1/servers/alpha/restart"}, wantStatus: 401, anon: true},
		{name: "POST with wrong token", req: request{method: "POST", path: "/api/v1/servers/alpha/stop", token: "wrong"}, wantStatus: 401},
		{name: "POST with token prefix", req: request{method: "POST", path: "/api/v1/reload", token: testToken[:10]}, wantStatus: 401},
		{name: "POST with basic auth", req: request{method: "POST", path: "/api/v1/reload", auth: "Basic " + testToken}, wantStatus: 401},
		{name: "tools", req: request{method: "GET", path: "/api/v1/tools"}, wantStatus: 200,
			wantBody: []string{`"name": "alpha__echo"`, `"original_name": "echo"`, `"server": "alpha"`}},
		{name: "sessions", req: request{method: "GET", path: "/api/v1/sessions"}, wantStatus: 200,
			wantBody: []string{`"listener": "http"`, `"client_name": "claude-code"`, `"started": "2026-01-01T00:00:00Z"`}},
		{name: "tracing", req: request{method: "GET", path: "/api/v1/tracing"}, wantStatus: 200,
			wantBody: []string{`"enabled": true`, `"up": false`, `"reason": "store unusable"`, `"failures": 2`}},
		{name: "logs", req: request{method: "GET", path: "/api/v1/logs/alpha?tail=2"}, wantStatus: 200,
			check: func(t *testing.T, r response) {
				var got admin.LogLines
				if err := json.Unmarshal([]byte(r.body), &got); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got.Lines, []string{"a2", "a3"}) {
					t.Errorf("lines = %q", got.Lines)
				}
			}},
		{name: "logs default tail", req: request{method: "GET", path: "/api/v1/logs/beta"}, wantStatus: 200, wantBody: []string{`"b1"`}},
		{name: "host log", req: request{method: "GET", path: "/api/v1/logs/mcphost"}, wantStatus: 200, wantBody: []string{"host started"}},
		{name: "logs unknown server", req: request{method: "GET", path: "/api/v1/logs/nope"}, wantStatus: 404},
		{name: "logs bad tail", req: request{method: "GET", path: "/api/v1/logs/alpha?tail=x"}, wantStatus: 400, wantBody: []string{"tail"}},
		{name: "logs tail too big", req: request{method: "GET", path: "/api/v1/logs/alpha?tail=10001"}, wantStatus: 400},
		{name: "logs negative tail", req: request{method: "GET", path: "/api/v1/logs/alpha?tail=-1"}, wantStatus: 400},
		{name: "stream bad tail", req: request{method: "GET", path: "/api/v1/logs/alpha/stream?tail=x"}, wantStatus: 400},
		{name: "stream unknown server", req: request{method: "GET", path: "/api/v1/logs/nope/stream"}, wantStatus: 404},
		{name: "metrics", req: request{method: "GET", path: "/api/v1/metrics"}, wantStatus: 200,
			wantBody: []string{`"p50_ms": 1.5`, `"timeouts": 2`, `"totals"`}},
		{name: "config", req: request{method: "GET", path: "/api/v1/config"}, wantStatus: 200, wantBody: []string{`"API_KEY": "(redacted)"`}},
		{name: "reload", req: request{method: "POST", path: "/api/v1/reload", token: testToken}, wantStatus: 200,
			wantBody: []string{`"applied": true`, `"gamma"`}, wantCall: "reload"},
		{name: "reload without token", req: request{method: "POST", path: "/api/v1/reload"}, wantStatus: 401, anon: true},
		{name: "unknown path", req: request{method: "GET", path: "/api/v1/nothing"}, wantStatus: 404, wantBody: []string{"no such endpoint"}},
		{name: "root", req: request{method: "GET", path: "/"}, wantStatus: 200, check: func(t *testing.T, r response) {
			if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("Content-Security-Policy = %q", csp)
			}
		}},
		{name: "unknown page", req: request{method: "GET", path: "/dashboard"}, wantStatus: 404},
		{name: "dashboard asset", req: request{method: "GET", path: "/ui/app.js"}, wantStatus: 200, anon: true},
		{name: "unknown asset", req: request{method: "GET", path: "/ui/nope.js"}, wantStatus: 404, anon: true},
		{name: "wrong method", req: request{method: "DELETE", path: "/api/v1/servers", token: testToken}, wantStatus: 405,
			check: func(t *testing.T, r response) {
				if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") {
					t.Errorf("Allow = %q", allow)
				}
			}},
		{name: "GET on an action", req: request{method: "GET", path: "/api/v1/servers/alpha/restart"}, wantStatus: 405,
			check: func(t *testing.T, r response) {
				if allow := r.header.Get("Allow"); allow != "POST" {
					t.Errorf("Allow = %q", allow)
				}
			}},
		{name: "CORS preflight", req: request{method: "OPTIONS", path: "/api/v1/servers/alpha/stop", origin: "http://localhost:5173"}, wantStatus: 403, anon: true},
		{name: "OPTIONS without a token", req: request{method: "OPTIONS", path: "/api/v1/servers/alpha/stop"}, wantStatus: 401, anon: true},
		{name: "localhost Host", req: request{method: "GET", path: "/api/v1/servers", host: "localhost:" + port}, wantStatus: 200},
		{name: "IPv6 loopback Host", req: request{method: "GET", path: "/api/v1/servers", host: "[::1]:" + port}, wantStatus: 200},
		{name: "foreign Host", req: request{method: "GET", path: "/api/v1/servers", host: "attacker.example:" + port}, wantStatus: 403},
		{name: "foreign Host with token", req: request{method: "POST", path: "/api/v1/reload", token: testToken, host: "attacker.example"}, wantStatus: 403},
		{name: "rebinding to a private IP", req: request{method: "GET", path: "/api/v1/config", host: "192.168.1.10:" + port}, wantStatus: 403},
		{name: "own Origin", req: request{method: "GET", path: "/api/v1/servers", origin: "http://127.0.0.1:" + port}, wantStatus: 200},
		{name: "own Origin, POST", req: request{method: "POST", path: "/api/v1/servers/alpha/stop", origin: "http://127.0.0.1:" + port}, wantStatus: 200, wantCall: "stop alpha"},
		{name: "localhost Origin for 127.0.0.1", req: request{method: "GET", path: "/api/v1/servers", origin: "http://localhost:" + port}, wantStatus: 403},
		{name: "loopback Origin, other port", req: request{method: "GET", path: "/api/v1/servers", origin: "http://127.0.0.1:8080"}, wantStatus: 403},
		{name: "localhost Origin, other port", req: request{method: "GET", path: "/api/v1/servers", host: "localhost:" + port, origin: "http://localhost:8080"}, wantStatus: 403},
		{name: "GET without a token", req: request{method: "GET", path: "/api/v1/servers"}, wantStatus: 401, anon: true},
		{name: "GET config without a token", req: request{method: "GET", path: "/api/v1/config"}, wantStatus: 401, anon: true},
		{name: "GET logs without a token", req: request{method: "GET", path: "/api/v1/logs/alpha"}, wantStatus: 401, anon: true},
		{name: "GET log stream without a token", req: request{method: "GET", path: "/api/v1/logs/alpha/stream"}, wantStatus: 401, anon: true},
		{name: "GET events without a token", req: request{method: "GET", path: "/api/v1/events"}, wantStatus: 401, anon: true},
		{name: "GET with a wrong token", req: request{method: "GET", path: "/api/v1/tools", token: "wrong"}, wantStatus: 401},
		{name: "GET unknown API path without a token", req: request{method: "GET", path: "/api/v1/nothing"}, wantStatus: 401, anon: true},
		{name: "login code without a token", req: request{method: "POST", path: "/api/v1/login-codes"}, wantStatus: 401, anon: true},
		{name: "login without credentials", req: request{method: "POST", path: "/api/v1/login", body: `{}`}, wantStatus: 401, anon: true},
		{name: "login with a wrong token", req: request{method: "POST", path: "/api/v1/login", body: `{"token":"wrong"}`}, wantStatus: 401, anon: true},
		{name: "login with a made-up code", req: request{method: "POST", path: "/api/v1/login", body: `{"code":"made-up"}`}, wantStatus: 401, anon: true},
		{name: "login, bad body", req: request{method: "POST", path: "/api/v1/login", body: `{nope`}, wantStatus: 400, anon: true},
		{name: "root without a token", req: request{method: "GET", path: "/"}, wantStatus: 200, anon: true},
		{name: "foreign Host on root", req: request{method: "GET", path: "/", host: "attacker.example:" + port}, wantStatus: 403, anon: true},
		{name: "foreign Host on /metrics", req: request{method: "GET", path: "/metrics", host: "attacker.example:" + port}, wantStatus: 403, anon: true},
		{name: "foreign Host on login", req: request{method: "POST", path: "/api/v1/login", host: "attacker.example:" + port, body: `{"token":"` + testToken + `"}`}, wantStatus: 403, anon: true},
		{name: "foreign Host on events", req: request{method: "GET", path: "/api/v1/events", host: "attacker.example:" + port}, wantStatus: 403},
		{name: "foreign Origin on login", req: request{method: "POST", path: "/api/v1/login", origin: "http://127.0.0.1:8080", body: `{"token":"` + testToken + `"}`}, wantStatus: 403, anon: true},
		{name: "foreign Origin", req: request{method: "GET", path: "/api/v1/config", origin: "https://attacker.example"}, wantStatus: 403},
		{name: "foreign Origin with token", req: request{method: "POST", path: "/api/v1/servers/alpha/stop", token: testToken, origin: "https://attacker.example"}, wantStatus: 403},
		{name: "null Origin", req: request{method: "GET", path: "/api/v1/servers", origin: "null"}, wantStatus: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !tt.anon && tt.req.token == "" && tt.req.auth == "" {
				tt.req.token = testToken
			}
			r := send(t, base, tt.req)
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			checkHygiene(t, r, testToken)
			for _, want := range tt.wantBody {
				if !strings.Contains(r.body, want) {
					t.Errorf("body lacks %s:\n%s", want, r.body)
				}
			}
			if tt.wantCall != "" && !slices.Contains(fake.Calls(), tt.wantCall) {
				t.Errorf("calls = %q, want %q among them", fake.Calls(), tt.wantCall)
			}
			if r.status == 401 {
				if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="mcphost-admin"` {
					t.Errorf("WWW-Authenticate = %q", got)
				}
			}
		})
	}
	t.Cleanup(func() {
		// Every subtest has finished by now: no request without a valid
		// token (or with a foreign Host or Origin) reached the Control,
		// and the token was never logged.
		for _, c := range fake.Calls() {
			switch c {
			case "start beta", "stop alpha", "restart alpha", "reload", "trace get_trace", "trace off", "trace empty":
			default:
				t.Errorf("unexpected call %q", c)
			}
		}
		if n := len(fake.Calls()); n != 8 {
			t.Errorf("calls = %q, want 8", fake.Calls())
		}
		if strings.Contains(logs.String(), testToken) {
			t.Errorf("the token was logged:\n%s", logs.String())
		}
		if !strings.Contains(logs.String(), "missing or wrong bearer token") {
			t.Errorf("refused requests were not logged:\n%s", logs.String())
		}
	})
}

func TestReload(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		res        admin.ReloadResult
		err        error
		wantStatus int
		wantBody   []string
	}{
		{name: "applied", res: admin.ReloadResult{Applied: true, Changed: []string{"alpha"}}, wantStatus: 200,
			wantBody: []string{`"applied": true`, `"changed": [`, `"added": []`, `"plugins": []`, `"diagnostics": []`, `"partial": []`}},
		{name: "applied in part", res: admin.ReloadResult{Applied: true, Unchanged: []string{"alpha"},
			Diagnostics: []admin.Diagnostic{{Severity: "error", Summary: "Unknown plugin", File: "proxy.hcl", Line: 9, Column: 3}},
			Partial:     []admin.ReloadPartial{{Kind: admin.PartialServer, Name: "beta", Reason: "not added: Unknown plugin"}}}, wantStatus: 200,
			wantBody: []string{`"applied": true`, `"kind": "server"`, `"name": "beta"`, `"reason": "not added: Unknown plugin"`,
				`"severity": "error"`, `"line": 9`, `"column": 3`}},
		{name: "refused", res: admin.ReloadResult{Diagnostics: []admin.Diagnostic{{Severity: "error", Summary: `unknown transport "ftp"`,
			File: "proxy.hcl", Line: 3, Column: 5}}}, wantStatus: 422,
			wantBody: []string{`"applied": false`, `"summary": "unknown transport \"ftp\""`, `"file": "proxy.hcl"`, "running configuration is unchanged"}},
		{name: "refused with error", err: fmt.Errorf("proxy.hcl: %w", admin.ErrReloadRefused),
			res: admin.ReloadResult{Applied: true, Diagnostics: []admin.Diagnostic{{Severity: "error", Summary: "bad"}}}, wantStatus: 422,
			wantBody: []string{`"applied": false`, `"summary": "bad"`, "configuration refused"}},
		{name: "failed", err: errors.New("disk on fire"), wantStatus: 500, wantBody: []string{"reload failed: disk on fire"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := admintest.New()
			fake.ReloadResult, fake.ReloadErr = tt.res, tt.err
			_, base := start(t, admin.Options{Token: testToken, Control: fake})
			r := send(t, base, request{method: "POST", path: "/api/v1/reload", token: testToken})
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			checkHygiene(t, r, testToken)
			for _, want := range tt.wantBody {
				if !strings.Contains(r.body, want) {
					t.Errorf("body lacks %s:\n%s", want, r.body)
				}
			}
		})
	}
}

func TestAuthRequired(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr   string
		method string
		path   string
		want   bool
	}{
		{"127.0.0.1:3001", "GET", "/api/v1/servers", true},
		{"127.0.0.1:3001", "HEAD", "/api/v1/servers", true},
		{"127.0.0.1:3001", "GET", "/api/v1/events", true},
		{"127.0.0.1:3001", "POST", "/api/v1/reload", true},
		{"127.0.0.1:3001", "OPTIONS", "/api/v1/servers", true},
		{"127.0.0.1:3001", "POST", "/api/v1/login", false},
		{"127.0.0.1:3001", "POST", "/api/v1/login-codes", true},
		{"127.0.0.1:3001", "GET", "/metrics", false},
		{"127.0.0.1:3001", "GET", "/", false},
		{"localhost:3001", "GET", "/api/v1/servers", true},
		{"localhost:3001", "GET", "/metrics", false},
		{"[::1]:3001", "GET", "/", false},
		{"[::1]:3001", "DELETE", "/api/v1/servers", true},
		{"0.0.0.0:3001", "GET", "/metrics", true},
		{":3001", "GET", "/", false}, // the dashboard's page and assets: public code
		{":3001", "GET", "/ui/app.js", false},
		{":3001", "HEAD", "/ui/style.css", false},
		{":3001", "POST", "/", true},
		{":3001", "GET", "/favicon.ico", true},
		{"[::]:3001", "GET", "/api/v1/servers", true},
		{"192.0.2.10:3001", "GET", "/metrics", true},
		{"admin.example:3001", "GET", "/", false},
		{"admin.example:3001", "GET", "/uix", true},
		{"0.0.0.0:0", "POST", "/api/v1/login", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr+" "+tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, admin.Options{Addr: tt.addr, Token: testToken, Control: admintest.New()})
			if got := s.AuthRequired(httptest.NewRequest(tt.method, tt.path, nil)); got != tt.want {
				t.Errorf("authRequired = %v, want %v", got, tt.want)
			}
		})
	}
}

// newServer is New, with the Server closed with the test.
func newServer(t *testing.T, opts admin.Options) *admin.Server {
	t.Helper()
	s, err := admin.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// TestNonLoopback serves the handler of a Server configured for a
// non-loopback address: every request needs the token.
func TestNonLoopback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr       string
		host       string
		token      string
		wantStatus int
	}{
		{addr: "0.0.0.0:0", host: "mcphost.lan:3001", wantStatus: 401},
		{addr: "0.0.0.0:0", host: "mcphost.lan:3001", token: "wrong", wantStatus: 401},
		{addr: "0.0.0.0:0", host: "mcphost.lan:3001", token: testToken, wantStatus: 200},
		{addr: "0.0.0.0:0", host: "127.0.0.1:3001", wantStatus: 401},
		{addr: "192.0.2.10:3001", host: "192.0.2.10:3001", wantStatus: 401},
		{addr: "192.0.2.10:3001", host: "192.0.2.10:3001", token: testToken, wantStatus: 200},
		{addr: "192.0.2.10:3001", host: "localhost:3001", token: testToken, wantStatus: 200},
		{addr: "192.0.2.10:3001", host: "attacker.example", token: testToken, wantStatus: 403},
	}
	for _, tt := range tests {
		t.Run(tt.addr+" "+tt.host+" "+tt.token, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, admin.Options{Addr: tt.addr, Token: testToken, Control: admintest.New()})
			req := httptest.NewRequest("GET", "/api/v1/servers", nil)
			req.Host = tt.host
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			checkHygiene(t, response{status: rec.Code, header: rec.Header(), body: rec.Body.String()}, testToken)
			if rec.Code == 401 && rec.Header().Get("WWW-Authenticate") != admin.Realm {
				t.Errorf("WWW-Authenticate = %q", rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

// sseReader parses a text/event-stream.
type sseReader struct {
	r        *bufio.Reader
	comments []string
	// keptAlive, when set, is closed at the first keepalive comment.
	keptAlive chan struct{}
}

type sseEvent struct {
	event, data string
}

func (s *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	var data []string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if data != nil {
				ev.data = strings.Join(data, "\n")
				return ev, nil
			}
		case strings.HasPrefix(line, ":"):
			comment := strings.TrimSpace(line[1:])
			s.comments = append(s.comments, comment)
			if comment == "keepalive" && s.keptAlive != nil {
				close(s.keptAlive)
				s.keptAlive = nil
			}
		case strings.HasPrefix(line, "event: "):
			ev.event = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			data = append(data, line[len("data: "):])
		}
	}
}

func openStream(t *testing.T, url string, token string) (*http.Response, *sseReader) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status = %d: %s", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q", ct)
	}
	for k := range resp.Header {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			t.Errorf("stream has CORS header %s", k)
		}
	}
	return resp, &sseReader{r: bufio.NewReader(resp.Body)}
}

func TestLogStream(t *testing.T) {
	t.Parallel()
	fake := admintest.New()
	srv, base := start(t, admin.Options{Token: testToken, Control: fake})
	_, stream := openStream(t, base+"/api/v1/logs/alpha/stream?tail=2", testToken)

	var got []string
	read := func(n int) {
		t.Helper()
		for range n {
			ev, err := stream.next()
			if err != nil {
				t.Fatalf("after %q: %v", got, err)
			}
			if ev.event != "" {
				t.Errorf("log line event type = %q", ev.event)
			}
			got = append(got, ev.data)
		}
	}
	read(2)
	// The response headers came after the subscription: these lines are
	// written after the client connected.
	fake.WriteLog("alpha", "live one")
	fake.WriteLog("beta", "not alpha's")
	fake.WriteLog("alpha", "two\r\nlines")
	read(2)
	if want := []string{"a2", "a3", "live one", "two\nlines"}; !slices.Equal(got, want) {
		t.Errorf("lines = %q, want %q", got, want)
	}

	// Close ends the stream, and does not wait for the client to leave.
	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		closed <- srv.Close(ctx)
	}()
	if ev, err := stream.next(); err == nil {
		t.Fatalf("stream goes on after Close: %+v", ev)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
}

func TestEventStream(t *testing.T) {
	t.Parallel()
	fake := admintest.New()
	srv, base := start(t, admin.Options{Token: testToken, Control: fake, KeepAlive: 20 * time.Millisecond})
	_, stream := openStream(t, base+"/api/v1/events", testToken)
	at := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	fake.Emit(admin.Event{Time: at, Server: "alpha", State: admin.StateFailed, Reason: "exit status 2"})
	fake.Emit(admin.Event{Time: at, Type: admin.EventReload, ReloadResult: &admin.ReloadResult{Applied: true, Added: []string{"gamma"}}})

	ev, err := stream.next()
	if err != nil {
		t.Fatal(err)
	}
	var state admin.Event
	if err := json.Unmarshal([]byte(ev.data), &state); err != nil {
		t.Fatal(err)
	}
	if ev.event != "state" || state.Type != "state" || state.Server != "alpha" || state.State != "failed" ||
		state.Reason != "exit status 2" || !state.Time.Equal(at) || state.ReloadResult != nil {
		t.Errorf("state event = %s %s", ev.event, ev.data)
	}

	ev, err = stream.next()
	if err != nil {
		t.Fatal(err)
	}
	if ev.event != "reload" || !strings.Contains(ev.data, `"type":"reload"`) || !strings.Contains(ev.data, `"added":["gamma"]`) ||
		!strings.Contains(ev.data, `"removed":[]`) || strings.Contains(ev.data, `"server"`) {
		t.Errorf("reload event = %s %s", ev.event, ev.data)
	}

	// Idle: keepalive comments. The next event is sent once one came.
	deadline := time.Now().Add(5 * time.Second)
	keptAlive := make(chan struct{})
	stream.keptAlive = keptAlive
	go func() {
		select {
		case <-keptAlive:
			fake.Emit(admin.Event{Time: at, Server: "beta", State: admin.StateRunning})
		case <-t.Context().Done():
		}
	}()
	if ev, err = stream.next(); err != nil || !strings.Contains(ev.data, `"beta"`) {
		t.Fatalf("third event = %+v, %v", ev, err)
	}
	if !slices.Contains(stream.comments, "keepalive") || time.Now().After(deadline) {
		t.Errorf("comments = %q, want keepalives", stream.comments)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.next(); err == nil {
		t.Error("event stream goes on after Close")
	}
}

func TestStreamNeedsTokenWhenNotLoopback(t *testing.T) {
	t.Parallel()
	s, err := admin.New(admin.Options{Addr: "0.0.0.0:0", Token: testToken, Control: admintest.New()})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/events", "/api/v1/logs/alpha/stream"} {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 401 {
			t.Errorf("%s: status = %d, want 401", path, rec.Code)
		}
	}
}

var hexToken = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestGeneratedTokenFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "run", "admin.token")
	fake := admintest.New()
	srv, base := start(t, admin.Options{TokenFile: path, Control: fake})
	if srv.TokenFile() != path {
		t.Errorf("TokenFile() = %q, want %q", srv.TokenFile(), path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode = %v, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("token dir mode = %v, want 0700", di.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(b))
	if !hexToken.MatchString(token) {
		t.Fatalf("token %q is not 32 hex-encoded bytes", token)
	}
	if r := send(t, base, request{method: "POST", path: "/api/v1/servers/alpha/restart"}); r.status != 401 {
		t.Errorf("without token: %d", r.status)
	}
	for _, p := range []string{"/api/v1/servers", "/api/v1/config", "/api/v1/servers/alpha", "/api/v1/nothing"} {
		checkHygiene(t, send(t, base, request{method: "GET", path: p, token: token}), token)
	}
	r := send(t, base, request{method: "POST", path: "/api/v1/servers/alpha/restart", token: token})
	if r.status != 200 {
		t.Errorf("with the file's token: %d %s", r.status, r.body)
	}
	checkHygiene(t, r, token)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("token file still there after Close: %v", err)
	}
}

func TestDefaultTokenFile(t *testing.T) {
	t.Parallel()
	xdg := t.TempDir()
	// An existing, too open directory of ours is made private.
	if err := os.Mkdir(filepath.Join(xdg, "mcphost"), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := admin.New(admin.Options{Addr: "127.0.0.1:0", Control: admintest.New()})
	if err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		if k == "XDG_RUNTIME_DIR" {
			return xdg
		}
		return ""
	}
	s.SetGetenv(getenv)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(s.Addr())
	want := filepath.Join(xdg, "mcphost", "admin-"+port+".token")
	if s.TokenFile() != want || admin.DefaultTokenFile(port, getenv) != want {
		t.Errorf("TokenFile() = %q, want %q", s.TokenFile(), want)
	}
	if fi, err := os.Stat(want); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token file: %v %v", fi, err)
	}
	if di, err := os.Stat(filepath.Dir(want)); err != nil || di.Mode().Perm() != 0o700 {
		t.Errorf("token dir: %v %v", di.Mode(), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(want); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("token file still there after Close: %v", err)
	}
}

func TestDefaultTokenFilePath(t *testing.T) {
	t.Parallel()
	env := func(xdg string) func(string) string {
		return func(k string) string {
			if k == "XDG_RUNTIME_DIR" {
				return xdg
			}
			return ""
		}
	}
	if got, want := admin.DefaultTokenFile("3001", env("/run/user/1000")), filepath.Join("/run/user/1000", "mcphost", "admin-3001.token"); got != want {
		t.Errorf("with XDG_RUNTIME_DIR: %q, want %q", got, want)
	}
	fallback := filepath.Join(os.TempDir(), fmt.Sprintf("mcphost-%d", os.Getuid()), "admin-3001.token")
	if got := admin.DefaultTokenFile("3001", env("")); got != fallback {
		t.Errorf("without XDG_RUNTIME_DIR: %q, want %q", got, fallback)
	}
	if got := admin.DefaultTokenFile("3001", env("relative/dir")); got != fallback {
		t.Errorf("with a relative XDG_RUNTIME_DIR: %q, want %q", got, fallback)
	}
}

func TestUnsafeTokenDir(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) (tokenFile string, xdg string)
		wantErr string
	}{
		{name: "symlinked default dir", wantErr: "symbolic link", setup: func(t *testing.T, dir string) (string, string) {
			target := filepath.Join(dir, "elsewhere")
			if err := os.Mkdir(target, 0o700); err != nil {
				t.Fatal(err)
			}
			xdg := filepath.Join(dir, "xdg")
			if err := os.Mkdir(xdg, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, filepath.Join(xdg, "mcphost")); err != nil {
				t.Fatal(err)
			}
			return "", xdg
		}},
		{name: "world-writable configured dir", wantErr: "writable by other users", setup: func(t *testing.T, dir string) (string, string) {
			open := filepath.Join(dir, "open")
			if err := os.Mkdir(open, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(open, 0o777); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(open, "admin.token"), ""
		}},
		{name: "file in the way", wantErr: "not a directory", setup: func(t *testing.T, dir string) (string, string) {
			f := filepath.Join(dir, "file")
			if err := os.WriteFile(f, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(f, "admin.token"), ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tokenFile, xdg := tt.setup(t, t.TempDir())
			s, err := admin.New(admin.Options{Addr: "127.0.0.1:0", TokenFile: tokenFile, Control: admintest.New()})
			if err != nil {
				t.Fatal(err)
			}
			s.SetGetenv(func(k string) string {
				if k == "XDG_RUNTIME_DIR" {
					return xdg
				}
				return ""
			})
			err = s.Start()
			if err == nil {
				_ = s.Close(context.Background())
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if s.Addr() != "" {
				t.Errorf("still listening on %s", s.Addr())
			}
		})
	}
}

func TestConfiguredTokenWritesNoFile(t *testing.T) {
	t.Parallel()
	srv, base := start(t, admin.Options{Token: testToken, Control: admintest.New()})
	if srv.TokenFile() != "" {
		t.Errorf("TokenFile() = %q, want none", srv.TokenFile())
	}
	if r := send(t, base, request{method: "POST", path: "/api/v1/reload", token: testToken}); r.status != 200 {
		t.Errorf("status = %d", r.status)
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	if _, err := admin.New(admin.Options{}); err == nil || !strings.Contains(err.Error(), "Control") {
		t.Errorf("New without Control: %v", err)
	}
	if _, err := admin.New(admin.Options{Addr: "no-port", Control: admintest.New()}); err == nil {
		t.Error("New with a bad address succeeded")
	}
	s, err := admin.New(admin.Options{Control: admintest.New()})
	if err != nil {
		t.Fatal(err)
	}
	if addr := admin.ConfiguredAddr(s); addr != admin.DefaultAddr {
		t.Errorf("default addr = %q", addr)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("Close before Start: %v", err)
	}
	if err := s.Start(); err == nil {
		t.Error("Start after Close succeeded")
	}

	s, err = admin.New(admin.Options{Addr: "127.0.0.1:0", Token: testToken, Control: admintest.New()})
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr() != "" {
		t.Errorf("Addr before Start = %q", s.Addr())
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err == nil {
		t.Error("second Start succeeded")
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := net.Dial("tcp", s.Addr()); err == nil {
		t.Error("still accepting connections after Close")
	}
}
