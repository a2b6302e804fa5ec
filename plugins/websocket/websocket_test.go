package websocket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	ws "github.com/coder/websocket"
	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/plugintest"
	"github.com/mcphost/mcphost/sdk/plugintest/syncbuf"
	"github.com/mcphost/mcphost/sdk/transport"
)

const testTimeout = 30 * time.Second

// server is an in-test WebSocket backend at /ws.
type server struct {
	*httptest.Server
	// protocols are the subprotocols it accepts.
	protocols []string
	// handle serves one accepted connection; echo by default.
	handle func(ctx context.Context, c *ws.Conn)

	mu      sync.Mutex
	headers []http.Header
	closed  bool
}

// newServer starts a backend with protocols and handle (echo when nil),
// stopped at cleanup.
func newServer(t *testing.T, tls bool, protocols []string, handle func(ctx context.Context, c *ws.Conn)) *server {
	t.Helper()
	if handle == nil {
		handle = echo
	}
	s := &server{protocols: protocols, handle: handle}
	mux := http.NewServeMux()
	var conns sync.WaitGroup
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.headers = append(s.headers, r.Header.Clone())
		s.mu.Unlock()
		// Add only while the server is open: a WaitGroup must not be
		// added to while the cleanup waits on it.
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		conns.Add(1)
		s.mu.Unlock()
		defer conns.Done()
		c, err := ws.Accept(w, r, &ws.AcceptOptions{Subprotocols: s.protocols})
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(-1)
		s.handle(r.Context(), c)
	})
	s.Server = httptest.NewUnstartedServer(mux)
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // refused TLS handshakes are expected
	if tls {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.CloseClientConnections()
		s.Close()
		conns.Wait()
	})
	return s
}

// wsURL is the backend's ws:// (or wss://) URL.
func (s *server) wsURL() string {
	return "ws" + strings.TrimPrefix(s.URL, "http") + "/ws"
}

func (s *server) lastHeader() http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.headers) == 0 {
		return nil
	}
	return s.headers[len(s.headers)-1]
}

// echo answers each text frame as plugintest.Echo does.
func echo(ctx context.Context, c *ws.Conn) {
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		if typ != ws.MessageText {
			continue
		}
		if resp := plugintest.Echo(msg); resp != nil {
			if c.Write(ctx, ws.MessageText, resp) != nil {
				return
			}
		}
	}
}

func config(t *testing.T, fields map[string]any) json.RawMessage {
	t.Helper()
	raw, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func quiet() *Transport { return New(hclog.NewNullLogger()) }

func open(t *testing.T, tr transport.Transport, cfg json.RawMessage) (transport.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	r, err := tr.Open(ctx, transport.OpenRequest{Name: "test", Config: cfg})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		_ = r.Conn.Close(ctx)
	})
	return r.Conn, nil
}

func mustOpen(t *testing.T, tr transport.Transport, cfg json.RawMessage) transport.Conn {
	t.Helper()
	c, err := open(t, tr, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return c
}

func recv(t *testing.T, c transport.Conn) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	return c.Recv(ctx)
}

// roundTrip sends one echo request and checks its answer.
func roundTrip(t *testing.T, c transport.Conn, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := c.Send(ctx, []byte(`{"jsonrpc":"2.0","id":"`+id+`","method":"echo","params":{"x":1}}`)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msg, err := c.Recv(ctx)
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	if want := `{"jsonrpc":"2.0","id":"` + id + `","result":{"echo":{"x":1}}}`; string(msg) != want {
		t.Fatalf("got %s, want %s", msg, want)
	}
}

// wantClosed waits for Recv to end with ErrClosed and returns its message.
func wantClosed(t *testing.T, c transport.Conn) string {
	t.Helper()
	for {
		msg, err := recv(t, c)
		if err == nil {
			t.Logf("message before the end: %.200s", msg)
			continue
		}
		if !errors.Is(err, transport.ErrClosed) {
			t.Fatalf("Recv: %v, want an error wrapping transport.ErrClosed", err)
		}
		return err.Error()
	}
}

func TestConformance(t *testing.T) {
	backend := func(t *testing.T) json.RawMessage {
		return config(t, map[string]any{"url": newServer(t, false, []string{"mcp"}, nil).wsURL()})
	}
	t.Run("InProcess", func(t *testing.T) {
		t.Parallel()
		plugintest.TestTransport(t, func(*testing.T) transport.Transport { return quiet() }, backend)
	})
	t.Run("GRPC", func(t *testing.T) {
		t.Parallel()
		plugintest.TestTransport(t, func(t *testing.T) transport.Transport { return plugintest.ServeTransport(t, quiet()) }, backend)
	})
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		config string
		want   string // attributes with an error
	}{
		{`{"url":"ws://127.0.0.1:9000/ws"}`, `[]`},
		{`{"url":"wss://example.com/mcp?x=1","headers":{"X-Api-Key":"k"},"bearer_token":"t","subprotocol":"mcp.v2","connect_timeout":"2s","tls_insecure_skip_verify":true,"ping_interval":"0s"}`, `[]`},
		{`{"url":"ws://h/ws","headers":null,"bearer_token":null,"subprotocol":null,"connect_timeout":null,"tls_insecure_skip_verify":null,"ping_interval":null}`, `[]`},
		{`{}`, `["url"]`},
		{`{"url":"http://h/ws"}`, `["url"]`},
		{`{"url":"ws:///ws"}`, `["url"]`},
		{`{"url":"ws://h/ws#frag"}`, `["url"]`},
		{`{"url":"ws://h/%zz"}`, `["url"]`},
		{`{"url":"ws://h","headers":{"Bad Name":"v"}}`, `["headers"]`},
		{`{"url":"ws://h","headers":{"X-Ok":"line\nbreak"}}`, `["headers"]`},
		{`{"url":"ws://h","headers":{"sec-websocket-protocol":"x"}}`, `["headers"]`},
		{`{"url":"ws://h","headers":{"X-A":"1","x-a":"2"}}`, `["headers"]`},
		{`{"url":"ws://h","headers":{"authorization":"Basic x"},"bearer_token":"t"}`, `["headers"]`},
		{`{"url":"ws://h","bearer_token":"two words"}`, `["bearer_token"]`},
		{`{"url":"ws://h","subprotocol":"no spaces"}`, `["subprotocol"]`},
		{`{"url":"ws://h","connect_timeout":"soon"}`, `["connect_timeout"]`},
		{`{"url":"ws://h","connect_timeout":"0s"}`, `["connect_timeout"]`},
		{`{"url":"ws://h","ping_interval":"-1s"}`, `["ping_interval"]`},
		{`{"url":"ws://h","ping_interval":"often"}`, `["ping_interval"]`},
		{`[`, `[""]`},
	}
	for _, tt := range tests {
		t.Run(tt.config, func(t *testing.T) {
			t.Parallel()
			r, err := quiet().Validate(context.Background(), base.ValidateRequest{Config: json.RawMessage(tt.config)})
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, d := range r.Diagnostics {
				if d.Severity == base.SeverityError {
					got = append(got, d.Attribute)
				}
			}
			if fmt.Sprintf("%q", got) != tt.want {
				t.Errorf("error attributes = %q, want %s (%+v)", got, tt.want, r.Diagnostics)
			}
		})
	}
}

func TestValidateWarnsInsecureWithoutTLS(t *testing.T) {
	t.Parallel()
	r, _ := quiet().Validate(context.Background(), base.ValidateRequest{Config: json.RawMessage(`{"url":"ws://h","tls_insecure_skip_verify":true}`)})
	if len(r.Diagnostics) != 1 || r.Diagnostics[0].Severity != base.SeverityWarning || r.Diagnostics[0].Attribute != "tls_insecure_skip_verify" {
		t.Fatalf("diagnostics = %+v, want one warning on tls_insecure_skip_verify", r.Diagnostics)
	}
}

func TestValidateNeverEchoesSecrets(t *testing.T) {
	t.Parallel()
	r, _ := quiet().Validate(context.Background(), base.ValidateRequest{Config: json.RawMessage(
		`{"url":"ws://h","headers":{"X-Key":"s3cret\u0001"},"bearer_token":"t0ken x"}`)})
	if len(r.Diagnostics) != 2 {
		t.Fatalf("diagnostics = %+v, want two", r.Diagnostics)
	}
	for _, d := range r.Diagnostics {
		if strings.Contains(d.Summary+d.Detail, "s3cret") || strings.Contains(d.Summary+d.Detail, "t0ken") {
			t.Errorf("diagnostic leaks a secret: %+v", d)
		}
	}
}

func TestSchemaMarksSecretsSensitive(t *testing.T) {
	t.Parallel()
	plugintest.CheckSchema(t, quiet(), plugintest.SchemaWant{Instance: plugintest.BlockWant{
		Attributes: []string{"url", "headers", "bearer_token", "subprotocol", "connect_timeout", "tls_insecure_skip_verify", "ping_interval",
			"oauth", "oauth_client_id", "oauth_client_secret", "oauth_client_metadata_url", "oauth_scopes", "oauth_grant", "oauth_token_endpoint_auth_method", "oauth_client_assertion_key_file", "oauth_redirect_port", "oauth_sign_in"},
		Required:  []string{"url"},
		Sensitive: []string{"headers", "bearer_token", "oauth_client_secret"},
	}})
}

func TestSubprotocolMismatch(t *testing.T) {
	t.Parallel()
	// The server speaks only "other", so it accepts without a subprotocol.
	s := newServer(t, false, []string{"other"}, nil)
	_, err := open(t, quiet(), config(t, map[string]any{"url": s.wsURL()}))
	if err == nil || !strings.Contains(err.Error(), `did not accept the "mcp" subprotocol`) {
		t.Fatalf("Open = %v, want a subprotocol error", err)
	}
	// Asking for the server's own subprotocol works.
	c := mustOpen(t, quiet(), config(t, map[string]any{"url": s.wsURL(), "subprotocol": "other"}))
	roundTrip(t, c, "1")
	if got := s.lastHeader().Get("Sec-WebSocket-Protocol"); got != "other" {
		t.Errorf("offered subprotocols %q, want other", got)
	}
}

func TestHeadersAndBearerToken(t *testing.T) {
	t.Parallel()
	var logs syncbuf.Buffer
	logger := hclog.New(&hclog.LoggerOptions{Level: hclog.Trace, Output: &logs})
	s := newServer(t, false, []string{"mcp"}, nil)
	tr := New(logger)
	c := mustOpen(t, tr, config(t, map[string]any{
		"url":          s.wsURL() + "?q=querysecret",
		"bearer_token": "tok-s3cret",
		"headers":      map[string]string{"x-api-key": "key-s3cret", "Host": "backend.test"},
	}))
	roundTrip(t, c, "1")
	h := s.lastHeader()
	if got := h.Get("Authorization"); got != "Bearer tok-s3cret" {
		t.Errorf("Authorization = %q, want the bearer token", got)
	}
	if got := h.Get("X-Api-Key"); got != "key-s3cret" {
		t.Errorf("X-Api-Key = %q", got)
	}
	if got := h.Get("Sec-WebSocket-Protocol"); got != "mcp" {
		t.Errorf("offered subprotocols %q, want mcp", got)
	}

	// A refused handshake's error names the status, not the secrets.
	refused := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusUnauthorized)
	}))
	defer refused.Close()
	_, err := open(t, tr, config(t, map[string]any{
		"url": "ws" + strings.TrimPrefix(refused.URL, "http") + "/ws", "bearer_token": "tok-s3cret",
		"headers": map[string]string{"x-api-key": "key-s3cret"},
	}))
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("Open against a 401 = %v, want an error naming the status", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open error leaks a secret: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Errorf("logs leak a secret:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "connected") {
		t.Errorf("expected a debug log line for the connection:\n%s", logs.String())
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	s := newServer(t, true, []string{"mcp"}, nil)
	if _, err := open(t, quiet(), config(t, map[string]any{"url": s.wsURL()})); err == nil {
		t.Fatal("Open trusted the test server's self-signed certificate")
	}
	c := mustOpen(t, quiet(), config(t, map[string]any{"url": s.wsURL(), "tls_insecure_skip_verify": true}))
	roundTrip(t, c, "tls")
}

func TestServerGoingAway(t *testing.T) {
	t.Parallel()
	// The server answers one request, then closes with "going away".
	s := newServer(t, false, []string{"mcp"}, func(ctx context.Context, c *ws.Conn) {
		_, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		_ = c.Write(ctx, ws.MessageText, plugintest.Echo(msg))
		_ = c.Close(ws.StatusGoingAway, "restarting")
	})
	tr := quiet()
	for i := range 2 {
		// A new Open works right after the previous connection ended, as
		// the host's reconnect needs.
		c := mustOpen(t, tr, config(t, map[string]any{"url": s.wsURL()}))
		roundTrip(t, c, fmt.Sprint(i))
		if msg := wantClosed(t, c); !strings.Contains(msg, "1001") || !strings.Contains(msg, "restarting") {
			t.Errorf("Recv error %q, want the close status and reason", msg)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		if err := c.Send(ctx, []byte(`{"jsonrpc":"2.0","method":"late"}`)); !errors.Is(err, transport.ErrClosed) {
			t.Errorf("Send after the server left = %v, want ErrClosed", err)
		}
		if err := c.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		cancel()
	}
}

func TestServerVanishes(t *testing.T) {
	t.Parallel()
	drop := make(chan struct{})
	s := newServer(t, false, []string{"mcp"}, func(ctx context.Context, c *ws.Conn) {
		go echo(ctx, c)
		<-drop
		_ = c.CloseNow() // TCP drop, no close frame
	})
	c := mustOpen(t, quiet(), config(t, map[string]any{"url": s.wsURL()}))
	roundTrip(t, c, "1")
	close(drop)
	if msg := wantClosed(t, c); !strings.Contains(msg, "connection lost") {
		t.Errorf("Recv error %q, want connection lost", msg)
	}
}

func TestUnansweredPingEndsConn(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	// The server never reads, so it never answers pings.
	s := newServer(t, false, []string{"mcp"}, func(ctx context.Context, _ *ws.Conn) {
		select {
		case <-release:
		case <-ctx.Done():
		}
	})
	defer close(release)
	tr := quiet()
	c := mustOpen(t, tr, config(t, map[string]any{"url": s.wsURL(), "ping_interval": "100ms"}))
	if msg := wantClosed(t, c); !strings.Contains(msg, "ping") {
		t.Errorf("Recv error %q, want a ping failure", msg)
	}
	m, _ := tr.Metrics(context.Background(), base.MetricsRequest{})
	if !strings.Contains(m.PrometheusText, `mcphost_websocket_ping_failures_total{server="test"} 1`) {
		t.Errorf("metrics lack the ping failure:\n%s", m.PrometheusText)
	}
}

func TestPingsKeepHealthyConnOpen(t *testing.T) {
	t.Parallel()
	s := newServer(t, false, []string{"mcp"}, nil)
	c := mustOpen(t, quiet(), config(t, map[string]any{"url": s.wsURL(), "ping_interval": "20ms"}))
	for i := range 5 {
		time.Sleep(50 * time.Millisecond) // ping intervals passing is the case
		roundTrip(t, c, fmt.Sprint(i))
	}
}

func TestBinaryFramesIgnored(t *testing.T) {
	t.Parallel()
	s := newServer(t, false, []string{"mcp"}, func(ctx context.Context, c *ws.Conn) {
		_ = c.Write(ctx, ws.MessageBinary, []byte{0, 1, 2})
		_ = c.Write(ctx, ws.MessageText, []byte(`{"jsonrpc":"2.0","method":"after-binary"}`))
		echo(ctx, c)
	})
	tr := quiet()
	c := mustOpen(t, tr, config(t, map[string]any{"url": s.wsURL()}))
	msg, err := recv(t, c)
	if err != nil || string(msg) != `{"jsonrpc":"2.0","method":"after-binary"}` {
		t.Fatalf("Recv = %s, %v; want the text frame after the binary one", msg, err)
	}
	m, _ := tr.Metrics(context.Background(), base.MetricsRequest{})
	if !strings.Contains(m.PrometheusText, `mcphost_websocket_binary_frames_ignored_total{server="test"} 1`) {
		t.Errorf("metrics lack the ignored binary frame:\n%s", m.PrometheusText)
	}
}

func TestOversizedMessages(t *testing.T) {
	t.Parallel()
	big := `{"jsonrpc":"2.0","method":"big","params":"` + strings.Repeat("x", 2000) + `"}`
	s := newServer(t, false, []string{"mcp"}, func(ctx context.Context, c *ws.Conn) {
		_ = c.Write(ctx, ws.MessageText, []byte(big))
		echo(ctx, c)
	})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	r, err := quiet().Open(ctx, transport.OpenRequest{Name: "small", Config: config(t, map[string]any{"url": s.wsURL()}), MaxMessageBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Conn.Close(ctx)
	if err := r.Conn.Send(ctx, []byte(big)); err == nil || errors.Is(err, transport.ErrClosed) {
		t.Errorf("Send of an oversized message = %v, want a size error", err)
	}
	if msg := wantClosed(t, r.Conn); !strings.Contains(msg, "1000 byte limit") {
		t.Errorf("Recv error %q, want the read limit", msg)
	}
}

func TestOpenFailsWithoutServer(t *testing.T) {
	t.Parallel()
	s := httptest.NewServer(http.NotFoundHandler())
	url := "ws" + strings.TrimPrefix(s.URL, "http") + "/ws"
	s.Close()
	start := time.Now()
	if _, err := open(t, quiet(), config(t, map[string]any{"url": url, "connect_timeout": "2s"})); err == nil {
		t.Fatal("Open succeeded against a closed port")
	}
	if time.Since(start) > 10*time.Second {
		t.Error("Open ignored connect_timeout")
	}
}

func TestConnectTimeout(t *testing.T) {
	t.Parallel()
	// A server that never answers the handshake.
	release := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer s.Close()
	defer close(release)
	start := time.Now()
	_, err := open(t, quiet(), config(t, map[string]any{"url": "ws" + strings.TrimPrefix(s.URL, "http"), "connect_timeout": "200ms"}))
	if err == nil {
		t.Fatal("Open succeeded against a silent server")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Open took %v with a 200ms connect_timeout", d)
	}
}

func TestStopAndMetrics(t *testing.T) {
	t.Parallel()
	s := newServer(t, false, []string{"mcp"}, nil)
	tr := quiet()
	cfg := config(t, map[string]any{"url": s.wsURL()})
	a, b := mustOpen(t, tr, cfg), mustOpen(t, tr, cfg)
	roundTrip(t, a, "a")
	roundTrip(t, b, "b")
	m, _ := tr.Metrics(context.Background(), base.MetricsRequest{})
	for _, want := range []string{
		`mcphost_websocket_open_connections{server="test"} 2`,
		`mcphost_websocket_messages_sent_total{server="test"} 2`,
		`mcphost_websocket_messages_received_total{server="test"} 2`,
	} {
		if !strings.Contains(m.PrometheusText, want) {
			t.Errorf("metrics lack %s:\n%s", want, m.PrometheusText)
		}
	}
	deadline := time.Now().Add(testTimeout)
	if _, err := tr.Stop(context.Background(), base.StopRequest{DeadlineUnixNano: deadline.UnixNano()}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []transport.Conn{a, b} {
		if msg := wantClosed(t, c); msg != errClosedByUs.Error() {
			t.Errorf("Recv after Stop: %q", msg)
		}
	}
	m, _ = tr.Metrics(context.Background(), base.MetricsRequest{})
	if !strings.Contains(m.PrometheusText, `mcphost_websocket_open_connections{server="test"} 0`) {
		t.Errorf("connections still counted open after Stop:\n%s", m.PrometheusText)
	}
}
