package router

import (
	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/translator"
)

// protocolEra is what differs between the two eras of the protocol, for a
// client session and a backend alike: the session era (initialize,
// 2025-11-25 and older), whose peer keeps state set by messages of their
// own, and the stateless era (2026-07-28), whose peer gets the same with
// each request. The era is chosen once, when the peer's version is learnt
// (see protoVersion.store), so the message path asks it instead of
// comparing versions. It decides where a message goes and what the proxy
// sends on its own behalf; how a message of one version is written in
// another stays with the translators (translate.go).
type protocolEra interface {
	// stateful says whether the peer keeps a session: logging/setLevel,
	// resources/subscribe, roots/list_changed and server→client requests
	// reach it as such. A stateless peer gets them in each request's
	// _meta, on listen streams, and as input-required results.
	stateful() bool
	// ownParams are the params of a request the proxy makes to backend b
	// on its own behalf (discover, lists, health checks).
	ownParams(b *backend, params []byte) []byte
	// clientResult is a backend's answer to a forwarded request as the
	// client sees it: it talks to one server, the proxy.
	clientResult(r *Router, msg []byte) []byte
	// subscribe passes a session's interest in one of backend b's
	// resources on b's listen stream, reporting false when b has none
	// (the caller then sends resources/subscribe or unsubscribe).
	subscribe(b *backend, uri string, add bool) bool
	// notify gives session s a list_changed (from nil: the proxy's own)
	// or a resources/updated (uri set) from backend from.
	notify(s *Session, from *backend, method, uri string, msg []byte)
	// serverRequest carries backend b's server→client request to target,
	// whose request caused it (reply is that request's stream).
	serverRequest(target *Session, b *backend, reply replyStream, env jsonrpc.Envelope, msg []byte)
}

// eraOf is the era of a protocol version; an unknown one ("") is treated
// as the session era until the peer says otherwise.
func eraOf(version string) protocolEra {
	if version == ModernVersion {
		return statelessEra{}
	}
	return sessionEra{}
}

// sessionEra is the initialize era: the peer keeps what it was told.
type sessionEra struct{}

func (sessionEra) stateful() bool                              { return true }
func (sessionEra) ownParams(_ *backend, params []byte) []byte  { return params }
func (sessionEra) clientResult(_ *Router, msg []byte) []byte   { return msg }
func (sessionEra) subscribe(_ *backend, _ string, _ bool) bool { return false }
func (sessionEra) serverRequest(target *Session, b *backend, reply replyStream, env jsonrpc.Envelope, msg []byte) {
	target.forwardServerRequest(b, reply, env, msg)
}

func (sessionEra) notify(s *Session, from *backend, method, _ string, msg []byte) {
	if from == nil {
		// The proxy's own notifications reach initialized sessions only.
		if s.isInitialized() {
			s.deliver(nil, msg)
		}
		return
	}
	s.deliverFrom(from, nil, method, translator.KindNotification, msg)
}

// statelessEra is 2026-07-28: no initialize, request metadata with every
// request, notifications only on listen streams, and input-required
// results in place of server→client requests.
type statelessEra struct{}

func (statelessEra) stateful() bool                             { return false }
func (statelessEra) ownParams(b *backend, params []byte) []byte { return b.withProxyMeta(params) }
func (statelessEra) clientResult(r *Router, msg []byte) []byte  { return r.ownServerInfo(msg) }
func (statelessEra) notify(s *Session, _ *backend, method, uri string, msg []byte) {
	s.notifyListens(method, uri, msg)
}

func (statelessEra) subscribe(b *backend, uri string, add bool) bool {
	b.subscribeModern(uri, add)
	return true
}

// serverRequest gives a stateless client, which takes no requests, the
// backend's request as an input-required answer to its call; it retries
// the call with the input.
func (statelessEra) serverRequest(target *Session, b *backend, _ replyStream, env jsonrpc.Envelope, msg []byte) {
	if p := b.conn.latestClientRequest(); p != nil && p.session == target {
		b.park(p, env, msg)
		return
	}
	b.sendAsync(jsonrpc.Error(env.ID, jsonrpc.CodeMethodNotFound,
		"mcphost: "+env.Method+" can reach a 2026-07-28 client only during one of its requests", nil))
}
