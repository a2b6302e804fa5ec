package tracestore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/mcphost/mcphost/sdk"
	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/proto/pluginv1"
	"github.com/mcphost/mcphost/sdk/tracing"
)

// Sharing one store between copies of mcphost (see doc.go, "Several
// copies"): the plugin that holds the store's Badger lock owns it and
// serves it on a Unix socket; the plugin of every other copy forwards to
// that socket, and takes the store over when the owner goes.

// Bounds of joining a store.
const (
	// configureJoinWait bounds how long Configure tries to own the store
	// or reach its owner: an owner that has just taken the lock needs a
	// moment to open Badger and listen.
	configureJoinWait = 5 * time.Second
	// awaitOwnerWait bounds how long a call that found the owner gone
	// waits for a copy to take the store over before it fails.
	awaitOwnerWait = 5 * time.Second
	// Backoff between attempts to own the store or reach its owner.
	joinBackoffFirst = 5 * time.Millisecond
	joinBackoffMax   = 200 * time.Millisecond
	// joinBackoffBroken is the longest wait of the supervisor between
	// attempts that fail for another reason than the store being held (a
	// broken disk, say).
	joinBackoffBroken = 5 * time.Second
)

// link is the store a configured plugin uses: its options, its directory
// (absolute, symlinks resolved) and its owner's socket.
type link struct {
	o     options
	dir   string
	place sockPlace
}

// ownerServer serves the store this plugin owns to the other copies.
type ownerServer struct {
	place sockPlace
	srv   *grpc.Server
	done  chan struct{} // closed when Serve has returned
}

// serveStore serves p's store (which p must hold) on the socket of place.
func serveStore(p *Plugin, place sockPlace) (*ownerServer, error) {
	l, err := listenSocket(place)
	if err != nil {
		return nil, err
	}
	limit := sdk.GRPCLimit(sdk.MaxMessageBytes())
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(limit), grpc.MaxSendMsgSize(limit))
	pluginv1.RegisterTracingServer(srv, tracing.NewGRPCServer(ownerView{p: p}))
	s := &ownerServer{place: place, srv: srv, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		// Serve returns when the server stops; any other error is a
		// listener that broke, and the copies then find the owner gone.
		if err := srv.Serve(&peerListener{UnixListener: l, uid: os.Getuid(), logger: p.logger}); err != nil {
			p.logger.Error("serving the tracing store to other copies stopped", "socket", place.path, "error", err)
		}
	}()
	return s, nil
}

// close stops taking calls, lets running ones finish until ctx is done,
// and removes the socket. The caller still holds the store, so no other
// copy has put its socket there.
func (s *ownerServer) close(ctx context.Context) {
	stopped := make(chan struct{})
	go func() {
		s.srv.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-ctx.Done():
		s.srv.Stop()
		<-stopped
	}
	<-s.done
	_ = os.Remove(s.place.path)
}

// ownerView is what the owner serves on its socket: its own store, never
// forwarded further. A store closing (the owner stopping or reconfigured)
// is Unavailable, which the caller takes as the owner gone.
type ownerView struct {
	base.Unimplemented
	p *Plugin
}

func (v ownerView) Info(ctx context.Context, req base.InfoRequest) (base.InfoResponse, error) {
	return v.p.Info(ctx, req)
}

func (v ownerView) Record(ctx context.Context, req tracing.RecordRequest) (tracing.RecordResponse, error) {
	r, err := v.p.recordLocal(ctx, req)
	return r, unavailableIfClosed(err)
}

func (v ownerView) ListTools(ctx context.Context, req tracing.ListToolsRequest) (tracing.ListToolsResponse, error) {
	return v.p.ListTools(ctx, req)
}

func (v ownerView) CallTool(ctx context.Context, req tracing.CallToolRequest) (tracing.CallToolResponse, error) {
	if !v.p.owns() {
		return tracing.CallToolResponse{}, unavailableIfClosed(errNotConfigured)
	}
	return v.p.callToolLocal(ctx, req)
}

func (v ownerView) ListResources(ctx context.Context, req tracing.ListResourcesRequest) (tracing.ListResourcesResponse, error) {
	return v.p.ListResources(ctx, req)
}

func (v ownerView) ReadResource(ctx context.Context, req tracing.ReadResourceRequest) (tracing.ReadResourceResponse, error) {
	r, err := v.p.readResourceLocal(ctx, req)
	return r, unavailableIfClosed(err)
}

func unavailableIfClosed(err error) error {
	if errors.Is(err, errNotConfigured) {
		return status.Error(codes.Unavailable, err.Error())
	}
	return err
}

// forwarder is a plugin's connection to the copy that owns the store.
type forwarder struct {
	conn   *grpc.ClientConn
	client *tracing.GRPCClient
	// lost is done when the owner was found gone (by a call, or by the
	// connection breaking) or the plugin leaves the store.
	lost     context.Context
	markLost context.CancelFunc
}

// dialOwner connects to the owner's socket and checks that it answers,
// within ctx and dialTimeout. The connection lives until parent is done or
// close.
func dialOwner(ctx, parent context.Context, place sockPlace) (*forwarder, error) {
	limit := sdk.GRPCLimit(sdk.MaxMessageBytes())
	uid := os.Getuid()
	dial := func(ctx context.Context, _ string) (net.Conn, error) {
		var errs []error
		for _, path := range place.paths() {
			var d net.Dialer
			c, err := d.DialContext(ctx, "unix", path)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			// The owner must be this user too: a socket put there by
			// another would see every trace.
			if err := checkPeer(c.(*net.UnixConn), uid); err != nil {
				_ = c.Close()
				errs = append(errs, fmt.Errorf("tracing store socket %s: %w", path, err))
				continue
			}
			return c, nil
		}
		return nil, errors.Join(errs...)
	}
	conn, err := grpc.NewClient("passthrough:///tracing-store-owner",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(dial),
		// Idle means the owner went, not that no call came for a while.
		grpc.WithIdleTimeout(0),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(limit), grpc.MaxCallSendMsgSize(limit)))
	if err != nil {
		return nil, fmt.Errorf("connect to the tracing store's owner at %s: %w", place.path, err)
	}
	f := &forwarder{conn: conn, client: tracing.NewGRPCClient(conn)}
	pctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	if _, err := f.client.ListTools(pctx, tracing.ListToolsRequest{}); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("reach the tracing store's owner at %s: %w", place.path, err)
	}
	f.lost, f.markLost = context.WithCancel(parent)
	return f, nil
}

func (f *forwarder) close() {
	f.markLost()
	_ = f.conn.Close()
}

// waitLost returns when the connection to the owner breaks, a call marks
// it lost, or the plugin leaves the store.
func (f *forwarder) waitLost() {
	for ready := false; ; {
		s := f.conn.GetState()
		switch s {
		case connectivity.Ready:
			ready = true
		case connectivity.TransientFailure, connectivity.Shutdown:
			return
		case connectivity.Idle:
			if ready {
				return // the owner closed the connection
			}
			f.conn.Connect()
		}
		if !f.conn.WaitForStateChange(f.lost, s) {
			return
		}
	}
}

// ownerGone says whether a forwarded call failed because the owner is not
// there (any more): the call may be made again once a copy holds the store.
func ownerGone(ctx context.Context, err error) bool {
	switch status.Code(err) {
	case codes.Unavailable:
		return true
	case codes.Canceled:
		// The connection was closed under the call (replaced after the
		// owner went), not the caller giving up.
		return ctx.Err() == nil
	}
	return false
}

// errInUseUnreachable: the store is held by a process that does not
// (yet) answer on its socket.
var errInUseUnreachable = errors.New("its owner does not answer on the store's socket")

// join opens l's store and serves it, or, when another process holds it,
// connects to the owner. It makes one attempt; a forwarder's connection
// lives until parent is done.
func (p *Plugin) join(ctx, parent context.Context, l *link) (role, error) {
	st, err := openStore(l.o, p.logger, p.m.cache)
	if err == nil {
		srv, err := serveStore(p, l.place)
		if err != nil {
			_ = st.close()
			return role{}, fmt.Errorf("serve tracing store %s to other copies: %w", l.dir, err)
		}
		return role{st: st, srv: srv}, nil
	}
	if !errors.Is(err, ErrStoreInUse) {
		return role{}, err
	}
	fwd, derr := dialOwner(ctx, parent, l.place)
	if derr != nil {
		return role{}, fmt.Errorf("%w, and %w: %w", err, errInUseUnreachable, derr)
	}
	return role{fwd: fwd}, nil
}

// joinRetry joins l's store, trying again with backoff until ctx is done:
// while the store is held by a process that does not answer yet, and, if
// persist, after any failure. It returns the last failure.
func (p *Plugin) joinRetry(ctx, parent context.Context, l *link, persist bool) (role, error) {
	delay := joinBackoffFirst
	for {
		r, err := p.join(ctx, parent, l)
		if err == nil {
			return r, nil
		}
		limit := joinBackoffMax
		if !errors.Is(err, errInUseUnreachable) {
			if !persist {
				return role{}, err
			}
			limit = joinBackoffBroken
			p.logger.Warn("cannot use the tracing store; trying again", "dir", l.dir, "error", err, "retry_in", delay)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return role{}, fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-t.C:
		}
		delay = min(delay*2, limit)
	}
}

// role is what a plugin has of its store: the store itself, served to the
// other copies, or a connection to the copy that owns it.
type role struct {
	st  *store
	srv *ownerServer
	fwd *forwarder
}

// supervisor watches a forwarder's owner and, when it goes, takes the
// store over or connects to the copy that did.
type supervisor struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (s *supervisor) stop() {
	if s != nil {
		s.cancel()
		<-s.done
	}
}

// supervise runs until the plugin owns the store or ctx is done.
func (p *Plugin) supervise(ctx context.Context, l *link, done chan struct{}) {
	defer close(done)
	for {
		fwd, _ := p.forwarding()
		if fwd == nil {
			return
		}
		fwd.waitLost()
		if ctx.Err() != nil {
			return
		}
		start := time.Now()
		r, err := p.joinRetry(ctx, ctx, l, true)
		if err != nil {
			return // ctx is done: the plugin is leaving the store
		}
		p.install(r)
		fwd.close()
		if r.st != nil {
			p.m.takeovers.Inc()
			p.logger.Info("took the tracing store over from its previous owner", "dir", l.dir,
				"socket", l.place.path, "took", time.Since(start))
			return
		}
		p.logger.Debug("reconnected to the tracing store's owner", "socket", l.place.path, "took", time.Since(start))
	}
}

// install makes r the plugin's role, and wakes the calls waiting for it.
func (p *Plugin) install(r role) {
	p.stMu.Lock()
	p.st, p.srv, p.fwd = r.st, r.srv, r.fwd
	close(p.roleChanged)
	p.roleChanged = make(chan struct{})
	p.stMu.Unlock()
}

// forwarding returns the forwarder while the plugin forwards, and a channel
// closed at the next change of role.
func (p *Plugin) forwarding() (*forwarder, <-chan struct{}) {
	p.stMu.RLock()
	defer p.stMu.RUnlock()
	return p.fwd, p.roleChanged
}

// owns says whether the plugin holds its store.
func (p *Plugin) owns() bool {
	p.stMu.RLock()
	defer p.stMu.RUnlock()
	return p.st != nil
}

// awaitRole marks fwd's owner lost, which wakes the supervisor, and waits
// until the plugin's role changes (it took the store over, or reached the
// copy that did), ctx is done or awaitOwnerWait passes.
func (p *Plugin) awaitRole(ctx context.Context, fwd *forwarder, changed <-chan struct{}) error {
	fwd.markLost()
	t := time.NewTimer(awaitOwnerWait)
	defer t.Stop()
	select {
	case <-changed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("no copy took the store over within %v", awaitOwnerWait)
	}
}

// forward runs a call on the owner while the plugin forwards, else on its
// own store. A call that finds the owner gone is made once more after a
// copy has taken the store over (this one, or another).
func forward[T any](ctx context.Context, p *Plugin, remote func(tracing.Tracing) (T, error), local func() (T, error)) (T, error) {
	for retried := false; ; retried = true {
		fwd, changed := p.forwarding()
		if fwd == nil {
			return local()
		}
		r, err := remote(fwd.client)
		if err == nil || retried || !ownerGone(ctx, err) {
			return r, err
		}
		p.m.ownerLost.Inc()
		if werr := p.awaitRole(ctx, fwd, changed); werr != nil {
			return r, fmt.Errorf("%w; waiting for a copy to take the tracing store over: %w", err, werr)
		}
	}
}

// leave gives up r: stops serving and closes the store (waiting until
// ctx is done for running calls), or closes the connection to the owner.
// The store is closed in the background if ctx ends first; leave then
// returns an error.
func (p *Plugin) leave(ctx context.Context, r role) error {
	if r.fwd != nil {
		r.fwd.close()
	}
	if r.srv != nil {
		r.srv.close(ctx)
	}
	if r.st == nil {
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- r.st.close() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("store %s still closing: %w", r.st.dir, ctx.Err())
	}
}
