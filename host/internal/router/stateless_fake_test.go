package router

import (
	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// modernRequest answers what a 2026-07-28 server answers differently; it
// reports false for requests served as in any era.
func (s *fakeServer) modernRequest(c *fakeConn, env jsonrpc.Envelope, params []byte) bool {
	switch env.Method {
	case "server/discover":
		c.toProxy(result(env.ID, `{"resultType":"complete","supportedVersions":["2026-07-28"],`+
			`"capabilities":{"tools":{"listChanged":true},"resources":{"subscribe":true,"listChanged":true}},"ttlMs":0,"cacheScope":"private"}`))
	case "initialize", "ping", "logging/setLevel", "resources/subscribe":
		c.toProxy(string(jsonrpc.Error(env.ID, jsonrpc.CodeMethodNotFound, "Method not found", nil)))
	case "subscriptions/listen":
		c.toProxy(`{"jsonrpc":"2.0","method":"notifications/subscriptions/acknowledged","params":{"notifications":` +
			string(jsonrpc.Get(params, "notifications")) + `,"_meta":{"io.modelcontextprotocol/subscriptionId":` + string(env.ID) + `}}}`)
	case "tools/call":
		name, _ := jsonrpc.GetString(params, "name")
		if name != "mrtr" {
			return false
		}
		answer := jsonrpc.Get(params, "inputResponses")
		if answer == nil {
			c.toProxy(result(env.ID, `{"resultType":"input_required","inputRequests":{"s":{"method":"sampling/createMessage",`+
				`"params":{"messages":[],"maxTokens":5}}},"requestState":"state-1"}`))
			return true
		}
		c.toProxy(result(env.ID, `{"resultType":"complete","content":[],"answers":`+string(answer)+
			`,"state":`+string(jsonrpc.Get(params, "requestState"))+`}`))
	default:
		return false
	}
	return true
}
