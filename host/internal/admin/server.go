package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/host/internal/httpdrain"
	"github.com/mcphost/mcphost/host/internal/httpguard"
)

// DefaultAddr is where the admin API listens unless told otherwise.
const DefaultAddr = "127.0.0.1:3001"

// DefaultKeepAlive is the interval of the comment lines that keep an idle
// event stream open through proxies.
const DefaultKeepAlive = 15 * time.Second

// Options configure a Server.
type Options struct {
	// Addr is the listen address (host:port); default DefaultAddr. A port
	// of 0 picks a free one (see Server.Addr).
	Addr string
	// Token is the bearer token clients must present. When empty, a random
	// one is generated at Start and written to TokenFile.
	Token string
	// TokenFile is where a generated token is written (mode 0600, in a
	// directory of mode 0700); default DefaultTokenFile(port, nil). Unused
	// when Token is set.
	TokenFile string
	// Control is the proxy being administered. Required.
	Control Control
	// Logger receives request and security logs; default a null logger.
	Logger hclog.Logger
	// KeepAlive is the interval of keepalive comments on event streams;
	// default DefaultKeepAlive.
	KeepAlive time.Duration
	// Now is the clock of browser sessions and login codes; default
	// time.Now.
	Now func() time.Time
	// Metrics, when set, is served at GET /metrics (Prometheus text, the
	// handler the MCP listener serves), so that a setup with no HTTP
	// listener can be scraped too. It goes through the same checks as the
	// API: open to reads on a loopback listener, behind the token
	// otherwise.
	Metrics http.Handler
}

// Server is the admin API server.
type Server struct {
	ctl       Control
	log       hclog.Logger
	addr      string
	keepAlive time.Duration

	token     string
	generated bool
	tokenFile string // configured; the actual path is resolved at Start

	// checks tests Host, Origin, the token and session cookies;
	// sessions holds the browser sessions and login codes.
	checks     *httpguard.Guard
	sessions   *httpguard.Sessions
	requireAll atomic.Bool // every request needs authentication, not only /api/

	handler  http.Handler
	promText http.Handler
	getenv   func(string) string

	// ctx ends on Close; every request (event streams especially) is
	// cancelled with it.
	ctx    context.Context
	cancel context.CancelFunc

	mu          sync.Mutex
	ln          net.Listener
	srv         *http.Server
	conns       httpdrain.Conns
	served      chan struct{}
	writtenFile string
	started     bool
	closed      bool

	// The copy's own Unix socket (StartSocket).
	sockLn     net.Listener
	sockSrv    *http.Server
	sockConns  httpdrain.Conns
	sockServed chan struct{}
	sockPath   string
}

// New checks opts and builds a Server; it does not listen yet.
func New(opts Options) (*Server, error) {
	if opts.Control == nil {
		return nil, errors.New("admin: Options.Control is required")
	}
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	host, _, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("admin: listen address %q: %w", opts.Addr, err)
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.KeepAlive <= 0 {
		opts.KeepAlive = DefaultKeepAlive
	}
	s := &Server{
		ctl:       opts.Control,
		log:       opts.Logger,
		addr:      opts.Addr,
		keepAlive: opts.KeepAlive,
		token:     opts.Token,
		tokenFile: opts.TokenFile,
		promText:  opts.Metrics,
		getenv:    os.Getenv,
	}
	if s.token == "" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("admin: generate token: %w", err)
		}
		s.token = hex.EncodeToString(b)
		s.generated = true
	}
	s.sessions = httpguard.NewSessions(httpguard.SessionOptions{Now: opts.Now})
	var loopback bool
	s.checks, loopback = newGuard(host, s.token, s.sessions)
	s.requireAll.Store(!loopback)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.handler = s.routes()
	return s, nil
}

// Handler is the API's http.Handler, with every security check applied. It
// can be served by other means than Start (tests use httptest).
func (s *Server) Handler() http.Handler { return s.handler }

// Start listens on the configured address, writes a generated token to its
// file, and serves in the background until Close.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("admin: server is closed")
	}
	if s.started {
		return errors.New("admin: server already started")
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("admin: listen on %s: %w", s.addr, err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		// A name that resolved to a non-loopback address: the bound
		// address decides, not the configured one.
		s.requireAll.Store(true)
	}
	if s.generated {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		path := s.tokenFile
		if path == "" {
			path = DefaultTokenFile(port, s.getenv)
		}
		if err := writeTokenFile(path, s.token, s.tokenFile == ""); err != nil {
			_ = ln.Close()
			return fmt.Errorf("admin: write token file: %w", err)
		}
		s.writtenFile = path
		s.log.Info("admin API token written", "file", path)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
		ErrorLog:          s.log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	s.conns.Track(s.srv)
	s.served = make(chan struct{})
	s.started = true
	go func() {
		defer close(s.served)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("admin API stopped", "error", err)
		}
	}()
	s.log.Info("admin API listening", "addr", "http://"+ln.Addr().String()+"/api/v1", "auth_all_requests", s.requireAll.Load())
	return nil
}

// Addr is the bound address (host:port) after Start, else "".
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// TokenFile is the path a generated token was written to, or "" when the
// token was configured (or before Start).
func (s *Server) TokenFile() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writtenFile
}

// Close ends every event stream, removes a generated token file, and shuts
// the listener down gracefully; when ctx ends first, the remaining
// connections are closed.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	srv, served, file := s.srv, s.served, s.writtenFile
	sockSrv, sockServed, sockPath := s.sockSrv, s.sockServed, s.sockPath
	s.mu.Unlock()

	s.cancel()
	s.sessions.Close()
	var errs []error
	if file != "" {
		if err := removeTokenFile(file, s.token); err != nil {
			errs = append(errs, fmt.Errorf("admin: remove token file: %w", err))
		}
	}
	for _, h := range []struct {
		srv    *http.Server
		conns  *httpdrain.Conns
		served chan struct{}
	}{{srv, &s.conns, served}, {sockSrv, &s.sockConns, sockServed}} {
		if h.srv == nil {
			continue
		}
		if err := h.conns.Shutdown(ctx, h.srv); err != nil {
			_ = h.srv.Close()
			errs = append(errs, fmt.Errorf("admin: shutdown: %w", err))
		}
		<-h.served
	}
	if sockPath != "" {
		// Shutdown closed the listener, which removes the file; a copy
		// that was killed leaves it for the next owner of the pid.
		if err := os.Remove(sockPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("admin: remove socket: %w", err))
		}
	}
	return errors.Join(errs...)
}
