package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxCallBody bounds the body of a call, get or read request.
const maxCallBody = 8 << 20

// Operator makes MCP requests through the router as an admin session, for
// POST /api/v1/tools/{name}/call, /prompts/{name}/get and /resources/read.
// A Control that implements it serves those endpoints; without it they
// answer 501.
type Operator interface {
	// Operate sends one request and returns the JSON-RPC response the
	// client side of the router got. It bounds the wait itself (the
	// proxy's request timeout) and ends with ctx; an error means no
	// response came.
	Operate(ctx context.Context, req OperateRequest) (OperateResponse, error)
}

// OperateRequest is one MCP request: Method is tools/call, prompts/get or
// resources/read, Params its params object.
type OperateRequest struct {
	Method string
	Params json.RawMessage
}

// OperateResponse is the JSON-RPC response message.
type OperateResponse struct {
	Message json.RawMessage
}

// SignIns starts sign-ins for the dashboard's "Sign in": POST
// /api/v1/servers/{name}/sign-in. A Control that implements it serves that
// endpoint; without it, it answers 501.
type SignIns interface {
	// StartSignIn begins signing in to the server (OAuth) and returns
	// the page to open. It returns ErrUnknownServer for a name that is
	// not configured and ErrNoSignIn for a server that does not sign in.
	StartSignIn(ctx context.Context, name string) (SignInStart, error)
}

// SignInStart is a sign-in under way.
type SignInStart struct {
	Server string `json:"server"`
	// AuthorizationURL is the page to open in a browser on the proxy's
	// machine (the sign-in comes back to a loopback port there); empty
	// when no person was needed. The server reconnects once signed in.
	AuthorizationURL string `json:"authorization_url,omitempty"`
}

// ErrNoSignIn is StartSignIn's error for a server that does not sign in.
var ErrNoSignIn = errors.New("the server does not sign in with OAuth")

// Catalog is the rest of the aggregated catalogue: GET /api/v1/prompts and
// GET /api/v1/resources. A Control that implements it serves them; without
// it they answer 501.
type Catalog interface {
	Prompts() []Prompt
	Resources() []Resource
}

// Prompt is one prompt of the aggregated catalogue; Arguments is the
// backend's JSON array as it gave it.
type Prompt struct {
	Name         string          `json:"name"` // as exposed to clients
	Server       string          `json:"server"`
	OriginalName string          `json:"original_name"`
	Title        string          `json:"title,omitempty"`
	Description  string          `json:"description,omitempty"`
	Arguments    json.RawMessage `json:"arguments,omitempty"`
}

// Resource is one resource of the aggregated catalogue.
type Resource struct {
	URI         string `json:"uri"` // as exposed to clients
	Server      string `json:"server"`
	OriginalURI string `json:"original_uri"`
	Name        string `json:"name,omitempty"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	MimeType    string `json:"mime_type,omitempty"`
}

// PromptList answers GET /api/v1/prompts.
type PromptList struct {
	Prompts []Prompt `json:"prompts"`
}

// ResourceList answers GET /api/v1/resources.
type ResourceList struct {
	Resources []Resource `json:"resources"`
}

// CallBody is the body of POST /api/v1/tools/{name}/call and
// /api/v1/prompts/{name}/get.
type CallBody struct {
	Arguments json.RawMessage `json:"arguments,omitempty"`
}

// ReadBody is the body of POST /api/v1/resources/read.
type ReadBody struct {
	URI string `json:"uri"`
}

// RPCError is a JSON-RPC error object.
type RPCError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// CallResponse answers the call, get and read endpoints (200) once the
// request was answered: Result is the MCP result as the client side of the
// router got it (a CallToolResult, GetPromptResult or ReadResourceResult;
// a tool's own failure is a result with isError true), or RPCError the
// JSON-RPC error it got instead. LatencyMs is the time from sending the
// request to its answer, in milliseconds.
type CallResponse struct {
	Result    json.RawMessage `json:"result,omitempty"`
	RPCError  *RPCError       `json:"rpc_error,omitempty"`
	LatencyMs float64         `json:"latency_ms"`
}

func (s *Server) listPrompts(w http.ResponseWriter, r *http.Request) {
	c, ok := s.ctl.(Catalog)
	if !ok {
		writeError(w, http.StatusNotImplemented, "this proxy does not list prompts")
		return
	}
	writeJSON(w, http.StatusOK, PromptList{Prompts: nonNil(c.Prompts())})
}

func (s *Server) listResources(w http.ResponseWriter, r *http.Request) {
	c, ok := s.ctl.(Catalog)
	if !ok {
		writeError(w, http.StatusNotImplemented, "this proxy does not list resources")
		return
	}
	writeJSON(w, http.StatusOK, ResourceList{Resources: nonNil(c.Resources())})
}

// callByName serves tools/{name}/call and prompts/{name}/get.
func (s *Server) callByName(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body CallBody
		if !decodeBody(w, r, &body) {
			return
		}
		args := body.Arguments
		if len(args) == 0 || string(args) == "null" {
			args = json.RawMessage(`{}`)
		}
		if args[0] != '{' {
			writeError(w, http.StatusBadRequest, "arguments must be a JSON object")
			return
		}
		params, err := json.Marshal(struct {
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
		}{r.PathValue("name"), args})
		if err != nil {
			writeError(w, http.StatusBadRequest, "encode params: "+err.Error())
			return
		}
		s.operate(w, r, OperateRequest{Method: method, Params: params})
	}
}

func (s *Server) readResource(w http.ResponseWriter, r *http.Request) {
	var body ReadBody
	if !decodeBody(w, r, &body) {
		return
	}
	if body.URI == "" {
		writeError(w, http.StatusBadRequest, "uri is required")
		return
	}
	params, err := json.Marshal(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "encode params: "+err.Error())
		return
	}
	s.operate(w, r, OperateRequest{Method: "resources/read", Params: params})
}

// decodeBody reads a JSON object body into v, answering 413 when it is
// larger than maxCallBody and 400 when it is not such an object; an empty
// body leaves v as it is.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxCallBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		if tooLarge(w, err) {
			return false
		}
		writeError(w, http.StatusBadRequest, "the body must be a JSON object: "+err.Error())
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "the body must be one JSON object, with nothing after it")
		return false
	}
	return true
}

// tooLarge answers 413 when err is a body's http.MaxBytesReader limit.
func tooLarge(w http.ResponseWriter, err error) bool {
	var big *http.MaxBytesError
	if !errors.As(err, &big) {
		return false
	}
	writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", big.Limit))
	return true
}

func (s *Server) operate(w http.ResponseWriter, r *http.Request, req OperateRequest) {
	op, ok := s.ctl.(Operator)
	if !ok {
		writeError(w, http.StatusNotImplemented, "this proxy does not make requests for the admin API")
		return
	}
	ctx, cancel := s.requestContext(r)
	defer cancel()
	s.log.Info("admin request through the router", "method", req.Method, "remote", r.RemoteAddr)
	start := time.Now()
	resp, err := op.Operate(ctx, req)
	latency := time.Since(start)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, fmt.Sprintf("%s: no answer within %s", req.Method, latency.Round(time.Millisecond)))
		return
	case err != nil:
		s.log.Error("admin request through the router failed", "method", req.Method, "error", err)
		writeError(w, http.StatusBadGateway, req.Method+": "+err.Error())
		return
	}
	var msg struct {
		Result json.RawMessage `json:"result"`
		Error  *RPCError       `json:"error"`
	}
	if err := json.Unmarshal(resp.Message, &msg); err != nil || (msg.Result == nil && msg.Error == nil) {
		writeError(w, http.StatusBadGateway, req.Method+": the answer is not a JSON-RPC response")
		return
	}
	writeJSON(w, http.StatusOK, CallResponse{
		Result: msg.Result, RPCError: msg.Error, LatencyMs: float64(latency.Microseconds()) / 1000,
	})
}

func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	si, ok := s.ctl.(SignIns)
	if !ok {
		writeError(w, http.StatusNotImplemented, "this proxy does not start sign-ins")
		return
	}
	name := r.PathValue("name")
	ctx, cancel := s.requestContext(r)
	defer cancel()
	s.log.Info("admin action", "action", "sign-in", "server", name, "remote", r.RemoteAddr)
	res, err := si.StartSignIn(ctx, name)
	if errors.Is(err, ErrNoSignIn) {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	if err != nil {
		s.fail(w, "sign in to "+name, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
