package router

import (
	"context"
	"errors"
	"fmt"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/tracing"
)

// OperatorListener is the listener kind of the sessions OperatorRequest
// opens (the admin API's calls), as the admin API's session list shows it.
const OperatorListener = "admin"

// operatorMethods are the requests an operator may make through the router.
var operatorMethods = map[string]bool{"tools/call": true, "prompts/get": true, "resources/read": true}

// OperatorRequest makes one request through the router as a client would,
// for an operator (the admin API): in a session of its own, whose id starts
// with tracing.OperatorCallPrefix so that tracing tells it from a client's,
// opened for the request and closed once it is answered (which also ends
// its traced response). It returns the JSON-RPC response; an error means
// no response came (ctx ended first, or the method is not one of
// tools/call, prompts/get and resources/read).
func (r *Router) OperatorRequest(ctx context.Context, method string, params []byte) ([]byte, error) {
	if !operatorMethods[method] {
		return nil, fmt.Errorf("operator request: method %q is not one of tools/call, prompts/get, resources/read", method)
	}
	s := r.openOperatorSession()
	defer s.Close()
	msg := jsonrpc.Request(jsonrpc.Int(1), method, params)
	reply := s.NewReply(false)
	defer reply.Close()
	s.Handle(msg, reply)
	for {
		m, err := reply.Next(ctx)
		if err != nil {
			if errors.Is(err, ErrOutboxClosed) {
				return nil, errors.New("operator request: the session ended before the response")
			}
			return nil, fmt.Errorf("operator request %s: %w", method, err)
		}
		if m.Abandoned {
			return nil, errors.New("operator request: abandoned without a response")
		}
		if m.Final {
			return m.Data, nil
		}
	}
}

// openOperatorSession opens an initialized session for OperatorRequest,
// speaking the newest initialize-era revision.
func (r *Router) openOperatorSession() *Session {
	s := r.openSession(OperatorListener, tracing.OperatorCallPrefix+NewSessionID())
	s.initialize([]byte(`{"protocolVersion":"` + LegacyVersions[len(LegacyVersions)-1] +
		`","capabilities":{},"clientInfo":{"name":"mcphost-admin","version":"1"}}`))
	s.markInitialized()
	return s
}
