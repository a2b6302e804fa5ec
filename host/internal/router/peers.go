package router

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// PeerForwarder sends a 2026-07-28 retry to the instance that parked its
// call (the owner its requestState names). The listener side implements
// it; the router stays free of HTTP.
type PeerForwarder interface {
	// Forward sends req to its owner and returns the owner's final
	// response. An error means the owner could not be asked: it is not a
	// known peer, or did not answer.
	Forward(ctx context.Context, req ForwardRequest) (ForwardResponse, error)
}

// ForwardRequest is a client's retry for another instance.
type ForwardRequest struct {
	// Owner is the instance id the requestState names.
	Owner string
	// Message is the client's JSON-RPC request.
	Message []byte
	// Authorization is the client's credential as it presented it (the
	// owner checks it as this instance did), "" when none.
	Authorization string
}

// ForwardResponse is the owner's answer to a ForwardRequest.
type ForwardResponse struct {
	// Message is the owner's JSON-RPC response to the request.
	Message []byte
}

// ErrUnknownPeer is a Forward error: the owner is not among the peers.
var ErrUnknownPeer = errors.New("the instance is not among the peers")

// SetFromPeer marks the session as carrying a request another instance
// forwarded (authenticated by the listener): its retries are answered from
// this instance's parked calls or fail, never forwarded again.
func (s *Session) SetFromPeer() { s.fromPeer.Store(true) }

// SetClientAuthorization keeps the credential the client presented, which a
// forwarded retry carries to its owner.
func (s *Session) SetClientAuthorization(credential string) {
	s.authorization.Store(&credential)
}

func (s *Session) clientAuthorization() string {
	if c := s.authorization.Load(); c != nil {
		return *c
	}
	return ""
}

// resumeState handles a retry carrying a requestState this proxy (or a
// peer sharing its key) issued: refused when the token is not authentic,
// has expired or was issued for another request; resumed when this
// instance parked the call; forwarded to the owner otherwise.
func (s *Session) resumeState(reply replyStream, id []byte, method string, params []byte, state string) {
	owner, claims, err := openState(s.router.opts.RequestStateKey, state, time.Now())
	if err == nil && claims.Binding != requestBinding(method, params) {
		err = errStateBinding
	}
	if err != nil {
		s.respond(reply, jsonrpc.Error(id, jsonrpc.CodeInvalidParams, "mcphost: "+err.Error(), nil))
		return
	}
	self := s.router.opts.InstanceID
	switch {
	case owner == self:
		if !s.resumeParked(reply, id, params, claims.Call) {
			s.stateLost(reply, id, method, params, owner, "it has no such parked call (ended, expired or restarted)")
		}
	case s.fromPeer.Load():
		// Forwarded once already: the sender named the wrong instance.
		s.respond(reply, jsonrpc.Error(id, CodeRequestStateLost,
			fmt.Sprintf("mcphost: request state lost: instance %q does not hold this call; start the call again", self),
			map[string]string{"owner": owner}))
	case s.router.opts.Peers == nil:
		s.stateLost(reply, id, method, params, owner, "no peers are configured")
	default:
		msg := jsonrpc.Request(id, method, params)
		if !s.router.spawn(func(context.Context) { s.forwardToOwner(reply, id, method, params, owner, msg) }) {
			s.respond(reply, jsonrpc.Error(id, jsonrpc.CodeInternalError, "mcphost: shutting down", nil))
		}
	}
}

// forwardToOwner asks the owner of a parked call to resume it and relays
// its answer; when the owner cannot, the call is treated as lost.
func (s *Session) forwardToOwner(reply replyStream, id []byte, method string, params []byte, owner string, msg []byte) {
	ctx, cancel := context.WithTimeout(s.ctx, s.router.opts.RequestTimeout)
	defer cancel()
	resp, err := s.router.opts.Peers.Forward(ctx, ForwardRequest{Owner: owner, Message: msg, Authorization: s.clientAuthorization()})
	if err == nil && gjson.GetBytes(resp.Message, "error.code").Int() == CodeRequestStateLost {
		err = errors.New("it has no such parked call")
	}
	if err != nil {
		if s.ctx.Err() != nil {
			return // the client left
		}
		s.stateLost(reply, id, method, params, owner, err.Error())
		return
	}
	out, err := jsonrpc.Set(resp.Message, "id", id)
	if err != nil {
		out = jsonrpc.Error(id, jsonrpc.CodeInternalError, "mcphost: the owner's answer: "+err.Error(), nil)
	}
	s.respond(reply, out)
}

// stateLost answers a retry whose parked call no instance can resume: a
// read-only tool (readOnlyHint) runs again as a fresh call, which may ask
// for the input again; anything else fails with CodeRequestStateLost,
// since running it again could repeat its side effects.
func (s *Session) stateLost(reply replyStream, id []byte, method string, params []byte, owner, why string) {
	cat := s.router.catalog.load()
	name, _ := jsonrpc.GetString(params, "name")
	// A forwarded retry fails here: the instance that forwarded it decides.
	rerun := !s.fromPeer.Load() && method == "tools/call" && cat.readOnlyTool(name)
	s.router.log.Warn("the parked call of a retry is lost", "owner", owner, "reason", why, "method", method, "rerun", rerun)
	if rerun {
		fresh, err := jsonrpc.Delete(params, "requestState")
		if err == nil {
			fresh, err = jsonrpc.Delete(fresh, "inputResponses")
		}
		if err == nil {
			s.dispatch(reply, method, id, fresh, cat)
			return
		}
	}
	s.respond(reply, jsonrpc.Error(id, CodeRequestStateLost,
		fmt.Sprintf("mcphost: request state lost (instance %q: %s); start the call again", owner, why),
		map[string]string{"owner": owner}))
}

// readOnlyTool says whether the exposed tool declares readOnlyHint.
func (c *catalog) readOnlyTool(name string) bool {
	if _, ok := c.tools[name]; !ok {
		return false
	}
	readOnly := false
	gjson.GetBytes(c.toolsResult, "tools").ForEach(func(_, t gjson.Result) bool {
		if t.Get("name").Str != name {
			return true
		}
		readOnly = t.Get("annotations.readOnlyHint").Type == gjson.True
		return false
	})
	return readOnly
}
