// Package transport is the plugin kind that connects the host to one kind of
// backend MCP server (a stdio child process, streamable HTTP, ...) and carries
// raw JSON-RPC messages both ways. One plugin process serves many backends:
// each backend is one Conn.
package transport

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/mcphost/mcphost/sdk/base"
)

// APIMinor is the minor version of this API; bump it when adding optional
// fields or capabilities.
const APIMinor = 0

// Transport opens connections to backends.
type Transport interface {
	base.Plugin
	// Open connects to one backend. ctx bounds the opening only: the
	// connection lives until Close, so nothing long-lived may hang off ctx
	// (use exec.Command, not exec.CommandContext(ctx, ...)).
	Open(ctx context.Context, req OpenRequest) (OpenResponse, error)
}

// OpenRequest asks for a connection to one backend.
type OpenRequest struct {
	// Name is the backend's name in proxy.hcl, for logs.
	Name string
	// Config is the backend's transport block decoded against the plugin's
	// instance schema, as JSON.
	Config json.RawMessage
	// MaxMessageBytes bounds one message in either direction.
	MaxMessageBytes int
	// HostEnv is the host's environment (KEY=VALUE), which a plugin
	// process does not get as its own. The host sends it only to its
	// built-in transports; nil otherwise.
	HostEnv []string
}

// OpenResponse carries the new connection.
type OpenResponse struct {
	Conn Conn
}

// Conn is one backend connection. Send and Recv may be called concurrently
// with each other, but each from one goroutine at a time.
//
// Both return when ctx is done, deadline or cancellation alike, with an
// error wrapping ctx's error, even when the backend has stopped reading or
// writing. A Recv that gives up loses nothing: the next Recv returns the
// next message whole. A Send that gives up before any of the message went
// out leaves the connection as it was; one cut short mid-message cannot be
// taken back, so the connection is ended and from then on Send and Recv
// return errors wrapping ErrClosed.
type Conn interface {
	// Send writes one complete JSON-RPC message to the backend.
	Send(ctx context.Context, msg []byte) error
	// Recv returns the next complete JSON-RPC message from the backend.
	// After the backend has gone it returns an error wrapping ErrClosed.
	Recv(ctx context.Context) ([]byte, error)
	// Close ends the connection, giving the backend until ctx's deadline to
	// exit on its own before it is killed.
	Close(ctx context.Context) error
}

// ErrClosed is wrapped by Recv's error once the backend connection has ended.
var ErrClosed = errors.New("backend connection closed")

// closedDetail is why a connection ended, as sent to the host, which wraps
// it in ErrClosed again: without ErrClosed's own words, said once.
func closedDetail(err error) string {
	return strings.TrimPrefix(err.Error(), ErrClosed.Error()+": ")
}
