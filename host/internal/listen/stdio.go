// Package listen serves MCP to clients: on the proxy's own stdin/stdout, and
// over streamable HTTP. Each connection becomes one router session.
package listen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// lineWriter writes one message per line; a mutex keeps lines whole.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) write(msg []byte) error {
	msg, err := jsonrpc.Compact(msg)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.w.Write(append(msg, '\n')); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

func (l *lineWriter) Send(msg []byte) error    { return l.write(msg) }
func (l *lineWriter) Respond(msg []byte) error { return l.write(msg) }

// ErrClientNotReading ends the stdio front when its client stops reading
// and its outbox goes over the session's budget.
var ErrClientNotReading = errors.New("the stdio client stopped reading its messages")

// ServeStdio speaks MCP on in/out as one session until in ends or ctx is
// done. Nothing but MCP messages is ever written to out. When in ends, the
// requests still open get up to drain to be answered.
func ServeStdio(ctx context.Context, r *router.Router, in io.Reader, out io.Writer, maxBytes int, drain time.Duration) error {
	return ServeStdioProfile(ctx, r, "", in, out, maxBytes, drain)
}

// ServeStdioProfile is ServeStdio for a session limited to profile (none
// when ""): it fails at once for a profile r does not have, and ends, as
// when in ends, should a reload remove it.
func ServeStdioProfile(ctx context.Context, r *router.Router, profile string, in io.Reader, out io.Writer, maxBytes int, drain time.Duration) error {
	if profile != "" && !r.HasProfile(profile) {
		return fmt.Errorf("no profile named %q is configured", profile)
	}
	w := &lineWriter{w: out}
	s := r.NewSession(w)
	s.SetListener("stdio")
	defer s.Close()
	if profile != "" {
		if err := s.SetProfile(profile); err != nil {
			return err
		}
	}
	// Handle never waits for a backend's answer, so the reader calls it
	// directly: no goroutine hop between reading a line and forwarding it.
	errc := make(chan error, 1)
	go func() {
		lr := jsonrpc.NewLineReader(in, maxBytes)
		for {
			line, err := lr.Next()
			if errors.Is(err, jsonrpc.ErrTooLarge) {
				_ = w.write(jsonrpc.Error(nil, jsonrpc.CodeMessageTooLarge, err.Error(), nil))
				continue
			}
			if err != nil {
				errc <- err
				return
			}
			if ctx.Err() != nil {
				return
			}
			s.Handle(line, nil)
		}
	}()
	select {
	case <-ctx.Done():
	case <-s.Done():
		if s.Shed() {
			return ErrClientNotReading
		}
		return nil // its output is gone
	case err := <-errc:
		if !errors.Is(err, io.EOF) {
			return fmt.Errorf("read stdin: %w", err)
		}
	}
	// Input has ended or the proxy is stopping: the requests still open get
	// up to drain to be answered before the session closes, and what they
	// answered is written before this returns.
	drainCtx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	s.Drain(drainCtx)
	s.Close()
	s.Flush(drainCtx)
	return nil
}
