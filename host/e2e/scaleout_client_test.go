//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// The scale-out test's MCP clients speak raw JSON-RPC over HTTP, so that
// every answer's Mcphost-Instance header and status can be checked.

// scaleHTTP is the scale-out clients' HTTP client: many keep-alive
// connections to one load balancer.
var scaleHTTP = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 60 * time.Second}

// mcpAnswer is one HTTP exchange with an MCP endpoint.
type mcpAnswer struct {
	status   int
	instance string // Mcphost-Instance: the instance that answered
	session  string // Mcp-Session-Id
	body     []byte // the JSON-RPC response (from a JSON body or an SSE stream)
}

// errSessionGone is a 404 for a session id: the instance that held the
// session is gone, and the client starts a new one.
var errSessionGone = errors.New("session not found (404)")

// mcpPost POSTs one JSON-RPC message and reads the answer. A 404 is
// errSessionGone; another status >= 400 is an error.
func mcpPost(ctx context.Context, url string, headers map[string]string, msg []byte) (mcpAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(msg))
	if err != nil {
		return mcpAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := scaleHTTP.Do(req)
	if err != nil {
		return mcpAnswer{}, err
	}
	defer resp.Body.Close()
	a := mcpAnswer{status: resp.StatusCode, instance: resp.Header.Get("Mcphost-Instance"), session: resp.Header.Get("Mcp-Session-Id")}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		a.body, err = lastSSEResponse(resp.Body)
	} else {
		a.body, err = io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	}
	if err != nil {
		return a, fmt.Errorf("read the answer (%d from %q): %w", a.status, a.instance, err)
	}
	switch {
	case a.status == http.StatusNotFound:
		return a, errSessionGone
	case a.status >= 400:
		return a, fmt.Errorf("HTTP %d from %q: %s", a.status, a.instance, clip(a.body, 300))
	}
	return a, nil
}

// lastSSEResponse is the JSON-RPC response in an SSE answer: the data of
// the event that has a result or an error.
func lastSSEResponse(r io.Reader) ([]byte, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data:")
		if !ok {
			continue
		}
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(strings.TrimSpace(data)), &m) == nil && (m["result"] != nil || m["error"] != nil) {
			return []byte(strings.TrimSpace(data)), nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, errors.New("the SSE answer ended without a response")
}

// callResultOf decodes a tools/call answer, failing on a JSON-RPC error or a
// tool error.
func callResultOf(a mcpAnswer) (map[string]any, error) {
	var msg struct {
		Result map[string]any  `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(a.body, &msg); err != nil {
		return nil, fmt.Errorf("not a JSON-RPC response (%d from %q): %s", a.status, a.instance, clip(a.body, 300))
	}
	if msg.Error != nil || msg.Result == nil {
		return nil, fmt.Errorf("JSON-RPC error from %q: %s", a.instance, clip(a.body, 300))
	}
	if isErr, _ := msg.Result["isError"].(bool); isErr {
		return nil, fmt.Errorf("tool error from %q: %s", a.instance, clip(a.body, 300))
	}
	return msg.Result, nil
}

// structuredOf decodes a tool result's structuredContent into out.
func structuredOf(res map[string]any, out any) error {
	raw, err := json.Marshal(res["structuredContent"])
	if err != nil || res["structuredContent"] == nil {
		return fmt.Errorf("no structuredContent in %v", res)
	}
	return json.Unmarshal(raw, out)
}

// traceResponseID is the response id in a traced result's
// _meta["mcphost/trace"].
func traceResponseID(res map[string]any) string {
	meta, _ := res["_meta"].(map[string]any)
	tr, _ := meta["mcphost/trace"].(map[string]any)
	id, _ := tr["response_id"].(string)
	return id
}

// instanceOfSession is the instance id a session id starts with.
func instanceOfSession(id string) string {
	inst, _, _ := strings.Cut(id, ".")
	return inst
}

func callMessage(id int64, tool string, args map[string]any, meta map[string]any) []byte {
	params := map[string]any{"name": tool, "arguments": args}
	if meta != nil {
		params["_meta"] = meta
	}
	msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})
	return msg
}

// legacySession is a 2025-06-18 streamable-HTTP session.
type legacySession struct {
	url, id string
	next    atomic.Int64
}

// openLegacy initializes a session at url (through the load balancer, or
// at one instance).
func openLegacy(ctx context.Context, url string) (*legacySession, error) {
	a, err := mcpPost(ctx, url, nil, []byte(initializeJS))
	if err != nil {
		return nil, fmt.Errorf("initialize: %w", err)
	}
	if a.session == "" || instanceOfSession(a.session) != a.instance {
		return nil, fmt.Errorf("initialize: session %q from instance %q", a.session, a.instance)
	}
	s := &legacySession{url: url, id: a.session}
	s.next.Store(1)
	if _, err := mcpPost(ctx, url, s.headers(), []byte(initedJS)); err != nil {
		return nil, fmt.Errorf("notifications/initialized: %w", err)
	}
	return s, nil
}

func (s *legacySession) headers() map[string]string {
	return map[string]string{"Mcp-Session-Id": s.id, "MCP-Protocol-Version": "2025-06-18"}
}

func (s *legacySession) instance() string { return instanceOfSession(s.id) }

// call calls a tool; the answer must come from the session's instance.
func (s *legacySession) call(ctx context.Context, tool string, args map[string]any) (map[string]any, error) {
	a, err := mcpPost(ctx, s.url, s.headers(), callMessage(s.next.Add(1), tool, args, nil))
	if err != nil {
		return nil, err
	}
	if a.instance != s.instance() {
		return nil, fmt.Errorf("session %s was answered by instance %q", s.id, a.instance)
	}
	return callResultOf(a)
}

// request sends any request of the session and returns its result; the
// answer must come from the session's instance.
func (s *legacySession) request(ctx context.Context, method string, params map[string]any) (map[string]any, error) {
	msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": s.next.Add(1), "method": method, "params": params})
	a, err := mcpPost(ctx, s.url, s.headers(), msg)
	if err != nil {
		return nil, err
	}
	if a.instance != s.instance() {
		return nil, fmt.Errorf("session %s was answered by instance %q", s.id, a.instance)
	}
	var resp struct {
		Result map[string]any  `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(a.body, &resp); err != nil || resp.Error != nil || resp.Result == nil {
		return nil, fmt.Errorf("%s: %s", method, clip(a.body, 300))
	}
	return resp.Result, nil
}

// close ends the session (DELETE), as a client that is done does.
func (s *legacySession) close() {
	req, err := http.NewRequest(http.MethodDelete, s.url, nil)
	if err != nil {
		return
	}
	req.Header.Set("Mcp-Session-Id", s.id)
	if resp, err := scaleHTTP.Do(req); err == nil {
		resp.Body.Close()
	}
}

// modernMeta is the request metadata of a 2026-07-28 client.
var modernMeta = map[string]any{
	metaPrefix + "protocolVersion":    modernRevision,
	metaPrefix + "clientCapabilities": map[string]any{},
	metaPrefix + "clientInfo":         map[string]any{"name": "mcphost-e2e-scaleout", "version": "1"},
}

var modernIDs atomic.Int64

// modernCall makes a stateless 2026-07-28 tools/call at url and returns the
// result and the instance that answered.
func modernCall(ctx context.Context, url, tool string, args map[string]any) (map[string]any, string, error) {
	headers := map[string]string{"MCP-Protocol-Version": modernRevision, "Mcp-Method": "tools/call", "Mcp-Name": tool}
	a, err := mcpPost(ctx, url, headers, callMessage(modernIDs.Add(1), tool, args, modernMeta))
	if err != nil {
		return nil, a.instance, err
	}
	res, err := callResultOf(a)
	return res, a.instance, err
}
