package listen

import (
	"bytes"
	"context"
	"mime"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/plugintest/syncbuf"
)

// testStateKey is the request_state_key the instances of a test share.
const testStateKey = "test-request-state-key-0123456789abcdef"

// peerInstance is one mcphost instance: a router with a fake backend
// behind a real HTTP listener, forwarding to its peers.
type peerInstance struct {
	h    *HTTP
	f    *fakeBackend
	stop func()
}

// startPeers starts one instance per id, each knowing the others as peers,
// all logging to logs.
func startPeers(t *testing.T, logs *syncbuf.Buffer, ids ...string) map[string]*peerInstance {
	t.Helper()
	urls := map[string]string{} // filled before any request is sent
	out := map[string]*peerInstance{}
	for _, id := range ids {
		logger := hclog.New(&hclog.LoggerOptions{Name: id, Output: logs, Level: hclog.Trace})
		fwd := NewPeerForwarder(PeerOptions{Self: id, Peers: urls, Key: []byte(testStateKey)})
		t.Cleanup(fwd.Close)
		r, f := newRouterWith(t, router.Options{
			InstanceID: id, RequestStateKey: []byte(testStateKey), Peers: fwd, Logger: logger.Named("router"),
		}, "confirm", "lookup")
		h := NewHTTP(r, HTTPOptions{Address: "127.0.0.1:0", InstanceID: id, PeerKey: []byte(testStateKey), Logger: logger.Named("http")})
		if err := h.Listen(); err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- h.Serve() }()
		var once sync.Once
		stop := func() {
			once.Do(func() {
				ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
				defer cancel()
				if err := h.Shutdown(ctx); err != nil {
					t.Errorf("Shutdown %s: %v", id, err)
				}
				if err := <-served; err != nil {
					t.Errorf("Serve %s: %v", id, err)
				}
				r.Close()
			})
		}
		t.Cleanup(stop)
		urls[id] = h.URL()
		out[id] = &peerInstance{h: h, f: f, stop: stop}
	}
	return out
}

const elicitingMeta = `{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"elicitation":{}},` +
	`"io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"}}`

// callModern POSTs a 2026-07-28 tools/call (with extra params members)
// and returns the JSON-RPC response, from JSON or an SSE stream.
func callModern(t *testing.T, url, id, tool, extra string) []byte {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"` + tool + `","arguments":{"n":1}` + extra + `,"_meta":` + elicitingMeta + `}}`
	resp, raw := postModernMsg(t, url, body, map[string]string{"Mcp-Method": "tools/call", "Mcp-Name": tool})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d: %s", resp.StatusCode, raw)
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct == "text/event-stream" {
		msg, err := finalSSEResponse(bytes.NewReader(raw), []byte(id), 1<<20)
		if err != nil {
			t.Fatalf("%v: %s", err, raw)
		}
		return msg
	}
	return raw
}

// answerExtra is the retry's members: the client accepts the elicitation.
func answerExtra(state string) string {
	return `,"inputResponses":{"input":{"action":"accept","content":{}}},"requestState":"` + state + `"`
}

// TestRequestStateAcrossInstances: a 2026-07-28 client whose retry
// reaches the instance that did not park its call (as a round-robin load
// balancer sends it) gets the call completed by the owner through the
// peer forwarding; with the owner stopped, a read-only tool runs again and
// a tool with side effects fails with -32050, having run once. Neither the
// key nor the tokens reach the logs.
func TestRequestStateAcrossInstances(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		tool      string
		stopOwner bool
		// want: "ok" (completed by the owner), "input" (re-run here and
		// asking again), or "lost" (-32050).
		want string
		// calls are the tool's runs on the owner and on the other.
		ownerCalls, otherCalls int
	}{
		{"forwarded to the owner", "confirm", false, "ok", 1, 0},
		{"owner stopped, read-only tool runs again", "lookup", true, "input", 1, 1},
		{"owner stopped, tool with side effects is refused", "confirm", true, "lost", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			logs := &syncbuf.Buffer{}
			inst := startPeers(t, logs, "mcp-a", "mcp-b")
			owner, other := inst["mcp-a"], inst["mcp-b"]
			tool := "mcp__proxy__srv__" + tt.tool
			first := callModern(t, owner.h.URL(), "1", tool, "")
			if rt, _ := jsonrpc.GetString(first, "result.resultType"); rt != "input_required" {
				t.Fatalf("want input_required, got %s", first)
			}
			state, _ := jsonrpc.GetString(first, "result.requestState")
			if !strings.HasPrefix(state, "ms1.mcp-a.") {
				t.Fatalf("requestState %q does not name its owner", state)
			}
			if tt.stopOwner {
				owner.stop()
			}
			resp := callModern(t, other.h.URL(), "2", tool, answerExtra(state))
			switch tt.want {
			case "ok":
				if got, _ := jsonrpc.GetString(resp, "result.content.0.text"); got != "accept" {
					t.Fatalf("the owner did not complete the call with the answer: %s", resp)
				}
			case "input":
				next, _ := jsonrpc.GetString(resp, "result.requestState")
				if rt, _ := jsonrpc.GetString(resp, "result.resultType"); rt != "input_required" || !strings.HasPrefix(next, "ms1.mcp-b.") {
					t.Fatalf("the re-run should ask again under this instance: %s", resp)
				}
				state += " " + next
			case "lost":
				if code := jsonrpc.Get(resp, "error.code"); string(code) != "-32050" {
					t.Fatalf("want -32050, got %s", resp)
				}
				if msg, _ := jsonrpc.GetString(resp, "error.message"); !strings.Contains(msg, "start the call again") || !strings.Contains(msg, "mcp-a") {
					t.Errorf("error message %q", msg)
				}
			}
			if a, b := owner.f.calls(tt.tool), other.f.calls(tt.tool); a != tt.ownerCalls || b != tt.otherCalls {
				t.Errorf("%s ran %d times on the owner and %d on the other; want %d and %d", tt.tool, a, b, tt.ownerCalls, tt.otherCalls)
			}
			out := logs.String()
			if tt.stopOwner && !strings.Contains(out, "owner=mcp-a") {
				t.Errorf("the lost state is not logged with its owner:\n%s", out)
			}
			for _, secret := range append(strings.Fields(state), testStateKey) {
				if strings.Contains(out, secret) {
					t.Errorf("the logs hold a secret (%.12s…):\n%s", secret, out)
				}
			}
		})
	}
}

// TestForgedPeerRequest: a request claiming to come from a peer without a
// valid signature under the shared key is refused with 401 and reaches no
// backend.
func TestForgedPeerRequest(t *testing.T) {
	t.Parallel()
	inst := startPeers(t, &syncbuf.Buffer{}, "mcp-a")["mcp-a"]
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"mcp__proxy__srv__confirm","arguments":{},"_meta":` + elicitingMeta + `}}`
	now := time.Now()
	tests := []struct{ name, header string }{
		{"garbage", "nonsense"},
		{"another key", signPeer([]byte("another-key-another-key-another-key!!"), "mcp-b", []byte(body), now)},
		{"another body", signPeer([]byte(testStateKey), "mcp-b", []byte(body+" "), now)},
		{"stale", signPeer([]byte(testStateKey), "mcp-b", []byte(body), now.Add(-2*peerClockSkew))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, raw := postModernMsg(t, inst.h.URL(), body, map[string]string{
				"Mcp-Method": "tools/call", "Mcp-Name": "mcp__proxy__srv__confirm", PeerHeader: tt.header,
			})
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("HTTP %d, want 401: %s", resp.StatusCode, raw)
			}
		})
	}
	if n := inst.f.calls("confirm"); n != 0 {
		t.Fatalf("a refused request reached the backend %d times", n)
	}
	t.Run("signed", func(t *testing.T) {
		resp, raw := postModernMsg(t, inst.h.URL(), body, map[string]string{
			"Mcp-Method": "tools/call", "Mcp-Name": "mcp__proxy__srv__confirm",
			PeerHeader: signPeer([]byte(testStateKey), "mcp-b", []byte(body), now),
		})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("a correctly signed request: HTTP %d: %s", resp.StatusCode, raw)
		}
		if n := inst.f.calls("confirm"); n != 1 {
			t.Fatalf("the signed request reached the backend %d times", n)
		}
	})
}
