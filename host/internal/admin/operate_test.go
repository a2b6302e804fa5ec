package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mcphost/mcphost/host/internal/admin"
	"github.com/mcphost/mcphost/host/internal/admin/admintest"
)

// operatingFake is the fake with the optional interfaces: it answers
// requests through a pretend router, and lists prompts, resources and
// plugins.
type operatingFake struct {
	*admintest.Control
	requests chan admin.OperateRequest
}

func (f *operatingFake) Operate(ctx context.Context, req admin.OperateRequest) (admin.OperateResponse, error) {
	select {
	case f.requests <- req:
	default:
	}
	var p struct {
		Name string `json:"name"`
		URI  string `json:"uri"`
	}
	if err := json.Unmarshal(req.Params, &p); err != nil {
		return admin.OperateResponse{}, err
	}
	switch {
	case p.Name == "slow":
		// What the proxy's Operate returns when its bound expires.
		return admin.OperateResponse{}, fmt.Errorf("tools/call through the router: %w", context.DeadlineExceeded)
	case p.Name == "gone":
		return admin.OperateResponse{}, errors.New("tools/call through the router: the session ended before the response")
	case p.Name == "garbage":
		return admin.OperateResponse{Message: json.RawMessage(`{"jsonrpc":"2.0","id":1}`)}, nil
	case p.Name == "nope":
		return admin.OperateResponse{Message: json.RawMessage(`{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"unknown tool: nope"}}`)}, nil
	case p.URI != "":
		return admin.OperateResponse{Message: json.RawMessage(`{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"` + p.URI + `","text":"x"}]}}`)}, nil
	}
	return admin.OperateResponse{Message: json.RawMessage(`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}],"isError":false}}`)}, nil
}

func (f *operatingFake) Prompts() []admin.Prompt {
	return []admin.Prompt{{Name: "alpha__greet", Server: "alpha", OriginalName: "greet", Arguments: json.RawMessage(`[{"name":"name","required":true}]`)}}
}

func (f *operatingFake) Resources() []admin.Resource {
	return []admin.Resource{{URI: "alpha://doc", Server: "alpha", OriginalURI: "doc://x", Name: "doc", MimeType: "text/plain"}}
}

func (f *operatingFake) Plugins(context.Context) []admin.Plugin {
	return []admin.Plugin{
		{Name: "stdio", Kind: "transport", Version: "1.0.0", Source: "builtin", Mode: "subprocess", Running: true, Pid: 4242, Checksum: admin.ChecksumBuiltin},
		{Name: "versions", Kind: "translator", Source: "builtin", Mode: "inprocess", Checksum: admin.ChecksumBuiltin},
	}
}

func TestOperatorEndpoints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		req        request
		wantStatus int
		wantBody   []string
		wantMethod string // the request the fake must have been given
		wantParams string
	}{
		{name: "call", req: request{method: "POST", path: "/api/v1/tools/alpha__echo/call", token: testToken, body: `{"arguments":{"text":"hi"}}`},
			wantStatus: 200, wantBody: []string{`"result": {`, `"isError": false`, `"latency_ms": `},
			wantMethod: "tools/call", wantParams: `{"name":"alpha__echo","arguments":{"text":"hi"}}`},
		{name: "call without arguments", req: request{method: "POST", path: "/api/v1/tools/alpha__echo/call", token: testToken},
			wantStatus: 200, wantMethod: "tools/call", wantParams: `{"name":"alpha__echo","arguments":{}}`},
		{name: "call answered with an error", req: request{method: "POST", path: "/api/v1/tools/nope/call", token: testToken, body: `{}`},
			wantStatus: 200, wantBody: []string{`"rpc_error": {`, `"code": -32602`, `unknown tool: nope`, `"latency_ms"`}},
		{name: "no answer in time", req: request{method: "POST", path: "/api/v1/tools/slow/call", token: testToken, body: `{}`},
			wantStatus: 504, wantBody: []string{"no answer within"}},
		{name: "no answer", req: request{method: "POST", path: "/api/v1/tools/gone/call", token: testToken, body: `{}`},
			wantStatus: 502, wantBody: []string{"the session ended before the response"}},
		{name: "not a response", req: request{method: "POST", path: "/api/v1/tools/garbage/call", token: testToken, body: `{}`},
			wantStatus: 502, wantBody: []string{"not a JSON-RPC response"}},
		{name: "call needs the token", req: request{method: "POST", path: "/api/v1/tools/alpha__echo/call", body: `{}`}, wantStatus: 401},
		{name: "call with arguments not an object", req: request{method: "POST", path: "/api/v1/tools/alpha__echo/call", token: testToken, body: `{"arguments":[1]}`},
			wantStatus: 400, wantBody: []string{"arguments must be a JSON object"}},
		{name: "call with an unknown member", req: request{method: "POST", path: "/api/v1/tools/alpha__echo/call", token: testToken, body: `{"args":{}}`},
			wantStatus: 400},
		{name: "call with a bad body", req: request{method: "POST", path: "/api/v1/tools/alpha__echo/call", token: testToken, body: `{nope`},
			wantStatus: 400},
		// Found by FuzzHandler: what followed the first JSON value was ignored.
		{name: "call with more after the object", req: request{method: "POST", path: "/api/v1/tools/alpha__echo/call", token: testToken, body: `{}0`},
			wantStatus: 400, wantBody: []string{"one JSON object"}},
		{name: "read with two objects", req: request{method: "POST", path: "/api/v1/resources/read", token: testToken, body: `{"uri":"a://b"} {"uri":"c://d"}`},
			wantStatus: 400, wantBody: []string{"one JSON object"}},
		{name: "prompt", req: request{method: "POST", path: "/api/v1/prompts/alpha__greet/get", token: testToken, body: `{"arguments":{"name":"bob"}}`},
			wantStatus: 200, wantMethod: "prompts/get", wantParams: `{"name":"alpha__greet","arguments":{"name":"bob"}}`},
		{name: "read", req: request{method: "POST", path: "/api/v1/resources/read", token: testToken, body: `{"uri":"alpha://doc"}`},
			wantStatus: 200, wantBody: []string{`"uri": "alpha://doc"`}, wantMethod: "resources/read", wantParams: `{"uri":"alpha://doc"}`},
		{name: "read without uri", req: request{method: "POST", path: "/api/v1/resources/read", token: testToken, body: `{}`},
			wantStatus: 400, wantBody: []string{"uri is required"}},
		{name: "read needs the token", req: request{method: "POST", path: "/api/v1/resources/read", body: `{"uri":"alpha://doc"}`}, wantStatus: 401},
		{name: "prompts", req: request{method: "GET", path: "/api/v1/prompts", token: testToken}, wantStatus: 200,
			wantBody: []string{`"name": "alpha__greet"`, `"original_name": "greet"`, `"arguments": [`}},
		{name: "resources", req: request{method: "GET", path: "/api/v1/resources", token: testToken}, wantStatus: 200,
			wantBody: []string{`"uri": "alpha://doc"`, `"original_uri": "doc://x"`, `"mime_type": "text/plain"`}},
		{name: "plugins", req: request{method: "GET", path: "/api/v1/plugins", token: testToken}, wantStatus: 200,
			wantBody: []string{`"name": "stdio"`, `"pid": 4242`, `"checksum": "builtin"`, `"mode": "inprocess"`, `"restarts": 0`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := &operatingFake{Control: admintest.New(), requests: make(chan admin.OperateRequest, 1)}
			_, base := start(t, admin.Options{Token: testToken, Control: fake})
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
			if tt.wantMethod == "" {
				return
			}
			select {
			case got := <-fake.requests:
				if got.Method != tt.wantMethod || string(got.Params) != tt.wantParams {
					t.Errorf("request = %s %s, want %s %s", got.Method, got.Params, tt.wantMethod, tt.wantParams)
				}
			default:
				t.Errorf("the fake got no request")
			}
		})
	}
}

func TestOperatorEndpointsWithoutSupport(t *testing.T) {
	t.Parallel()
	_, base := start(t, admin.Options{Token: testToken, Control: admintest.New()})
	for _, rq := range []request{
		{method: "POST", path: "/api/v1/tools/x/call", token: testToken, body: `{}`},
		{method: "POST", path: "/api/v1/resources/read", token: testToken, body: `{"uri":"a://b"}`},
		{method: "GET", path: "/api/v1/prompts", token: testToken},
		{method: "GET", path: "/api/v1/plugins", token: testToken},
	} {
		r := send(t, base, rq)
		if r.status != 501 {
			t.Errorf("%s %s: status %d, want 501: %s", rq.method, rq.path, r.status, r.body)
		}
		checkHygiene(t, r, testToken)
	}
}

func TestToolSchemasInCatalog(t *testing.T) {
	t.Parallel()
	tool := admin.Tool{Name: "a__echo", Server: "a", OriginalName: "echo",
		InputSchema:  json.RawMessage(`{"type":"object","properties":{"text":{"type":"string"}}}`),
		OutputSchema: json.RawMessage(`{"type":"object"}`), Annotations: json.RawMessage(`{"readOnlyHint":true}`)}
	b, err := json.Marshal(admin.ToolList{Tools: []admin.Tool{tool}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"input_schema":{"type":"object","properties":{"text":{"type":"string"}}}`,
		`"output_schema":{"type":"object"}`, `"annotations":{"readOnlyHint":true}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
}

func TestDiagnosticString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    admin.Diagnostic
		want string
	}{
		{admin.Diagnostic{Severity: "error", Summary: "Unsupported argument", Detail: "No comand here.", File: "proxy.hcl", Line: 7, Column: 3},
			"proxy.hcl:7:3: error: Unsupported argument; No comand here."},
		{admin.Diagnostic{Severity: "warning", Summary: "Deprecated", File: "proxy.hcl"}, "proxy.hcl: warning: Deprecated"},
		{admin.Diagnostic{Severity: "error", Summary: "No file"}, "error: No file"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			if got := tt.d.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}
