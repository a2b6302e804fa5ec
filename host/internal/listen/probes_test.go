package listen

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mcphost/mcphost/host/internal/oauthrs"
)

// TestProbes: /healthz is 200 whatever the state; /readyz follows the
// proxy's readiness. Neither asks for credentials, with auth_token or
// OAuth on, and their bodies say only the state.
func TestProbes(t *testing.T) {
	t.Parallel()
	var state atomic.Int32
	readiness := func() Readiness { return Readiness(state.Load()) }
	token := HTTPOptions{AuthToken: "s3cret", Readiness: readiness}
	listeners := map[string]*HTTP{}
	listeners["no auth"], _ = startListener(t, HTTPOptions{Readiness: readiness}, "echo")
	listeners["auth_token"], _ = startListener(t, token, "echo")
	listeners["oauth"] = startOAuth(t, func(_ *oauthrs.Options, o *HTTPOptions) { o.Readiness = readiness }).h
	steps := []struct {
		state       Readiness
		ready       int
		readyBody   string
		description string
	}{
		{Starting, http.StatusServiceUnavailable, "not ready\n", "starting"},
		{Ready, http.StatusOK, "ok\n", "ready"},
		{Draining, http.StatusServiceUnavailable, "draining\n", "draining"},
	}
	for _, step := range steps {
		state.Store(int32(step.state))
		for name, h := range listeners {
			for _, probe := range []struct {
				path, body string
				status     int
			}{{HealthPath, "ok\n", http.StatusOK}, {ReadyPath, step.readyBody, step.ready}} {
				resp := do(t, http.MethodGet, endpointURL(h, probe.path), "", "", "")
				body := readAll(t, resp)
				if resp.StatusCode != probe.status || string(body) != probe.body {
					t.Errorf("%s, %s: GET %s = %d %q, want %d %q", step.description, name, probe.path, resp.StatusCode, body, probe.status, probe.body)
				}
				if resp.Header.Get("WWW-Authenticate") != "" {
					t.Errorf("%s, %s: GET %s asks for credentials", step.description, name, probe.path)
				}
			}
		}
	}
}

// TestProbeMethods: probes answer GET and HEAD only.
func TestProbeMethods(t *testing.T) {
	t.Parallel()
	h, _ := startListener(t, HTTPOptions{}, "echo")
	tests := []struct {
		method, path string
		status       int
		body         string
	}{
		{http.MethodHead, HealthPath, http.StatusOK, ""},
		{http.MethodHead, ReadyPath, http.StatusOK, ""},
		{http.MethodPost, HealthPath, http.StatusMethodNotAllowed, "Method Not Allowed\n"},
		{http.MethodDelete, ReadyPath, http.StatusMethodNotAllowed, "Method Not Allowed\n"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			resp := do(t, tt.method, endpointURL(h, tt.path), "", "", "")
			if body := readAll(t, resp); resp.StatusCode != tt.status || string(body) != tt.body {
				t.Errorf("%d %q, want %d %q", resp.StatusCode, body, tt.status, tt.body)
			}
		})
	}
}

// TestReadyDrainingOnShutdown: a listener shutting down is draining, even
// when the proxy says ready. A shut-down listener serves nothing, so this
// asks the handler directly.
func TestReadyDrainingOnShutdown(t *testing.T) {
	t.Parallel()
	h, _ := startListener(t, HTTPOptions{Readiness: func() Readiness { return Ready }}, "echo")
	if got := h.readiness(); got != Ready {
		t.Fatalf("before shutdown: readiness %d, want Ready", got)
	}
	if err := h.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := h.readiness(); got != Draining {
		t.Errorf("after shutdown: readiness %d, want Draining", got)
	}
}

// TestProbePathTakenByMCP: a listener whose MCP path is /readyz keeps
// serving MCP there.
func TestProbePathTakenByMCP(t *testing.T) {
	t.Parallel()
	h, _ := startListener(t, HTTPOptions{Path: ReadyPath}, "echo")
	resp := do(t, http.MethodPost, h.URL(), "", acceptJSON, initializeMsg("1"))
	if body := readAll(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"result"`) {
		t.Errorf("initialize on %s: %d %s", ReadyPath, resp.StatusCode, body)
	}
}
