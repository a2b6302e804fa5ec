package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/mcphost/mcphost/host/internal/admin/ui"
	"github.com/mcphost/mcphost/host/internal/httpguard"
)

// Log tail limits for GET /api/v1/logs/{name}[/stream].
const (
	DefaultTail = 100
	MaxTail     = 10000
)

// errorBody is every error response.
type errorBody struct {
	Error string `json:"error"`
}

// ActionResult answers POST /api/v1/servers/{name}/{start|stop|restart}.
type ActionResult struct {
	Server string `json:"server"`
	Action string `json:"action"`
	State  string `json:"state,omitempty"` // the server's state once the action returned
}

// ServerList answers GET /api/v1/servers.
type ServerList struct {
	Servers []ServerStatus `json:"servers"`
}

// ToolList answers GET /api/v1/tools.
type ToolList struct {
	Tools []Tool `json:"tools"`
	// LeftOut are the tools servers list that their filters or tool
	// blocks keep from clients.
	LeftOut []Tool `json:"left_out"`
}

// SessionList answers GET /api/v1/sessions.
type SessionList struct {
	Sessions []Session `json:"sessions"`
}

// LogLines answers GET /api/v1/logs/{name}.
type LogLines struct {
	Server string   `json:"server"`
	Lines  []string `json:"lines"`
}

// ReloadResponse answers POST /api/v1/reload: the result, and an error
// message when the configuration was refused (422) or the reload failed
// (500).
type ReloadResponse struct {
	Error string `json:"error,omitempty"`
	ReloadResult
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/servers", s.listServers)
	mux.HandleFunc("GET /api/v1/servers/{name}", s.getServer)
	mux.HandleFunc("POST /api/v1/servers/{name}/start", s.action("start", s.ctl.StartServer))
	mux.HandleFunc("POST /api/v1/servers/{name}/stop", s.action("stop", s.ctl.StopServer))
	mux.HandleFunc("POST /api/v1/servers/{name}/restart", s.action("restart", s.ctl.RestartServer))
	mux.HandleFunc("POST /api/v1/servers/{name}/sign-in", s.signIn)
	mux.HandleFunc("GET /api/v1/tools", s.listTools)
	mux.HandleFunc("GET /api/v1/sessions", s.listSessions)
	mux.HandleFunc("GET /api/v1/tracing", s.tracing)
	mux.HandleFunc("GET /api/v1/logs/{name}", s.logs)
	mux.HandleFunc("GET /api/v1/logs/{name}/stream", s.logStream)
	mux.HandleFunc("GET /api/v1/metrics", s.metrics)
	mux.HandleFunc("GET /api/v1/config", s.config)
	mux.HandleFunc("POST /api/v1/reload", s.reload)
	mux.HandleFunc("GET /api/v1/events", s.events)
	mux.HandleFunc("GET /api/v1/activity", s.activity)
	// Tracing queries are POSTs (a tool call) and so need the token, like
	// feedback, which goes the same way.
	mux.HandleFunc("POST /api/v1/trace/tools/{name}", s.traceTool)
	mux.HandleFunc("GET /api/v1/trace/resource", s.traceResource)
	// The catalogue's prompts and resources, the plugins, and requests
	// through the router as an admin session (operate.go, plugins.go).
	mux.HandleFunc("GET /api/v1/prompts", s.listPrompts)
	mux.HandleFunc("GET /api/v1/resources", s.listResources)
	mux.HandleFunc("GET /api/v1/plugins", s.listPlugins)
	mux.HandleFunc("POST /api/v1/tools/{name}/call", s.callByName("tools/call"))
	mux.HandleFunc("POST /api/v1/prompts/{name}/get", s.callByName("prompts/get"))
	mux.HandleFunc("POST /api/v1/resources/read", s.readResource)
	// Browser sessions (see login.go).
	mux.HandleFunc("POST "+loginPath, s.login)
	mux.HandleFunc("POST /api/v1/logout", s.logout)
	mux.HandleFunc("POST /api/v1/login-codes", s.loginCode)
	if s.promText != nil {
		mux.Handle("GET /metrics", s.promText)
	}
	// The dashboard: the page and its static assets (see ui/).
	dashboard := ui.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	}))
	mux.Handle("GET /{$}", dashboard)
	mux.Handle("GET /ui/", dashboard)
	return s.guard(mux)
}

// guard applies the checks every request goes through, in order: Host
// (403), Origin (403), authentication where required (401; 403 for a
// cookie-authenticated change without Sec-Fetch-Site: same-origin); then
// routes, answering unknown paths (404) and methods (405) in JSON too.
func (s *Server) guard(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h := sw.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		defer func() {
			s.log.Debug("admin request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
				"duration", time.Since(start), "remote", r.RemoteAddr)
		}()

		if err := s.checks.Check(r); err != nil {
			if errors.Is(err, httpguard.ErrHost) {
				s.log.Warn("admin request refused: Host is not this listener's", "host", r.Host, "remote", r.RemoteAddr)
				writeError(sw, http.StatusForbidden, "forbidden: Host header not allowed")
			} else {
				s.log.Warn("admin request refused: cross-origin", "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr)
				writeError(sw, http.StatusForbidden, "forbidden: cross-origin requests are not allowed")
			}
			return
		}
		if s.authRequired(r) {
			if _, err := s.checks.Authenticate(r); errors.Is(err, httpguard.ErrCrossSite) {
				s.log.Warn("admin request refused: a session cookie without Sec-Fetch-Site: same-origin", "method", r.Method,
					"path", r.URL.Path, "remote", r.RemoteAddr)
				writeError(sw, http.StatusForbidden, "forbidden: "+err.Error())
				return
			} else if err != nil {
				s.log.Warn("admin request refused: missing or wrong bearer token or session", "method", r.Method,
					"path", r.URL.Path, "remote", r.RemoteAddr)
				h.Set("WWW-Authenticate", realm)
				writeError(sw, http.StatusUnauthorized, "unauthorized: a valid bearer token or session cookie is required")
				return
			}
		}
		if handler, pattern := mux.Handler(r); pattern == "" {
			// No route: let the mux decide between 404 and 405 (and
			// the Allow header), and answer in JSON.
			probe := &probeWriter{header: http.Header{}}
			handler.ServeHTTP(probe, r)
			status := probe.status
			if status == 0 || status == http.StatusOK {
				status = http.StatusNotFound
			}
			if allow := probe.header.Get("Allow"); allow != "" {
				h.Set("Allow", allow)
			}
			msg := "no such endpoint: " + r.URL.Path
			if status == http.StatusMethodNotAllowed {
				msg = fmt.Sprintf("method %s not allowed on %s", r.Method, r.URL.Path)
			}
			writeError(sw, status, msg)
			return
		}
		mux.ServeHTTP(sw, r)
	})
}

// requestContext ends with the request or when the server closes, whichever
// comes first (Start's http.Server does this already; a handler served by
// other means needs it).
func (s *Server) requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(s.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

func (s *Server) listServers(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, ServerList{Servers: nonNil(s.ctl.Servers())})
}

func (s *Server) getServer(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	st, ok := s.find(name)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("%s %q", ErrUnknownServer, name))
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) find(name string) (ServerStatus, bool) {
	for _, st := range s.ctl.Servers() {
		if st.Name == name {
			return st, true
		}
	}
	return ServerStatus{}, false
}

func (s *Server) action(verb string, do func(context.Context, string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		ctx, cancel := s.requestContext(r)
		defer cancel()
		s.log.Info("admin action", "action", verb, "server", name, "remote", r.RemoteAddr)
		if err := do(ctx, name); err != nil {
			s.fail(w, verb+" "+name, err)
			return
		}
		res := ActionResult{Server: name, Action: verb}
		if st, ok := s.find(name); ok {
			res.State = st.State
		}
		writeJSON(w, http.StatusOK, res)
	}
}

func (s *Server) listTools(w http.ResponseWriter, r *http.Request) {
	list := ToolList{Tools: []Tool{}, LeftOut: []Tool{}}
	for _, t := range s.ctl.Tools() {
		if t.State == "" || t.State == ToolExposed {
			list.Tools = append(list.Tools, t)
		} else {
			list.LeftOut = append(list.LeftOut, t)
		}
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, SessionList{Sessions: nonNil(s.ctl.Sessions())})
}

func (s *Server) tracing(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.ctl.Tracing())
}

func parseTail(r *http.Request) (int, error) {
	v := r.URL.Query().Get("tail")
	if v == "" {
		return DefaultTail, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > MaxTail {
		return 0, fmt.Errorf("tail must be an integer from 0 to %d", MaxTail)
	}
	return n, nil
}

func (s *Server) logs(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	n, err := parseTail(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	lines, err := s.ctl.Logs(name, n)
	if err != nil {
		s.fail(w, "logs "+name, err)
		return
	}
	writeJSON(w, http.StatusOK, LogLines{Server: name, Lines: nonNil(lines)})
}

func (s *Server) logStream(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	n, err := parseTail(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := s.requestContext(r)
	defer cancel()
	lines, err := s.ctl.FollowLogs(ctx, name, n)
	if err != nil {
		s.fail(w, "follow logs "+name, err)
		return
	}
	stream := startSSE(w)
	tick := time.NewTicker(s.keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if stream.comment("keepalive") != nil {
				return
			}
		case line, ok := <-lines:
			if !ok || stream.send("", line) != nil {
				return
			}
		}
	}
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	m := s.ctl.MetricsSummary()
	m.Servers = nonNil(m.Servers)
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) config(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.ctl.Config())
}

func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.requestContext(r)
	defer cancel()
	s.log.Info("admin reload", "remote", r.RemoteAddr)
	res, err := s.ctl.Reload(ctx)
	res = normalize(res)
	switch {
	case err != nil && !errors.Is(err, ErrReloadRefused):
		s.log.Error("admin reload failed", "error", err)
		writeJSON(w, http.StatusInternalServerError, ReloadResponse{Error: "reload failed: " + err.Error(), ReloadResult: res})
	case err != nil || !res.Applied:
		res.Applied = false
		msg := "configuration refused; the running configuration is unchanged"
		if err != nil {
			msg = err.Error() + "; the running configuration is unchanged"
		}
		writeJSON(w, http.StatusUnprocessableEntity, ReloadResponse{Error: msg, ReloadResult: res})
	default:
		writeJSON(w, http.StatusOK, ReloadResponse{ReloadResult: res})
	}
}

func (s *Server) traceTool(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.requestContext(r)
	defer cancel()
	args, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCallBody))
	if err != nil {
		if !tooLarge(w, err) {
			writeError(w, http.StatusBadRequest, "read body: "+err.Error())
		}
		return
	}
	if len(bytes.Trim(args, " \t\r\n")) == 0 { // JSON white space only: "\v" is not JSON
		args = []byte(`{}`)
	}
	if !json.Valid(args) {
		writeError(w, http.StatusBadRequest, "the body must be the tool's arguments as a JSON object")
		return
	}
	res, err := s.ctl.TraceTool(ctx, r.PathValue("name"), args)
	s.writeTrace(w, res, err)
}

func (s *Server) traceResource(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.requestContext(r)
	defer cancel()
	uri := r.URL.Query().Get("uri")
	if uri == "" {
		writeError(w, http.StatusBadRequest, "uri is required")
		return
	}
	res, err := s.ctl.TraceResource(ctx, uri)
	s.writeTrace(w, res, err)
}

func (s *Server) writeTrace(w http.ResponseWriter, res json.RawMessage, err error) {
	switch {
	case errors.Is(err, ErrTracingOff), errors.Is(err, ErrNothingRecorded):
		writeError(w, http.StatusNotFound, err.Error())
	case err != nil:
		writeError(w, http.StatusBadGateway, err.Error())
	default:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(res)
	}
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.requestContext(r)
	defer cancel()
	events := s.ctl.Events(ctx)
	stream := startSSE(w)
	tick := time.NewTicker(s.keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if stream.comment("keepalive") != nil {
				return
			}
		case ev, ok := <-events:
			if !ok {
				return
			}
			if ev.Type == "" {
				ev.Type = EventState
				if ev.ReloadResult != nil {
					ev.Type = EventReload
				}
			}
			if ev.ReloadResult != nil {
				res := normalize(*ev.ReloadResult)
				ev.ReloadResult = &res
			}
			data, err := json.Marshal(ev)
			if err != nil {
				s.log.Error("admin: encode event", "error", err)
				continue
			}
			if stream.send(ev.Type, string(data)) != nil {
				return
			}
		}
	}
}

// fail answers a Control error: 404 for an unknown server, else 500.
func (s *Server) fail(w http.ResponseWriter, what string, err error) {
	if errors.Is(err, ErrUnknownServer) {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	s.log.Error("admin request failed", "request", what, "error", err)
	writeError(w, http.StatusInternalServerError, what+": "+err.Error())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status = http.StatusInternalServerError
		data, _ = json.Marshal(errorBody{Error: "encode response: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func normalize(r ReloadResult) ReloadResult {
	r.Added = nonNil(r.Added)
	r.Removed = nonNil(r.Removed)
	r.Changed = nonNil(r.Changed)
	r.Unchanged = nonNil(r.Unchanged)
	r.Plugins = nonNil(r.Plugins)
	r.Diagnostics = nonNil(r.Diagnostics)
	r.Partial = nonNil(r.Partial)
	return r
}

// statusWriter records the status for the request log. Unwrap lets
// http.ResponseController reach the underlying Flusher.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// probeWriter captures what the mux would answer for an unrouted request.
type probeWriter struct {
	header http.Header
	status int
}

func (p *probeWriter) Header() http.Header { return p.header }
func (p *probeWriter) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}
func (p *probeWriter) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}
