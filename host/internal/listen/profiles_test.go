package listen

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/host/internal/oauthrs"
	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

const profileToken = "coding-token-0123456789abcdef0123456789"

// startProfiles serves a router whose backend "srv" has the tools echo and
// add, with the profiles "coding" (echo only, its own token) and "open"
// (everything, no token of its own), under opts.
func startProfiles(t *testing.T, opts HTTPOptions) *HTTP {
	t.Helper()
	r, _ := newRouter(t, "echo", "add")
	r.SetProfiles([]router.Profile{{Name: "coding", Tools: []string{"*__echo"}}, {Name: "open"}})
	h := serveListener(t, r, opts)
	h.SetProfiles(map[string]ProfileAccess{"coding": {Token: profileToken}, "open": {}})
	return h
}

// initAt initializes a session at url with token; it returns the
// response, its body and the session id.
func initAt(t *testing.T, url, token string) (*http.Response, []byte, string) {
	t.Helper()
	resp := doAuth(t, http.MethodPost, url, "", acceptJSON, initializeMsg("1"), token)
	return resp, readAll(t, resp), resp.Header.Get("Mcp-Session-Id")
}

// TestProfileAuth: a profile's token admits to it alone; without it the
// profile answers 401 with a challenge; the listener's own token (the
// operator's) admits everywhere; a profile without a token is as open as
// the main endpoint; an unknown profile is 404 with a JSON-RPC error.
func TestProfileAuth(t *testing.T) {
	t.Parallel()
	open := startProfiles(t, HTTPOptions{})
	guarded := startProfiles(t, HTTPOptions{AuthToken: "operator-token"})
	tests := []struct {
		name      string
		h         *HTTP
		profile   string
		token     string
		want      int
		challenge bool
	}{
		{"open listener, profile token", open, "coding", profileToken, http.StatusOK, false},
		{"open listener, no token", open, "coding", "", http.StatusUnauthorized, true},
		{"open listener, wrong token", open, "coding", "nope", http.StatusUnauthorized, true},
		{"open listener, profile without token", open, "open", "", http.StatusOK, false},
		{"open listener, unknown profile", open, "ghost", profileToken, http.StatusNotFound, false},
		{"open listener, nested path", open, "coding/x", profileToken, http.StatusNotFound, false},
		{"guarded listener, profile token", guarded, "coding", profileToken, http.StatusOK, false},
		{"guarded listener, operator token", guarded, "coding", "operator-token", http.StatusOK, false},
		{"guarded listener, no token", guarded, "coding", "", http.StatusUnauthorized, true},
		{"guarded listener, profile without token needs the listener's", guarded, "open", "", http.StatusUnauthorized, true},
		{"guarded listener, another profile's token", guarded, "open", profileToken, http.StatusUnauthorized, true},
		{"guarded listener, open profile with operator token", guarded, "open", "operator-token", http.StatusOK, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body, _ := initAt(t, tt.h.ProfileURL(tt.profile), tt.token)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			if got := resp.Header.Get("WWW-Authenticate") != ""; got != tt.challenge {
				t.Errorf("WWW-Authenticate %q, want one: %v", resp.Header.Get("WWW-Authenticate"), tt.challenge)
			}
			if tt.want != http.StatusOK && gjson.GetBytes(body, "error.code").Int() != jsonrpc.CodeInvalidRequest {
				t.Errorf("refusal body is not a JSON-RPC error: %s", body)
			}
			checkNoToken(t, resp, body, profileToken)
		})
	}
}

// TestProfileSessions: a profile's session lists and calls only what the
// profile grants, and its id means nothing on another endpoint.
func TestProfileSessions(t *testing.T) {
	t.Parallel()
	h := startProfiles(t, HTTPOptions{})
	url := h.ProfileURL("coding")
	_, _, id := initAt(t, url, profileToken)
	if id == "" {
		t.Fatal("no session id")
	}
	list := doAuth(t, http.MethodPost, url, id, acceptJSON, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, profileToken)
	var names []string
	gjson.GetBytes(readAll(t, list), "result.tools.#.name").ForEach(func(_, v gjson.Result) bool {
		names = append(names, v.Str)
		return true
	})
	if !slices.Equal(names, []string{"mcp__proxy__srv__echo"}) {
		t.Errorf("coding lists %q, want the echo tool only", names)
	}
	call := doAuth(t, http.MethodPost, url, id, acceptJSON, callMsg("3", "mcp__proxy__srv__add", `{}`, ""), profileToken)
	if body := readAll(t, call); gjson.GetBytes(body, "error.code").Int() != jsonrpc.CodeInvalidParams || !strings.Contains(string(body), "unknown tool") {
		t.Errorf("a call outside the profile: %s", body)
	}
	// The same id on the main endpoint, or another profile's, is no session.
	for _, other := range []string{h.URL(), h.ProfileURL("open")} {
		resp := doAuth(t, http.MethodPost, other, id, acceptJSON, `{"jsonrpc":"2.0","id":4,"method":"tools/list"}`, profileToken)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("the coding session at %s: %d, want 404", other, resp.StatusCode)
		}
	}
	// A removed profile answers 404.
	h.SetProfiles(map[string]ProfileAccess{"open": {}})
	if resp, body, _ := initAt(t, url, profileToken); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a removed profile: %d %s", resp.StatusCode, body)
	}
}

// TestProfileSSE: the legacy transport serves profiles too, and sends the
// client to the profile's message endpoint.
func TestProfileSSE(t *testing.T) {
	t.Parallel()
	h := startProfiles(t, allTransports())
	req, err := http.NewRequest(http.MethodGet, strings.Replace(h.SSEURL(), "/sse", "/sse/p/coding", 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+profileToken)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("SSE at the profile: %d", resp.StatusCode)
	}
	events := sseEvents(resp.Body)
	endpoint := string(next(t, events, "endpoint"))
	if !strings.HasPrefix(endpoint, "/message/p/coding?sessionId=") {
		t.Fatalf("endpoint %q, want the profile's message path", endpoint)
	}
	base := strings.TrimSuffix(h.SSEURL(), "/sse")
	post := doAuth(t, http.MethodPost, base+endpoint, "", "", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, profileToken)
	if post.StatusCode != http.StatusAccepted {
		t.Fatalf("POST to the profile's message path: %d", post.StatusCode)
	}
	list := next(t, events, "tools/list answer")
	if n := gjson.GetBytes(list, "result.tools.#").Int(); n != 1 {
		t.Errorf("profile SSE session lists %d tools, want 1: %s", n, list)
	}
	// The session's messages posted without the profile's path are refused.
	plain := strings.Replace(base+endpoint, "/message/p/coding", "/message", 1)
	if resp := doAuth(t, http.MethodPost, plain, "", "", `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, profileToken); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the profile's SSE session on the main message path: %d, want 404", resp.StatusCode)
	}
}

// TestProfileOAuthScopes: on an OAuth listener a profile's scopes are
// required of access tokens (403 insufficient_scope naming them), and its
// own token still admits.
func TestProfileOAuthScopes(t *testing.T) {
	t.Parallel()
	l := startOAuth(t, func(_ *oauthrs.Options, o *HTTPOptions) {})
	l.h.router.SetProfiles([]router.Profile{{Name: "coding", Servers: []string{"srv"}}})
	l.h.SetProfiles(map[string]ProfileAccess{"coding": {Scopes: []string{"mcp:coding"}, Token: profileToken}})
	url := l.h.ProfileURL("coding")
	tests := []struct {
		name, token string
		want        int
		challenge   string
	}{
		{"token without the profile's scope", l.token(t, "alice", "mcp"), http.StatusForbidden, `scope="mcp mcp:coding"`},
		{"token with it", l.token(t, "alice", "mcp mcp:coding"), http.StatusOK, ""},
		{"no token", "", http.StatusUnauthorized, "resource_metadata="},
		{"the profile's own token", profileToken, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body, _ := initAt(t, url, tt.token)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			if got := resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, tt.challenge) || (tt.challenge == "") != (got == "") {
				t.Errorf("WWW-Authenticate %q, want %q in it", got, tt.challenge)
			}
			if tt.want == http.StatusForbidden && !strings.Contains(resp.Header.Get("WWW-Authenticate"), "insufficient_scope") {
				t.Errorf("403 without insufficient_scope: %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

// TestProfileWebSocket: a WebSocket opened at a profile's path needs its
// token and sees only what the profile grants.
func TestProfileWebSocket(t *testing.T) {
	t.Parallel()
	h := startProfiles(t, allTransports())
	url := strings.Replace(h.WebSocketURL(), "/ws", "/ws/p/coding", 1)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if _, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"mcp"}}); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("dial without the profile's token: %v %v", resp, err)
	}
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		Subprotocols: []string{"mcp"}, HTTPHeader: http.Header{"Authorization": {"Bearer " + profileToken}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	writeWS(t, c, initializeMsg("1"))
	readWS(t, c, "the initialize answer")
	writeWS(t, c, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	if n := gjson.GetBytes(readWS(t, c, "the list"), "result.tools.#").Int(); n != 1 {
		t.Errorf("the coding profile lists %d tools over WebSocket, want 1", n)
	}
	writeWS(t, c, callMsg("3", "mcp__proxy__srv__add", `{}`, ""))
	if code := gjson.GetBytes(readWS(t, c, "the refusal"), "error.code").Int(); code != jsonrpc.CodeInvalidParams {
		t.Errorf("a call outside the profile: code %d", code)
	}
}

// TestProfileModern: a 2026-07-28 request (no session) at a profile's
// path is answered within the profile.
func TestProfileModern(t *testing.T) {
	t.Parallel()
	h := startProfiles(t, HTTPOptions{})
	auth := map[string]string{"Mcp-Method": "tools/list", "Authorization": "Bearer " + profileToken}
	list := `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":` + modernMetaJSON + `}}`
	resp, body := postModernMsg(t, h.ProfileURL("coding"), list, auth)
	if resp.StatusCode != http.StatusOK || gjson.GetBytes(body, "result.tools.#").Int() != 1 {
		t.Errorf("tools/list at the coding profile: %d %s", resp.StatusCode, body)
	}
	delete(auth, "Authorization")
	if resp, body := postModernMsg(t, h.ProfileURL("coding"), list, auth); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without the token: %d %s", resp.StatusCode, body)
	}
	call := callMsg("2", "mcp__proxy__srv__add", `{}`, modernMetaJSON)
	_, body = postModernMsg(t, h.ProfileURL("coding"), call, map[string]string{
		"Mcp-Method": "tools/call", "Mcp-Name": "mcp__proxy__srv__add", "Authorization": "Bearer " + profileToken,
	})
	if code := gjson.GetBytes(body, "error.code").Int(); code != jsonrpc.CodeInvalidParams {
		t.Errorf("a call outside the profile: %s", body)
	}
}
