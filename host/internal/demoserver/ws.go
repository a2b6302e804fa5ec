package demoserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/mark3labs/mcp-go/server"
)

// WSSubprotocol is the WebSocket subprotocol of MCP.
const WSSubprotocol = "mcp"

// ServeWS accepts WebSocket connections at /ws on ln until ctx is cancelled,
// serving each as one MCP session with one JSON-RPC message per text frame.
// The subprotocol "mcp" is selected when the client offers it. As with
// ServeTCP, all connections share one server named name. Once ctx is
// cancelled it closes every connection with "going away" and returns nil.
func ServeWS(ctx context.Context, ln net.Listener, name string, opts ...Option) error {
	return serveWS(ctx, ln, New(name, opts...), opts...)
}

func serveWS(ctx context.Context, ln net.Listener, s *server.MCPServer, opts ...Option) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Hijacked connections are not tracked by http.Server, so the handler
	// counts its sessions itself.
	var sessions sync.WaitGroup
	var seq atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		if ctx.Err() != nil {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{WSSubprotocol}})
		if err != nil {
			return // Accept has answered the request
		}
		sessions.Add(1)
		defer sessions.Done()
		serveWSConn(ctx, s, fmt.Sprintf("ws-%d-%s", seq.Add(1), r.RemoteAddr), c, opts)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var err error
	select {
	case err = <-errc:
		err = fmt.Errorf("http serve: %w", err)
		cancel()
	case <-ctx.Done():
		shutdownCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = srv.Shutdown(shutdownCtx)
		stop()
		<-errc
	}
	sessions.Wait()
	return err
}

// serveWSConn runs one session on c until the client leaves or ctx ends.
// ServeStream speaks newline-delimited JSON, so received frames are fed to
// it through a pipe, one line each, and every line it writes becomes one
// frame.
func serveWSConn(ctx context.Context, s *server.MCPServer, id string, c *websocket.Conn, opts []Option) {
	defer c.CloseNow()
	// A session has no message size limit, as on stdio and TCP: the bytes
	// tool moves tens of megabytes.
	c.SetReadLimit(-1)
	sessCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	pr, pw := io.Pipe()
	pumped := make(chan struct{})
	go func() {
		defer close(pumped)
		// No context on the read: the connection ends it, either from the
		// client or by the Close below.
		err := pumpFrames(c, pw)
		_ = pw.CloseWithError(err)
	}()

	// Writes must not see the shutdown: coder/websocket drops the connection
	// without a close frame when a write's context ends mid-frame.
	_ = ServeStream(sessCtx, s, id, pr, &frameWriter{ctx: context.WithoutCancel(sessCtx), c: c}, opts...)

	status := websocket.StatusNormalClosure
	if ctx.Err() != nil {
		status = websocket.StatusGoingAway
	}
	_ = c.Close(status, "")
	// Unblock the pump if it is writing a frame nobody will read.
	_ = pr.Close()
	<-pumped
}

// pumpFrames writes each text frame from c to w as one line, until the
// connection ends; a close by the client is a clean EOF.
func pumpFrames(c *websocket.Conn, w io.Writer) error {
	for {
		typ, msg, err := c.Read(context.Background())
		if err != nil {
			if websocket.CloseStatus(err) != -1 {
				return io.EOF
			}
			return err
		}
		if typ != websocket.MessageText {
			continue // MCP over WebSocket uses text frames only
		}
		msg, err = oneLine(msg)
		if err != nil {
			// Still one message: ServeStream answers it with a parse error.
			msg = bytes.ReplaceAll(bytes.ReplaceAll(msg, []byte("\r"), nil), []byte("\n"), nil)
		}
		if _, err := w.Write(append(msg, '\n')); err != nil {
			return err
		}
	}
}

// oneLine compacts a message that spans lines; newlines are legal inside a
// frame, but would split it in ServeStream.
func oneLine(msg []byte) ([]byte, error) {
	if bytes.IndexByte(msg, '\n') < 0 && bytes.IndexByte(msg, '\r') < 0 {
		return msg, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, msg); err != nil {
		return msg, err
	}
	return buf.Bytes(), nil
}

// frameWriter sends each line written to it as one text frame. ServeStream
// writes whole lines under its own lock, so it never sees concurrent calls;
// a partial line is kept until its newline arrives.
type frameWriter struct {
	ctx     context.Context
	c       *websocket.Conn
	partial []byte
}

func (f *frameWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			f.partial = append(f.partial, p...)
			break
		}
		line := p[:i]
		if len(f.partial) > 0 {
			line = append(f.partial, line...)
			f.partial = nil
		}
		p = p[i+1:]
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := f.c.Write(f.ctx, websocket.MessageText, line); err != nil {
			return n - len(p), fmt.Errorf("websocket write: %w", err)
		}
	}
	return n, nil
}
