package demoserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Protocol is the protocol version the example server is pinned to, or
// AllProtocols. A pinned server imitates a real server that knows only that
// one version, so that a proxy can be tested against every kind of backend
// it meets in the wild:
//
//   - pinned to a version before 2026-07-28, initialize always answers that
//     version, whatever the client asked for, and server/discover is an
//     unknown method (-32601), as it is for the TypeScript SDK's servers;
//     requests marked 2026-07-28 in their _meta are refused with -32022;
//   - pinned to 2026-07-28, server/discover lists only that version, requests
//     carrying it in their _meta are served statelessly, and initialize (or
//     any request without the _meta version) is refused, as by a server that
//     never had the handshake.
type Protocol string

// AllProtocols serves both eras, every version mcp-go knows: a legacy
// client negotiates with initialize, a modern one uses server/discover.
const AllProtocols Protocol = ""

// ParseProtocol parses the -protocol flag: "all" (or empty) or one of the
// published protocol versions.
func ParseProtocol(s string) (Protocol, error) {
	if s == "" || s == "all" {
		return AllProtocols, nil
	}
	if !slices.Contains(mcp.ValidProtocolVersions, s) {
		return "", fmt.Errorf("unknown protocol version %q: want all or one of %s", s, strings.Join(mcp.ValidProtocolVersions, ", "))
	}
	return Protocol(s), nil
}

func (p Protocol) modern() bool { return p != AllProtocols && mcp.IsModernProtocol(string(p)) }
func (p Protocol) legacy() bool { return p != AllProtocols && !p.modern() }

// atLeast says whether the server speaks version v or a newer one (an
// unpinned server speaks all).
func (p Protocol) atLeast(v string) bool { return p == AllProtocols || string(p) >= v }

// versions is what the server advertises in server/discover, or nil for
// mcp-go's default of every version.
func (p Protocol) versions() []string {
	if p == AllProtocols {
		return nil
	}
	return []string{string(p)}
}

// Option configures the example server and the transports serving it.
type Option func(*options)

type options struct {
	protocol Protocol
}

// WithProtocol pins the server to one protocol version; see Protocol.
func WithProtocol(p Protocol) Option {
	return func(o *options) { o.protocol = p }
}

func buildOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// serverOptions are the mcp-go options that make an MCPServer answer
// initialize as a server pinned to p would. mcp-go negotiates by echoing any
// legacy version the client asks for, and has no option to restrict that, so
// a hook rewrites the requested version before negotiation: mcp-go then
// echoes the pinned one, and records it on the session as well.
func (p Protocol) serverOptions() []server.ServerOption {
	if !p.legacy() {
		return nil
	}
	hooks := &server.Hooks{}
	hooks.AddBeforeInitialize(func(_ context.Context, _ any, req *mcp.InitializeRequest) {
		req.Params.ProtocolVersion = string(p)
	})
	return []server.ServerOption{server.WithHooks(hooks)}
}

// refusal is the answer a pinned server gives, in place of mcp-go, to a
// request its version does not allow.
type refusal struct {
	resp mcp.JSONRPCError
	// status is the HTTP status the answer goes with on Streamable HTTP.
	status int
}

// refuse reports whether a server pinned to p must turn down msg, and how.
// mcp-go is a closed method switch with no hook that can answer with a
// chosen error code, so the transports call this on every raw message
// before handing it to mcp-go. Only requests are ever refused: a
// notification has nobody to tell.
func (p Protocol) refuse(msg []byte) *refusal {
	if p == AllProtocols {
		return nil
	}
	var head struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	if json.Unmarshal(msg, &head) != nil || head.Method == "" || len(head.ID) == 0 || string(head.ID) == "null" {
		return nil // mcp-go answers malformed messages itself
	}
	var params struct {
		ProtocolVersion string         `json:"protocolVersion"`
		Meta            map[string]any `json:"_meta"`
	}
	// Params of the wrong shape are mcp-go's to reject; they carry no version.
	_ = json.Unmarshal(head.Params, &params)
	metaVersion, _ := params.Meta[mcp.MetaKeyProtocolVersion].(string)
	var id any
	_ = json.Unmarshal(head.ID, &id)

	unsupported := func(requested string) *refusal {
		resp := mcp.UnsupportedProtocolVersionError{Version: requested, Supported: p.versions()}.JSONRPCError()
		resp.ID = mcp.NewRequestId(id)
		return &refusal{resp: resp, status: http.StatusBadRequest}
	}
	switch {
	case p.legacy() && head.Method == string(mcp.MethodServerDiscover):
		// 404 is what Streamable HTTP pairs with -32601 since 2026-07-28;
		// a JSON-RPC body still tells the client the server speaks it.
		return &refusal{
			resp:   mcp.NewJSONRPCError(mcp.NewRequestId(id), mcp.METHOD_NOT_FOUND, "Method not found: "+head.Method, nil),
			status: http.StatusNotFound,
		}
	case p.legacy() && mcp.IsModernProtocol(metaVersion):
		return unsupported(metaVersion)
	case p.modern() && head.Method == string(mcp.MethodInitialize):
		return unsupported(params.ProtocolVersion)
	case p.modern() && metaVersion == "":
		return &refusal{
			resp: mcp.NewJSONRPCError(mcp.NewRequestId(id), mcp.INVALID_PARAMS,
				"missing _meta "+mcp.MetaKeyProtocolVersion+": this server speaks only protocol "+string(p), nil),
			status: http.StatusBadRequest,
		}
	}
	return nil
}

// httpHandler puts p's refusals in front of a Streamable HTTP handler.
func (p Protocol) httpHandler(next http.Handler) http.Handler {
	if p == AllProtocols {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "reading request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		if ref := p.refuse(body); ref != nil {
			writeRefusal(w, ref)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

func writeRefusal(w http.ResponseWriter, ref *refusal) {
	b, err := json.Marshal(ref.resp)
	if err != nil {
		http.Error(w, "encoding error response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ref.status)
	_, _ = w.Write(append(b, '\n'))
}

// sseHandler puts p's refusals in front of the HTTP+SSE transport, whose
// message endpoint answers every POST with 202 and sends the actual answer
// on the session's event stream.
func (p Protocol) sseHandler(sse *server.SSEServer) http.Handler {
	if p == AllProtocols {
		return sse
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != sse.CompleteMessagePath() {
			sse.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "reading request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		if ref := p.refuse(body); ref != nil {
			// Handing the message on to mcp-go instead would serve it.
			if err := sse.SendEventToSession(r.URL.Query().Get("sessionId"), ref.resp); err != nil {
				http.Error(w, "answering on the event stream: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusAccepted)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sse.ServeHTTP(w, r)
	})
}
