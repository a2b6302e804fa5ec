package demoserver

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/mark3labs/mcp-go/server"
)

// Run is the command-line entry point of the example server. args excludes
// the program name. Flags:
//
//	-name string  serverInfo name, also returned by the whoami tool
//	-tcp addr     serve newline-delimited JSON-RPC on a TCP listener
//	-http addr    serve streamable HTTP at /mcp
//	-sse addr     serve legacy HTTP+SSE at /sse and /message
//	-ws addr      serve WebSocket at /ws, one message per text frame
//	-protocol v   pin the server to protocol version v (2024-11-05,
//	              2025-03-26, 2025-06-18, 2025-11-25 or 2026-07-28), or
//	              "all" (the default) to serve both eras; see Protocol
//
// Without -tcp, -http, -sse or -ws it serves one session on stdin/stdout.
// The bound address of -tcp, -http, -sse and -ws is logged to stderr as
// "listening on <proto> <addr>", so callers passing port 0 can find it. Nothing but protocol
// messages is ever written to stdout. Run returns nil when ctx is cancelled
// or stdin reaches EOF.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mcphost-example-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", DefaultName, "serverInfo name, also returned by the whoami tool")
	tcpAddr := fs.String("tcp", "", "serve newline-delimited JSON-RPC over TCP on this address")
	httpAddr := fs.String("http", "", "serve streamable HTTP at /mcp on this address")
	sseAddr := fs.String("sse", "", "serve legacy HTTP+SSE at /sse and /message on this address")
	wsAddr := fs.String("ws", "", "serve MCP over WebSocket at /ws on this address")
	protocolFlag := fs.String("protocol", "all", "pin the server to one protocol version (2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25, 2026-07-28), or all")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if n := btoi(*tcpAddr != "") + btoi(*httpAddr != "") + btoi(*sseAddr != "") + btoi(*wsAddr != ""); n > 1 {
		return errors.New("-tcp, -http, -sse and -ws are mutually exclusive")
	}
	protocol, err := ParseProtocol(*protocolFlag)
	if err != nil {
		return fmt.Errorf("-protocol: %w", err)
	}
	if protocol.modern() && *sseAddr != "" {
		// HTTP+SSE is the 2024-11-05 transport; the stateless revision
		// defines only stdio and Streamable HTTP.
		return fmt.Errorf("-sse cannot serve protocol %s", protocol)
	}
	opts := []Option{WithProtocol(protocol)}
	logger := log.New(stderr, "mcphost-example-server: ", log.LstdFlags)

	switch {
	case *tcpAddr != "":
		ln, err := net.Listen("tcp", *tcpAddr)
		if err != nil {
			return err
		}
		logger.Printf("listening on tcp %s", ln.Addr())
		return ServeTCP(ctx, ln, *name, opts...)
	case *httpAddr != "":
		ln, err := net.Listen("tcp", *httpAddr)
		if err != nil {
			return err
		}
		logger.Printf("listening on http %s", ln.Addr())
		return ServeHTTP(ctx, ln, *name, opts...)
	case *sseAddr != "":
		ln, err := net.Listen("tcp", *sseAddr)
		if err != nil {
			return err
		}
		logger.Printf("listening on sse %s", ln.Addr())
		return serveSSE(ctx, ln, *name, opts...)
	case *wsAddr != "":
		ln, err := net.Listen("tcp", *wsAddr)
		if err != nil {
			return err
		}
		logger.Printf("listening on ws %s", ln.Addr())
		return ServeWS(ctx, ln, *name, opts...)
	default:
		return ServeStream(ctx, New(*name, opts...), "stdio", stdin, stdout, opts...)
	}
}

// serveSSE serves mcp-go's legacy HTTP+SSE transport (GET /sse, POST
// /message?sessionId=) on ln until ctx is cancelled, then closes its
// sessions, shuts down and returns nil.
func serveSSE(ctx context.Context, ln net.Listener, name string, opts ...Option) error {
	sse := server.NewSSEServer(New(name, opts...))
	handler := buildOptions(opts).protocol.sseHandler(sse)
	return serveHTTPUntilDone(ctx, ln, handler, func(context.Context) { sse.CloseSessions() })
}

// serveHTTPUntilDone serves handler on ln until ctx is cancelled, then runs
// closeSessions and shuts the server down, giving both 5 s.
func serveHTTPUntilDone(ctx context.Context, ln net.Listener, handler http.Handler, closeSessions func(context.Context)) error {
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	closeSessions(shutdownCtx)
	_ = srv.Shutdown(shutdownCtx)
	<-errc
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
