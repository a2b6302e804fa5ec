package router

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/oauth"
	"github.com/mcphost/mcphost/sdk/transport"
)

// Defaults of the restart policy and health checks.
const (
	DefaultRestartJitter      = 0.2
	DefaultMaxRestarts        = 5
	DefaultRestartWindow      = 5 * time.Minute
	DefaultHealthInterval     = 30 * time.Second
	DefaultHealthTimeout      = 5 * time.Second
	DefaultHealthFailures     = 3
	DefaultLoginRetryDelay    = 30 * time.Second
	requestedStopReason       = "stopped by request"
	shutdownReason            = "proxy shutting down"
	requestedRestartReason    = "restart requested"
	tooManyRestartsReasonForm = "too many restarts: %d in %s"
	// DisabledReason is the state reason of a server with enabled = false.
	DisabledReason = "disabled in the config"
)

// RestartPolicy says how a backend is reconnected after its connection
// ends. Zero values get defaults.
type RestartPolicy struct {
	// InitialDelay is the first reconnect delay (default Options.RestartDelay,
	// 1s); each further attempt doubles it up to MaxDelay (default
	// Options.MaxRestartDelay, 30s).
	InitialDelay time.Duration
	MaxDelay     time.Duration
	// Jitter shortens each delay by a random fraction of up to Jitter
	// (default 0.2), so that backends that fail together do not retry
	// together. Negative means none.
	Jitter float64
	// After more than MaxRestarts (default 5) automatic restarts within
	// Window (default 5m), the backend fails and is not retried until
	// restarted by hand.
	MaxRestarts int
	Window      time.Duration
}

func (p *RestartPolicy) defaults(o Options) {
	if p.InitialDelay <= 0 {
		p.InitialDelay = o.RestartDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = o.MaxRestartDelay
	}
	if p.MaxDelay < p.InitialDelay {
		p.MaxDelay = p.InitialDelay
	}
	if p.Jitter == 0 {
		p.Jitter = DefaultRestartJitter
	}
	p.Jitter = min(max(p.Jitter, 0), 1)
	if p.MaxRestarts <= 0 {
		p.MaxRestarts = DefaultMaxRestarts
	}
	if p.Window <= 0 {
		p.Window = DefaultRestartWindow
	}
}

// jittered shortens d by a random fraction of up to p.Jitter.
func (p RestartPolicy) jittered(d time.Duration) time.Duration {
	if p.Jitter <= 0 {
		return d
	}
	return d - time.Duration(rand.Float64()*p.Jitter*float64(d))
}

// HealthCheck configures the periodic check of a running backend: a
// `ping`, or, for a backend that does not know ping, its first list method.
type HealthCheck struct {
	// Interval between checks; 0 means the default 30s, negative disables.
	Interval time.Duration
	// Timeout of each check (default 5s).
	Timeout time.Duration
	// FailureThreshold consecutive failed checks make the backend unhealthy
	// (default 3).
	FailureThreshold int
}

func (h *HealthCheck) defaults() {
	if h.Interval == 0 {
		h.Interval = DefaultHealthInterval
	}
	if h.Timeout <= 0 {
		h.Timeout = DefaultHealthTimeout
	}
	if h.FailureThreshold <= 0 {
		h.FailureThreshold = DefaultHealthFailures
	}
}

// run supervises the backend until ctx ends: runs of connection attempts
// (see attempts), and between runs, when stopped or failed, waits to be
// started again.
func (b *backend) run(ctx context.Context, firstReady chan<- struct{}) {
	if b.spec.Disabled {
		b.setState(StateStopped, DisabledReason)
		if firstReady != nil {
			close(firstReady)
			firstReady = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-b.sup.wake:
		}
	}
	for {
		runCtx, cancel := context.WithCancel(ctx)
		b.sup.beginRun(cancel)
		b.attempts(runCtx, firstReady)
		firstReady = nil
		cancel()
		if b.sup.endRun() {
			// Stopped just as the run ended on its own (failed).
			b.setState(StateStopped, requestedStopReason)
		}
		if ctx.Err() != nil {
			b.setState(StateStopped, shutdownReason)
			return
		}
		select {
		case <-ctx.Done():
			b.setState(StateStopped, shutdownReason)
			return
		case <-b.sup.wake:
		}
	}
}

// attempts connects, initializes and serves the backend, reconnecting with
// backoff when the connection ends, until ctx ends (stop, restart or
// shutdown) or the restart limit is reached.
func (b *backend) attempts(ctx context.Context, firstReady chan<- struct{}) {
	defer func() {
		if firstReady != nil {
			close(firstReady)
		}
	}()
	pol := b.spec.Restart
	delay := pol.InitialDelay
	for {
		started := time.Now()
		err := b.session(ctx, firstReady)
		firstReady = nil
		if ctx.Err() != nil {
			switch reason := b.sup.stopReason(); reason {
			case "":
				// The router is closing; run sets the state.
			case requestedRestartReason:
				b.sup.restartDueNow()
				b.setState(StateRestarting, reason)
			default:
				b.setState(StateStopped, reason)
			}
			return
		}
		if nle, ok := errors.AsType[*oauth.NeedsLoginError](err); ok {
			// Retrying cannot help until someone signs in: wait long, and
			// count no restart.
			if !b.awaitLogin(ctx, nle) {
				return
			}
			delay = pol.InitialDelay
			continue
		}
		// A connection the health check closed has its reason as the cause.
		failReason, wait, used, err := b.sup.connectionEnded(err, pol, started, delay)
		delay = used
		if failReason != "" {
			b.log.Error("backend failed; not restarting until asked to", "reason", failReason, "error", reasonOf(err))
			b.setState(StateFailed, failReason)
			return
		}
		if b.spec.backoffHook != nil {
			b.spec.backoffHook(wait)
		}
		b.setState(StateRestarting, reasonOf(err))
		b.log.Warn("backend down; reconnecting", "error", reasonOf(err), "in", wait)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			if reason := b.sup.stopReason(); reason != "" && reason != requestedRestartReason {
				b.setState(StateStopped, reason)
			}
			return
		case <-timer.C:
		}
		delay = min(delay*2, pol.MaxDelay)
		b.sup.restarting()
	}
}

// awaitLogin puts the backend in state needs_login for nle and waits
// Options.LoginRetryDelay, reporting false when ctx ended first (stop,
// restart or shutdown). The state's reason is the command to run; why is
// the last error.
func (b *backend) awaitLogin(ctx context.Context, nle *oauth.NeedsLoginError) bool {
	wait := b.router.opts.LoginRetryDelay
	b.sup.needsLogin(nle.Reason, time.Now().Add(wait))
	b.setState(StateNeedsLogin, NeedsLoginReason(b.spec.Name))
	b.log.Warn("backend needs a sign-in; trying again later", "reason", nle.Reason, "in", wait)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		if reason := b.sup.stopReason(); reason == requestedRestartReason {
			b.sup.restartDueNow()
			b.setState(StateRestarting, reason)
		} else if reason != "" {
			b.setState(StateStopped, reason)
		}
		return false
	case <-timer.C:
		return true
	}
}

// NeedsLoginReason is the state reason of server in state needs_login.
func NeedsLoginReason(server string) string {
	return "sign-in required; run: mcphost auth login " + server
}

// stop ends the backend's current run, if any; it stays stopped.
func (b *backend) stop() {
	if !b.sup.stop() {
		b.setState(StateStopped, requestedStopReason)
	}
}

// ErrUnknownBackend is returned for a server name the router does not have.
var ErrUnknownBackend = errors.New("no server")

// RestartBackend reconnects the named backend now, from any state
// (including failed and stopped), and starts its restart window afresh.
func (r *Router) RestartBackend(name string) error {
	b, err := r.backends.named(name)
	if err != nil {
		return err
	}
	if r.ctx.Err() != nil {
		return errors.New("the proxy is shutting down")
	}
	b.sup.start(true)
	return nil
}

// StopBackend disconnects the named backend and keeps it stopped (no
// retries) until StartBackend or RestartBackend. Its tools, prompts and
// resources leave the catalog.
func (r *Router) StopBackend(name string) error {
	b, err := r.backends.named(name)
	if err != nil {
		return err
	}
	b.stop()
	return nil
}

// StartBackend starts the named backend if it is stopped or failed (or
// still stopping); it is a no-op when the backend is already starting,
// running or restarting.
func (r *Router) StartBackend(name string) error {
	b, err := r.backends.named(name)
	if err != nil {
		return err
	}
	if r.ctx.Err() != nil {
		return errors.New("the proxy is shutting down")
	}
	b.sup.start(false)
	return nil
}

// healthLoop checks the running backend every interval; after
// FailureThreshold consecutive failures it marks the backend unhealthy
// and closes conn, so that the restart policy takes over.
func (b *backend) healthLoop(ctx context.Context, conn transport.Conn) {
	h := b.spec.Health
	if h.Interval <= 0 {
		return
	}
	ticker := time.NewTicker(h.Interval)
	defer ticker.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		err := b.healthCheck(ctx)
		if ctx.Err() != nil {
			return
		}
		b.sup.checked(err != nil)
		if err == nil {
			failures = 0
			continue
		}
		failures++
		b.log.Debug("health check failed", "error", err, "failures", failures)
		if failures >= h.FailureThreshold {
			reason := fmt.Sprintf("health check failed %d times: %v", failures, err)
			b.log.Warn("backend unhealthy; restarting", "reason", reason)
			b.setState(StateUnhealthy, reason)
			b.closeConn(conn)
			return
		}
	}
}

// healthCheck sends one check. A backend that answers ping with
// method-not-found is checked with its first list method from then on
// (or, with none, counts as alive for answering at all).
func (b *backend) healthCheck(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, b.spec.Health.Timeout)
	defer cancel()
	method, caps := b.sup.healthProbe()
	_, err := b.call(ctx, method, nil)
	var rerr *rpcError
	if method != "ping" || !errors.As(err, &rerr) || rerr.code != jsonrpc.CodeMethodNotFound {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%s: no answer within %s", method, b.spec.Health.Timeout)
		}
		return err
	}
	for k := listKind(0); k < numLists; k++ {
		if hasListCapability(caps, k) {
			b.log.Debug("backend does not know ping; health checks use " + listMethods[k])
			b.sup.useHealthMethod(listMethods[k])
			_, err = b.call(ctx, listMethods[k], nil)
			return err
		}
	}
	return nil
}
