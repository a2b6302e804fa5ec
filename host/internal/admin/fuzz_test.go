package admin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/host/internal/admin"
	"github.com/mcphost/mcphost/host/internal/admin/admintest"
)

// FuzzHandler: any request the HTTP server would parse (method, target,
// body, with or without the token, from another origin or not) gets an
// answer without a panic; every error answer has a 4xx or 5xx status and
// a JSON body {"error": "..."}, and every JSON answer is JSON.
func FuzzHandler(f *testing.F) {
	for _, s := range []struct{ method, target, body string }{
		{"GET", "/api/v1/servers", ""},
		{"GET", "/api/v1/servers/alpha", ""},
		{"GET", "/api/v1/servers/nope", ""},
		{"POST", "/api/v1/servers/alpha/restart", ""},
		{"POST", "/api/v1/servers/alpha/explode", ""},
		{"DELETE", "/api/v1/servers", ""},
		{"GET", "/api/v1/logs/alpha?tail=2", ""},
		{"GET", "/api/v1/logs/alpha?tail=-1", ""},
		{"GET", "/api/v1/logs/alpha?tail=99999999999999999999", ""},
		{"POST", "/api/v1/trace/tools/get_trace", `{"response_id":"latest"}`},
		{"POST", "/api/v1/trace/tools/x", `{nope`},
		{"GET", "/api/v1/trace/resource?uri=trace://stats/cache", ""},
		{"GET", "/api/v1/trace/resource?uri=%zz", ""},
		{"POST", "/api/v1/tools/alpha__echo/call", `{"text":"hi"}`},
		{"POST", "/api/v1/tools/alpha__echo/call", `[1,2`},
		{"POST", "/api/v1/prompts/p/get", `{"a":1}`},
		{"POST", "/api/v1/resources/read", `{"uri":"file:///a"}`},
		{"POST", "/api/v1/resources/read", `"x"`},
		{"POST", "/api/v1/reload", ""},
		{"POST", "/api/v1/login", `{"code":"nope"}`},
		{"POST", "/api/v1/login-codes", ""},
		{"POST", "/api/v1/logout", ""},
		{"GET", "/api/v1/events", ""},
		{"GET", "/api/v1/logs/alpha/stream", ""},
		{"GET", "/", ""},
		{"GET", "/ui/app.js", ""},
		{"GET", "/nope/../api/v1/servers", ""},
		{"OPTIONS", "*", ""},
		{"GET", "http://127.0.0.1:3001/api/v1/config", ""},
	} {
		f.Add(s.method, s.target, []byte(s.body), uint8(0))
		f.Add(s.method, s.target, []byte(s.body), uint8(1))
	}
	srv, err := admin.New(admin.Options{Addr: "127.0.0.1:3001", Token: testToken, Control: admintest.New(), KeepAlive: time.Millisecond})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = srv.Close(context.Background()) })
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, method, target string, body []byte, who uint8) {
		var head strings.Builder
		head.WriteString(method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:3001\r\n")
		switch who % 4 {
		case 1:
			head.WriteString("Authorization: Bearer " + testToken + "\r\n")
		case 2:
			head.WriteString("Authorization: Bearer wrong\r\nOrigin: https://attacker.example\r\n")
		case 3:
			head.WriteString("Content-Type: application/json\r\nSec-Fetch-Site: cross-site\r\n")
		}
		head.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head.String() + string(body))))
		if err != nil {
			return // the server would have answered 400 itself
		}
		req.RemoteAddr = "127.0.0.1:40000"
		// Event and log streams run until the client goes.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		req = req.WithContext(ctx)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		res := rec.Result()
		ct := res.Header.Get("Content-Type")
		b := rec.Body.Bytes()
		if strings.Contains(string(b), testToken) {
			t.Fatalf("%s %s: the answer holds the token", method, target)
		}
		// A JSON body that is not JSON is the client's fault.
		if who%4 == 1 && req.Method == "POST" && len(strings.Trim(string(body), " \t\r\n")) > 0 && !json.Valid(body) && takesJSON(req.URL.Path) && res.StatusCode != http.StatusBadRequest {
			t.Fatalf("POST %s with body %q: %d %q, want 400", target, body, res.StatusCode, rec.Body.Bytes())
		}
		if res.StatusCode >= 400 {
			var e struct {
				Error string `json:"error"`
			}
			if ct != "application/json; charset=utf-8" || json.Unmarshal(b, &e) != nil || e.Error == "" {
				t.Fatalf("%s %s: %d %q %q, want a JSON error body", method, target, res.StatusCode, ct, b)
			}
			return
		}
		if res.StatusCode < 200 {
			t.Fatalf("%s %s: status %d", method, target, res.StatusCode)
		}
		if strings.HasPrefix(ct, "application/json") && !json.Valid(b) {
			t.Fatalf("%s %s: %d, body not JSON: %q", method, target, res.StatusCode, b)
		}
	})
}

// takesJSON says whether an endpoint reads a JSON body.
func takesJSON(path string) bool {
	p := strings.Split(strings.TrimPrefix(path, "/api/v1/"), "/")
	switch {
	case len(p) == 3 && p[0] == "trace" && p[1] == "tools" && p[2] != "":
		return true
	case len(p) == 3 && (p[0] == "tools" && p[2] == "call" || p[0] == "prompts" && p[2] == "get") && p[1] != "":
		return true
	case len(p) == 2 && p[0] == "resources" && p[1] == "read":
		return true
	}
	return false
}
