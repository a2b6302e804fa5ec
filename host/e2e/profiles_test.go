//go:build unix

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

const chatProfileToken = "chat-profile-token-0123456789abcdef012345"

// profilesConfig serves two example servers, "coding" and "chat", with a
// profile for each: coding (echo and add of its server, open like the main
// endpoint) and chat (whoami and counter of the other, behind its own
// token).
func profilesConfig(addr, adminAddr, adminToken string) string {
	return listenAndAdmin(addr, adminAddr, adminToken) + exampleServer("coding") + exampleServer("chat") + fmt.Sprintf(`
profile "coding" {
  servers = ["coding"]
  tools   = ["*__echo", "*__add"]
}
profile "chat" {
  servers = ["chat"]
  tools   = ["*__whoami", "*__counter"]
  token   = %q
}
`, chatProfileToken)
}

// TestProfiles: with the real binary, two profiles give two clients
// different tools/list; a call outside a profile fails as an unknown tool
// does; a profile's token is required; the metrics and the admin API show
// the profiles; `run --stdio --profile` serves one profile on stdio; a
// reload narrows one profile live and removes the other.
func TestProfiles(t *testing.T) {
	t.Parallel()
	addr, adminAddr, adminToken := freeAddr(t), freeAddr(t), "profiles-admin-token"
	path := writeConfig(t, profilesConfig(addr, adminAddr, adminToken))
	p := startProxyAt(t, path, "http://"+addr+"/mcp")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	rec := &notifRecorder{}
	coding := httpClient(t, p.URL+"/p/coding", clientOptions{notifications: rec.handle})
	chatTr, err := transport.NewStreamableHTTP(p.URL+"/p/chat", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + chatProfileToken}))
	if err != nil {
		t.Fatal(err)
	}
	chat := connect(t, client.NewClient(chatTr), clientOptions{})
	main := httpClient(t, p.URL, clientOptions{})

	codingTools, chatTools, all := toolNameSet(ctx, t, coding), toolNameSet(ctx, t, chat), toolNameSet(ctx, t, main)
	slices.Sort(codingTools)
	slices.Sort(chatTools)
	if want := []string{"mcp__proxy__coding__add", "mcp__proxy__coding__echo"}; !slices.Equal(codingTools, want) {
		t.Errorf("coding profile lists %q, want %q", codingTools, want)
	}
	if want := []string{"mcp__proxy__chat__counter", "mcp__proxy__chat__whoami"}; !slices.Equal(chatTools, want) {
		t.Errorf("chat profile lists %q, want %q", chatTools, want)
	}
	if !slices.Contains(all, "mcp__proxy__coding__crash") || !slices.Contains(all, "mcp__proxy__chat__echo") {
		t.Errorf("the main endpoint lists %q, want every tool", all)
	}

	if got := callText(ctx, t, coding, "mcp__proxy__coding__echo", map[string]any{"text": "hi"}); !strings.Contains(got, "hi") {
		t.Errorf("echo through the coding profile: %q", got)
	}
	// Outside the profile (another server's tool, a filtered one) is
	// answered exactly as a tool that does not exist.
	for _, outside := range []string{"mcp__proxy__chat__whoami", "mcp__proxy__coding__crash"} {
		_, outsideErr := tryCall(ctx, coding, outside, nil)
		_, unknownErr := tryCall(ctx, coding, "mcp__proxy__coding__never", nil)
		if outsideErr == nil || unknownErr == nil || outsideErr.Error() != strings.ReplaceAll(unknownErr.Error(), "mcp__proxy__coding__never", outside) {
			t.Errorf("calling %s through coding: %v; an unknown tool: %v", outside, outsideErr, unknownErr)
		}
	}
	if _, err := tryCall(ctx, chat, "mcp__proxy__chat__whoami", nil); err != nil {
		t.Errorf("whoami through the chat profile: %v", err)
	}

	// The chat profile needs its token; the coding one is open like /mcp.
	for _, tt := range []struct {
		url, token string
		want       int
	}{
		{p.URL + "/p/chat", "", http.StatusUnauthorized},
		{p.URL + "/p/chat", "wrong", http.StatusUnauthorized},
		{p.URL + "/p/chat", chatProfileToken, http.StatusOK},
		{p.URL + "/p/nope", "", http.StatusNotFound},
	} {
		status, header, body := postInitialize(t, tt.url, tt.token)
		if status != tt.want {
			t.Errorf("initialize at %s with token %q: %d %s, want %d", tt.url, tt.token, status, body, tt.want)
		}
		if tt.want == http.StatusUnauthorized && !strings.HasPrefix(header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("401 without a Bearer challenge: %q", header.Get("WWW-Authenticate"))
		}
		if tt.want != http.StatusOK && !strings.Contains(body, `"jsonrpc":"2.0"`) {
			t.Errorf("refusal body is not JSON-RPC: %s", body)
		}
		if strings.Contains(body, chatProfileToken) || strings.Contains(fmt.Sprint(header), chatProfileToken) {
			t.Error("a response holds the profile token")
		}
	}

	// Metrics carry the profile; the admin API lists the profiles, their
	// token redacted.
	series := `mcphost_requests_total{server="coding",method="tools/call",outcome="ok",profile="coding"}`
	poll.Within(t, 30*time.Second, series, func() error {
		v, err := scrapeValueAuth(p.Metrics.url, p.Metrics.token, series)
		if err == nil && v < 1 {
			err = fmt.Errorf("%s is %v", series, v)
		}
		return err
	})
	var cfg struct {
		Profiles []struct {
			Name    string   `json:"name"`
			Servers []string `json:"servers"`
			Tools   []string `json:"tools"`
			Token   string   `json:"token"`
		} `json:"profiles"`
	}
	adminGet(t, "http://"+adminAddr, adminToken, "/api/v1/config", &cfg)
	if len(cfg.Profiles) != 2 || cfg.Profiles[0].Name != "coding" || cfg.Profiles[1].Name != "chat" ||
		cfg.Profiles[1].Token != "(redacted)" || cfg.Profiles[0].Token != "" || !slices.Equal(cfg.Profiles[1].Servers, []string{"chat"}) {
		t.Errorf("admin config profiles: %+v", cfg.Profiles)
	}

	// One profile on stdio, from the same config.
	stdioTr := transport.NewStdio(mcphost(t), nil, "run", "--stdio", "--profile", "chat", path)
	stdio := connect(t, client.NewClient(stdioTr), clientOptions{})
	stdioTools := toolNameSet(ctx, t, stdio)
	slices.Sort(stdioTools)
	if !slices.Equal(stdioTools, chatTools) {
		t.Errorf("run --stdio --profile chat lists %q, want %q", stdioTools, chatTools)
	}
	if _, err := tryCall(ctx, stdio, "mcp__proxy__coding__echo", map[string]any{"text": "x"}); err == nil {
		t.Error("a tool outside the profile was callable over stdio")
	}

	// A reload applies live: coding narrows (its client is told, and sees
	// the new list), chat goes (its session is closed, its endpoint 404).
	narrowed := strings.Replace(profilesConfig(addr, adminAddr, adminToken), `tools   = ["*__echo", "*__add"]`, `tools   = ["*__echo"]`, 1)
	narrowed = narrowed[:strings.Index(narrowed, `profile "chat"`)]
	if err := os.WriteFile(path, []byte(narrowed), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(ctx, 1, func(n mcp.JSONRPCNotification) bool { return n.Method == "notifications/tools/list_changed" })
	waitTools(ctx, t, coding, "coding narrowed to echo", func(names []string) bool {
		return slices.Equal(names, []string{"mcp__proxy__coding__echo"})
	})
	if _, err := tryCall(ctx, chat, "mcp__proxy__chat__whoami", nil); err == nil {
		t.Error("the session of a removed profile still answers")
	}
	if status, _, body := postInitialize(t, p.URL+"/p/chat", chatProfileToken); status != http.StatusNotFound {
		t.Errorf("a removed profile's endpoint: %d %s", status, body)
	}
}

// postInitialize posts an initialize to url, with token when set, and
// returns the status, headers and body.
func postInitialize(t *testing.T, url, token string) (int, http.Header, string) {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}`
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}
