package httptransport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/plugintest"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"github.com/mcphost/mcphost/sdk/plugintest/syncbuf"
	"github.com/mcphost/mcphost/sdk/transport"
)

func quiet() hclog.Logger { return hclog.NewNullLogger() }

func TestConformance(t *testing.T) {
	backends := []struct {
		name    string
		backend func(t *testing.T) json.RawMessage
	}{
		{"Streamable", func(t *testing.T) json.RawMessage {
			return newStreamServer(t).config(t, map[string]any{"mode": ModeStreamable})
		}},
		{"StreamableAuto", func(t *testing.T) json.RawMessage { return newStreamServer(t).config(t, nil) }},
		{"SSE", func(t *testing.T) json.RawMessage {
			return configFor(t, newLegacyServer(t).URL+"/sse", map[string]any{"mode": ModeSSE})
		}},
		{"SSEAuto", func(t *testing.T) json.RawMessage {
			return configFor(t, newLegacyServer(t).URL+"/sse", map[string]any{"mode": ModeAuto})
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			t.Run("InProcess", func(t *testing.T) {
				t.Parallel()
				plugintest.TestTransport(t, func(*testing.T) transport.Transport { return New(quiet()) }, b.backend)
			})
			t.Run("GRPC", func(t *testing.T) {
				t.Parallel()
				plugintest.TestTransport(t, func(t *testing.T) transport.Transport { return plugintest.ServeTransport(t, New(quiet())) }, b.backend)
			})
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("not a cert"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		config   string
		want     []string // attributes with an error
		warnings []string // attributes with a warning
	}{
		{"minimal", `{"url":"http://localhost:3001/mcp"}`, nil, nil},
		{"full", `{"url":"https://example.com/mcp","mode":"streamable","headers":{"X-Key":"v"},"bearer_token":"t","connect_timeout":"5s","request_timeout":"0","tls_insecure_skip_verify":false,"tls_ca_file":"` + ca + `"}`, nil, nil},
		{"nulls", `{"url":"http://h/mcp","mode":null,"headers":null,"bearer_token":null,"connect_timeout":null,"request_timeout":null,"tls_insecure_skip_verify":null,"tls_ca_file":null}`, nil, nil},
		{"sse and auto", `{"url":"http://h/sse","mode":"sse"}`, nil, nil},
		{"missing url", `{}`, []string{"url"}, nil},
		{"bad scheme", `{"url":"ftp://h/x"}`, []string{"url"}, nil},
		{"no host", `{"url":"http:///mcp"}`, []string{"url"}, nil},
		{"unparsable url", `{"url":"http://h/%zz"}`, []string{"url"}, nil},
		{"bad mode", `{"url":"http://h","mode":"websocket"}`, []string{"mode"}, nil},
		{"bad durations", `{"url":"http://h","connect_timeout":"soon","request_timeout":"-1s"}`, []string{"connect_timeout", "request_timeout"}, nil},
		{"missing ca file", `{"url":"https://h","tls_ca_file":"` + dir + `/nope.pem"}`, []string{"tls_ca_file"}, nil},
		{"ca file is a dir", `{"url":"https://h","tls_ca_file":"` + dir + `"}`, []string{"tls_ca_file"}, nil},
		{"bad header name", `{"url":"http://h","headers":{"Bad Name":"v"}}`, []string{"headers"}, nil},
		{"header value with newline", `{"url":"http://h","headers":{"X":"a\nb"}}`, []string{"headers"}, nil},
		{"reserved header", `{"url":"http://h","headers":{"mcp-session-id":"v"}}`, []string{"headers"}, nil},
		{"reserved 2026-07-28 headers", `{"url":"http://h","headers":{"mcp-method":"v","Mcp-Param-Region":"eu"}}`, []string{"headers", "headers"}, nil},
		// The same rule as the websocket transport's (transport.HeaderRules).
		{"token and authorization", `{"url":"http://h","headers":{"Authorization":"Basic x"},"bearer_token":"t"}`, []string{"headers"}, nil},
		{"insecure", `{"url":"https://h","tls_insecure_skip_verify":true}`, nil, []string{"tls_insecure_skip_verify"}},
		{"not JSON", `{`, []string{""}, nil},
		{"oauth settings", `{"url":"https://h","oauth":"auto","oauth_client_id":"c","oauth_client_secret":"s","oauth_scopes":["a"],"oauth_grant":"client_credentials","oauth_token_endpoint_auth_method":"client_secret_post","oauth_redirect_port":8765,"oauth_sign_in":"browser"}`, nil, nil},
		{"bad oauth values", `{"url":"https://h","oauth":"on","oauth_grant":"password","oauth_sign_in":"popup","oauth_token_endpoint_auth_method":"tls_client_auth","oauth_redirect_port":70000}`,
			[]string{"oauth", "oauth_grant", "oauth_sign_in", "oauth_token_endpoint_auth_method", "oauth_redirect_port"}, nil},
		{"client credentials without a secret", `{"url":"https://h","oauth_grant":"client_credentials","oauth_client_id":"c"}`, []string{"oauth_grant"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := New(quiet()).Validate(context.Background(), base.ValidateRequest{Config: json.RawMessage(tt.config)})
			if err != nil {
				t.Fatal(err)
			}
			var errs, warns []string
			for _, d := range r.Diagnostics {
				if d.Summary == "" {
					t.Errorf("diagnostic without summary: %+v", d)
				}
				if d.Severity == base.SeverityError {
					errs = append(errs, d.Attribute)
				} else {
					warns = append(warns, d.Attribute)
				}
				if strings.Contains(d.Detail, "a\nb") || strings.Contains(d.Detail, "Basic x") {
					t.Errorf("diagnostic reveals a header value: %+v", d)
				}
			}
			if fmt.Sprint(errs) != fmt.Sprint(tt.want) {
				t.Errorf("error attributes = %q, want %q", errs, tt.want)
			}
			if fmt.Sprint(warns) != fmt.Sprint(tt.warnings) {
				t.Errorf("warning attributes = %q, want %q", warns, tt.warnings)
			}
		})
	}
}

func TestSchemaMarksSecretsSensitive(t *testing.T) {
	t.Parallel()
	plugintest.CheckSchema(t, New(quiet()), plugintest.SchemaWant{Instance: plugintest.BlockWant{
		Attributes: []string{"url", "mode", "headers", "bearer_token", "connect_timeout", "request_timeout", "tls_insecure_skip_verify", "tls_ca_file",
			"oauth", "oauth_client_id", "oauth_client_secret", "oauth_client_metadata_url", "oauth_scopes", "oauth_grant", "oauth_token_endpoint_auth_method", "oauth_client_assertion_key_file", "oauth_redirect_port", "oauth_sign_in"},
		Required:  []string{"url"},
		Sensitive: []string{"headers", "bearer_token", "oauth_client_secret"},
	}})
}

func TestOpenRejectsBadConfig(t *testing.T) {
	t.Parallel()
	_, err := New(quiet()).Open(context.Background(), transport.OpenRequest{Name: "x", Config: json.RawMessage(`{"url":"ftp://h"}`)})
	if err == nil || !strings.Contains(err.Error(), "scheme") {
		t.Fatalf("Open = %v, want a scheme error", err)
	}
}

// rpc sends msg on c and, for a request, returns the response.
func rpc(t *testing.T, c transport.Conn, msg string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Send(ctx, []byte(msg)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if env, _ := jsonrpc.Peek([]byte(msg)); env.Kind != jsonrpc.KindRequest {
		return nil
	}
	got, err := c.Recv(ctx)
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	return got
}

const (
	initializeMsg  = `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	initializedMsg = `{"jsonrpc":"2.0","method":"notifications/initialized"}`
)

// recvErr waits for Recv to fail.
func recvErr(t *testing.T, c transport.Conn) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		msg, err := c.Recv(ctx)
		if err != nil {
			return err
		}
		t.Logf("Recv before the error: %s", msg)
	}
}

func TestSessionLifecycle(t *testing.T) {
	t.Parallel()
	s := newStreamServer(t)
	s.stream = make(chan []byte)
	c := plugintest.Open(t, New(quiet()), s.config(t, nil), 0)

	resp := rpc(t, c, initializeMsg)
	if v, _ := jsonrpc.GetString(resp, "result.protocolVersion"); v != "2025-06-18" {
		t.Fatalf("initialize answer: %s", resp)
	}
	rpc(t, c, initializedMsg)
	rpc(t, c, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)

	// The notification's POST is answered 202 with nothing for the
	// client to wait on, so it may be recorded after the tools/list one.
	var posts []http.Header
	poll.Within(t, 5*time.Second, "three POSTs", func() bool {
		s.mu.Lock()
		posts = append([]http.Header(nil), s.posts...)
		s.mu.Unlock()
		return len(posts) >= 3
	})
	if len(posts) != 3 {
		t.Fatalf("%d POSTs, want 3", len(posts))
	}
	if sid, pv := posts[0].Get("Mcp-Session-Id"), posts[0].Get("Mcp-Protocol-Version"); sid != "" || pv != "" {
		t.Errorf("initialize carried session %q, version %q", sid, pv)
	}
	for _, h := range posts[1:] {
		if sid, pv := h.Get("Mcp-Session-Id"), h.Get("Mcp-Protocol-Version"); sid != "session-1" || pv != "2025-06-18" {
			t.Errorf("later POST carried session %q, version %q; want session-1, 2025-06-18", sid, pv)
		}
	}

	// Server-initiated messages arrive on the GET stream, which resumes
	// with Last-Event-ID after it drops.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.stream <- []byte(`{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`)
	if msg, err := c.Recv(ctx); err != nil || !bytes.Contains(msg, []byte("list_changed")) {
		t.Fatalf("GET stream message: %s, %v", msg, err)
	}
	s.stream <- nil // ends the stream
	s.stream <- []byte(`{"jsonrpc":"2.0","id":"srv","method":"ping"}`)
	if msg, err := c.Recv(ctx); err != nil || !bytes.Contains(msg, []byte(`"srv"`)) {
		t.Fatalf("message after reconnecting: %s, %v", msg, err)
	}
	s.mu.Lock()
	gets := append([]http.Header(nil), s.gets...)
	s.mu.Unlock()
	if len(gets) != 2 {
		t.Fatalf("%d GETs, want 2", len(gets))
	}
	if gets[0].Get("Accept") != "text/event-stream" || gets[0].Get("Mcp-Session-Id") != "session-1" || gets[0].Get("Last-Event-ID") != "" {
		t.Errorf("first GET headers: %v", gets[0])
	}
	if id := gets[1].Get("Last-Event-ID"); !strings.HasPrefix(id, "e") {
		t.Errorf("second GET Last-Event-ID = %q, want the first stream's event id", id)
	}

	closeCtx, closeCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer closeCancel()
	if err := c.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	deleted := fmt.Sprint(s.deleted)
	s.mu.Unlock()
	if deleted != "[session-1]" {
		t.Errorf("DELETEd sessions %s, want [session-1]", deleted)
	}
	if err := recvErr(t, c); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Recv after Close: %v", err)
	}
}

func TestSessionExpiryEndsConn(t *testing.T) {
	t.Parallel()
	t.Run("404", func(t *testing.T) {
		t.Parallel()
		testSessionExpiry(t, http.StatusNotFound)
	})
	t.Run("400", func(t *testing.T) {
		t.Parallel()
		testSessionExpiry(t, http.StatusBadRequest)
	})
}

func testSessionExpiry(t *testing.T, status int) {
	s := newStreamServer(t)
	s.expiredStatus = status
	tr := New(quiet())
	c := plugintest.Open(t, tr, s.config(t, map[string]any{"mode": ModeStreamable}), 0)
	rpc(t, c, initializeMsg)
	rpc(t, c, initializedMsg)
	s.expireSessions()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The expiry shows on the next request, or earlier on the GET stream
	// reopening: then the Send itself finds the connection ended.
	err := c.Send(ctx, []byte(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`))
	if err == nil {
		err = recvErr(t, c)
	}
	if !errors.Is(err, transport.ErrClosed) || !strings.Contains(err.Error(), "session expired") {
		t.Fatalf("Send or Recv = %v, want ErrClosed: session expired", err)
	}
	if err := c.Send(ctx, []byte(`{"jsonrpc":"2.0","id":3,"method":"x"}`)); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Send after the end = %v, want ErrClosed", err)
	}
	m, _ := tr.Metrics(context.Background(), base.MetricsRequest{})
	if !strings.Contains(m.PrometheusText, `mcphost_http_sessions_expired_total{server="`+strings.ReplaceAll(t.Name(), "/", "_")+`"} 1`) {
		t.Errorf("metrics lack the expiry:\n%s", m.PrometheusText)
	}
}

func TestHTTPErrorAnswersRequest(t *testing.T) {
	t.Parallel()
	s := newStreamServer(t)
	s.failMethod, s.failStatus = "boom", 500
	c := plugintest.Open(t, New(quiet()), s.config(t, nil), 0)
	rpc(t, c, initializeMsg)
	resp := rpc(t, c, `{"jsonrpc":"2.0","id":"b-7","method":"boom","params":{}}`)
	env, err := jsonrpc.Peek(resp)
	if err != nil || !env.IsError || string(env.ID) != `"b-7"` {
		t.Fatalf("want an error response for id b-7, got %s", resp)
	}
	if code := jsonrpc.Get(resp, "error.code"); string(code) != "-32000" {
		t.Errorf("code = %s", code)
	}
	if msg, _ := jsonrpc.GetString(resp, "error.message"); !strings.Contains(msg, "500") {
		t.Errorf("message %q does not give the status", msg)
	}
	if status := jsonrpc.Get(resp, "error.data.status"); string(status) != "500" {
		t.Errorf("data.status = %s", status)
	}
	// The connection is still good.
	if resp := rpc(t, c, `{"jsonrpc":"2.0","id":8,"method":"echo","params":{"ok":true}}`); !bytes.Contains(resp, []byte(`"echo":{"ok":true}`)) {
		t.Errorf("echo after the error: %s", resp)
	}
}

func TestHeadersAndBearerToken(t *testing.T) {
	t.Parallel()
	extra := map[string]any{"headers": map[string]string{"X-Api-Key": "k3y"}, "bearer_token": "t0ken"}
	check := func(t *testing.T, hs []http.Header) {
		t.Helper()
		if len(hs) == 0 {
			t.Fatal("no requests seen")
		}
		for _, h := range hs {
			if h.Get("X-Api-Key") != "k3y" || h.Get("Authorization") != "Bearer t0ken" {
				t.Errorf("request lacks the configured headers: %v", h)
			}
		}
	}
	t.Run("Streamable", func(t *testing.T) {
		t.Parallel()
		s := newStreamServer(t)
		c := plugintest.Open(t, New(quiet()), s.config(t, extra), 0)
		rpc(t, c, initializeMsg)
		rpc(t, c, `{"jsonrpc":"2.0","id":1,"method":"echo"}`)
		s.mu.Lock()
		defer s.mu.Unlock()
		check(t, s.posts)
	})
	t.Run("SSE", func(t *testing.T) {
		t.Parallel()
		s := newLegacyServer(t)
		c := plugintest.Open(t, New(quiet()), configFor(t, s.URL+"/sse", extra), 0)
		rpc(t, c, initializeMsg)
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.headers) != 2 {
			t.Errorf("%d requests, want the GET and one POST", len(s.headers))
		}
		check(t, s.headers)
	})
}

// TestSecretsAreNotLogged runs a whole exchange at trace level and checks
// that no header value, token or session id reaches the log.
func TestSecretsAreNotLogged(t *testing.T) {
	t.Parallel()
	var buf syncbuf.Buffer
	logger := hclog.New(&hclog.LoggerOptions{Level: hclog.Trace, Output: &buf})
	s := newStreamServer(t)
	s.failMethod, s.failStatus = "boom", 401
	cfg := configFor(t, s.URL+"/mcp?key=qu3ry", map[string]any{"headers": map[string]string{"X-Api-Key": "k3y"}, "bearer_token": "t0ken"})
	c := plugintest.Open(t, New(logger), cfg, 0)
	rpc(t, c, initializeMsg)
	rpc(t, c, `{"jsonrpc":"2.0","method":"boom"}`)
	rpc(t, c, `{"jsonrpc":"2.0","id":1,"method":"boom"}`)
	s.expireSessions()
	rpc(t, c, `{"jsonrpc":"2.0","method":"x"}`)
	_ = recvErr(t, c)
	_ = c.Close(context.Background())
	for _, secret := range []string{"k3y", "t0ken", "qu3ry", "session-1"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("log reveals %q:\n%s", secret, buf.String())
		}
	}
}

func TestAutoFallsBackToSSE(t *testing.T) {
	t.Parallel()
	s := newLegacyServer(t)
	tr := New(quiet())
	c := plugintest.Open(t, tr, configFor(t, s.URL+"/sse", nil), 0)
	resp := rpc(t, c, initializeMsg)
	if env, err := jsonrpc.Peek(resp); err != nil || env.IsError || string(env.ID) != "0" {
		t.Fatalf("initialize through the fallback: %s", resp)
	}
	rpc(t, c, initializedMsg)
	if resp := rpc(t, c, `{"jsonrpc":"2.0","id":1,"method":"echo","params":[1]}`); !bytes.Contains(resp, []byte(`"echo":[1]`)) {
		t.Errorf("echo: %s", resp)
	}
	m, _ := tr.Metrics(context.Background(), base.MetricsRequest{})
	if !strings.Contains(m.PrometheusText, `mcphost_http_sse_fallbacks_total{server="TestAutoFallsBackToSSE"} 1`) {
		t.Errorf("metrics lack the fallback:\n%s", m.PrometheusText)
	}
}

// A 400 with a JSON-RPC error body comes from a Streamable HTTP server: auto
// mode keeps to it, and the request fails with the server's error as it is.
func TestAutoKeepsStreamableOnJSONRPCError(t *testing.T) {
	t.Parallel()
	s := newStreamServer(t)
	s.failMethod, s.failStatus = "initialize", 400
	s.failBody = `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Bad Request: unsupported version"}}`
	tr := New(quiet())
	c := plugintest.Open(t, tr, s.config(t, nil), 0)
	resp := rpc(t, c, initializeMsg)
	env, err := jsonrpc.Peek(resp)
	if err != nil || !env.IsError || string(env.ID) != "0" {
		t.Fatalf("want an error response for id 0, got %s", resp)
	}
	if code, msg := jsonrpc.Get(resp, "error.code"), jsonrpc.Get(resp, "error.message"); string(code) != "-32600" || string(msg) != `"Bad Request: unsupported version"` {
		t.Errorf("error %s %s, want the server's -32600 and message", code, msg)
	}
	m, _ := tr.Metrics(context.Background(), base.MetricsRequest{})
	if !strings.Contains(m.PrometheusText, `mcphost_http_sse_fallbacks_total{server="TestAutoKeepsStreamableOnJSONRPCError"} 0`) {
		t.Errorf("fell back:\n%s", m.PrometheusText)
	}
}

func TestLegacyStreamEndEndsConn(t *testing.T) {
	t.Parallel()
	s := newLegacyServer(t)
	c := plugintest.Open(t, New(quiet()), configFor(t, s.URL+"/sse", map[string]any{"mode": ModeSSE}), 0)
	rpc(t, c, initializeMsg)
	s.endStreams()
	if err := recvErr(t, c); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Recv = %v, want ErrClosed", err)
	}
}

func TestLegacyOpenNeedsEndpoint(t *testing.T) {
	t.Parallel()
	s := newStreamServer(t) // answers GET with 405
	_, err := New(quiet()).Open(context.Background(), transport.OpenRequest{Name: "x", Config: s.config(t, map[string]any{"mode": ModeSSE})})
	if err == nil || !strings.Contains(err.Error(), "405") {
		t.Fatalf("Open = %v, want a 405 error", err)
	}
}

func TestUnreachableBackendEndsConn(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := plugintest.Open(t, New(quiet()), configFor(t, "http://"+addr+"/mcp", nil), 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Send(ctx, []byte(initializeMsg)); err != nil {
		t.Fatal(err)
	}
	want := "connection refused (http://" + addr + "/mcp)"
	if err := recvErr(t, c); !errors.Is(err, transport.ErrClosed) || transport.Reason(err) != want {
		t.Fatalf("Recv = %v, want ErrClosed: %s", err, want)
	}
}

// TestUnreachableWords: why a server cannot be reached, in plain words,
// with the URL but never its user info or query.
func TestUnreachableWords(t *testing.T) {
	t.Parallel()
	u, _ := url.Parse("https://user:pw@mcp.example:8443/mcp?token=s3cret")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "refused", err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)},
			want: "connection refused (https://mcp.example:8443/mcp)"},
		{name: "no such host", err: &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Name: "mcp.example", IsNotFound: true, Err: "no such host"}},
			want: `host "mcp.example" not found (https://mcp.example:8443/mcp)`},
		{name: "reset", err: os.NewSyscallError("read", syscall.ECONNRESET), want: "connection reset (https://mcp.example:8443/mcp)"},
		{name: "other", err: errors.New("tls: bad certificate"), want: "unreachable (https://mcp.example:8443/mcp): tls: bad certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := unreachable(tt.err, u); got != tt.want {
				t.Errorf("unreachable = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestConnectTimeoutDefault keeps the schema's default of connect_timeout
// (the Config tag) and DefaultConnectTimeout, what "0" means, the same.
func TestConnectTimeoutDefault(t *testing.T) {
	t.Parallel()
	for _, cfg := range []string{`{"url":"http://h"}`, `{"url":"http://h","connect_timeout":"0"}`} {
		o, diags := instance.Decode(json.RawMessage(cfg))
		if len(diags) > 0 || o.connectTimeout != DefaultConnectTimeout {
			t.Errorf("%s: connect timeout %v, %+v; want %v", cfg, o.connectTimeout, diags, DefaultConnectTimeout)
		}
	}
}
