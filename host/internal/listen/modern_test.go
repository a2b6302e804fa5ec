package listen

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

const modernMetaJSON = `{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},` +
	`"io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"}}`

// postModern POSTs a 2026-07-28 message with the given routing headers.
func postModernMsg(t *testing.T, url, body string, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", acceptBoth)
	req.Header.Set("MCP-Protocol-Version", router.ModernVersion)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp, readAll(t, resp)
}

func TestHTTPModernRequests(t *testing.T) {
	t.Parallel()
	h, _ := startHTTP(t, "echo")
	call := callMsg("1", "mcp__proxy__srv__echo", `{}`, modernMetaJSON)
	tests := []struct {
		name    string
		body    string
		headers map[string]string
		status  int
		code    int
	}{
		{"discover", `{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":` + modernMetaJSON + `}}`,
			map[string]string{"Mcp-Method": "server/discover"}, http.StatusOK, 0},
		{"call", call, map[string]string{"Mcp-Method": "tools/call", "Mcp-Name": "mcp__proxy__srv__echo"}, http.StatusOK, 0},
		{"call, name in base64", call, map[string]string{"Mcp-Method": "tools/call", "Mcp-Name": "=?base64?bWNwX19wcm94eV9fc3J2X19lY2hv?="}, http.StatusOK, 0},
		{"no Mcp-Method", call, map[string]string{"Mcp-Name": "mcp__proxy__srv__echo"}, http.StatusBadRequest, codeHeaderMismatch},
		{"wrong Mcp-Method", call, map[string]string{"Mcp-Method": "tools/list", "Mcp-Name": "mcp__proxy__srv__echo"}, http.StatusBadRequest, codeHeaderMismatch},
		{"no Mcp-Name", call, map[string]string{"Mcp-Method": "tools/call"}, http.StatusBadRequest, codeHeaderMismatch},
		{"wrong Mcp-Name", call, map[string]string{"Mcp-Method": "tools/call", "Mcp-Name": "other"}, http.StatusBadRequest, codeHeaderMismatch},
		{"wrong _meta version", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2030-01-01"}}}`,
			map[string]string{"Mcp-Method": "tools/list"}, http.StatusBadRequest, router.CodeUnsupportedProtocolVersion},
		{"setLevel is gone", `{"jsonrpc":"2.0","id":1,"method":"logging/setLevel","params":{"level":"info","_meta":` + modernMetaJSON + `}}`,
			map[string]string{"Mcp-Method": "logging/setLevel"}, http.StatusOK, jsonrpc.CodeMethodNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, body := postModernMsg(t, h.URL(), tc.body, tc.headers)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if resp.Header.Get("Mcp-Session-Id") != "" {
				t.Fatal("a 2026-07-28 exchange got a session id")
			}
			if got := errorCode(body); got != tc.code {
				t.Fatalf("error code %d, want %d: %s", got, tc.code, body)
			}
		})
	}
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		req, _ := http.NewRequest(method, h.URL(), nil)
		req.Header.Set("MCP-Protocol-Version", router.ModernVersion)
		req.Header.Set("Accept", acceptBoth)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("%s in 2026-07-28: status %d, want 405", method, resp.StatusCode)
		}
	}
	if n := h.Sessions(); n != 0 {
		t.Fatalf("%d sessions left after stateless requests", n)
	}
}

func errorCode(body []byte) int {
	return int(gjson.GetBytes(body, "error.code").Int())
}

func TestHTTPModernListenStream(t *testing.T) {
	t.Parallel()
	h, f := startHTTP(t, "echo")
	req, err := http.NewRequest(http.MethodPost, h.URL(), strings.NewReader(
		`{"jsonrpc":"2.0","id":"l","method":"subscriptions/listen","params":{"notifications":{"toolsListChanged":true},"_meta":`+modernMetaJSON+`}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", acceptBoth)
	req.Header.Set("MCP-Protocol-Version", router.ModernVersion)
	req.Header.Set("Mcp-Method", "subscriptions/listen")
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := sseEvents(resp.Body)
	ack := next(t, events, "the acknowledgement")
	if m, _ := jsonrpc.GetString(ack, "method"); m != "notifications/subscriptions/acknowledged" {
		t.Fatalf("first event %s", ack)
	}
	f.setTools("echo", "new")
	f.notify(`{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`)
	changed := next(t, events, "list_changed")
	if id := gjson.GetBytes(changed, `params._meta.io\.modelcontextprotocol/subscriptionId`).Str; id != "l" {
		t.Fatalf("list_changed on the stream: %s", changed)
	}
	resp.Body.Close()
	// The stream's session goes away with it.
	poll.Until(t, "the listen stream's session gone with the stream", func() bool { return h.router.SessionCount() == 0 })
}
