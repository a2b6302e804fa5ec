package listen

import (
	"net/http"
	"slices"
	"strconv"
)

// Readiness is whether the proxy takes new work, as GET ReadyPath tells a
// load balancer.
type Readiness int

const (
	// Starting: the backends have not made their first attempt yet.
	Starting Readiness = iota
	// Ready: new sessions and calls are welcome.
	Ready
	// Draining: the proxy is stopping; open work is finished, new work
	// should go elsewhere.
	Draining
)

// HealthPath answers 200 while the process serves at all (liveness);
// ReadyPath answers 200 only while it is Ready (readiness). Both are
// unauthenticated, since load balancers probe them without credentials, and
// so say nothing but their state.
const (
	HealthPath = "/healthz"
	ReadyPath  = "/readyz"
)

// handleProbes serves the health and readiness probes on mux, unless an
// MCP endpoint took their path. They sit behind checkHost like every path.
func (h *HTTP) handleProbes(mux *http.ServeMux) {
	taken := []string{h.opts.Path, h.opts.SSEPath, h.opts.MessagePath, h.opts.WebSocketPath, h.opts.MetricsPath}
	if !slices.Contains(taken, HealthPath) {
		mux.HandleFunc(HealthPath, func(w http.ResponseWriter, r *http.Request) {
			writeProbe(w, r, http.StatusOK, "ok")
		})
	}
	if !slices.Contains(taken, ReadyPath) {
		mux.HandleFunc(ReadyPath, h.serveReady)
	}
}

func (h *HTTP) serveReady(w http.ResponseWriter, r *http.Request) {
	switch h.readiness() {
	case Ready:
		writeProbe(w, r, http.StatusOK, "ok")
	case Draining:
		writeProbe(w, r, http.StatusServiceUnavailable, "draining")
	default:
		writeProbe(w, r, http.StatusServiceUnavailable, "not ready")
	}
}

// readiness is the proxy's, or Draining once the listener shuts down.
func (h *HTTP) readiness() Readiness {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return Draining
	}
	if h.opts.Readiness == nil {
		return Ready
	}
	return h.opts.Readiness()
}

// writeProbe answers a probe with status and a one-word body (none for
// HEAD); other methods get 405.
func writeProbe(w http.ResponseWriter, r *http.Request, status int, body string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	if r.Method == http.MethodGet {
		_, _ = w.Write([]byte(body + "\n"))
	}
}
