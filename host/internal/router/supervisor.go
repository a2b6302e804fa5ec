package router

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// supervisor is a backend's life: its state, what it was found to offer
// while running, the restarts and the health check counts, and the control
// of its runs by name (stop, start, restart). The backend's goroutines
// (run, attempts, healthLoop) drive it; it holds no connection and calls
// nothing out while locked (see doc.go for the lock order).
type supervisor struct {
	// wake starts a new run when idle.
	wake chan struct{}

	mu     sync.Mutex
	state  State
	reason string
	// What the backend offers, learnt at each connection; its lists count
	// only while it runs.
	lists      [numLists][][]byte
	serverInfo []byte
	caps       []byte
	// era is what the backend was found to speak, kept across reconnects.
	era probedEra
	// healthMethod is what health checks send: "ping", or a list method
	// once the backend answered ping with method-not-found, or
	// server/discover for a 2026-07-28 backend.
	healthMethod string
	restarts     int
	lastError    string
	// nextAttempt is when the next reconnect is due, while restarting.
	nextAttempt time.Time
	// restartTimes are the recent automatic restarts, for the window.
	restartTimes []time.Time
	// healthChecks and healthFailures count checks made and failed.
	healthChecks, healthFailures int
	// cancelRun ends the current run of attempts; active tells whether
	// one is under way; stopReq is why it was cancelled.
	cancelRun context.CancelFunc
	active    bool
	stopReq   string
}

func newSupervisor() *supervisor {
	return &supervisor{state: StateStarting, healthMethod: "ping", wake: make(chan struct{}, 1)}
}

// setState moves to s, reporting whether the state changed and whether it
// was running before.
func (v *supervisor) setState(s State, reason string) (changed, wasRunning bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	changed = v.state != s
	wasRunning = v.state == StateRunning
	v.state, v.reason = s, reason
	if s != StateRestarting && s != StateNeedsLogin {
		v.nextAttempt = time.Time{}
	}
	if s != StateRunning {
		v.lists = [numLists][][]byte{}
	}
	return changed, wasRunning
}

// capabilities are the backend's server capabilities, and whether it runs.
func (v *supervisor) capabilities() ([]byte, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.caps, v.state == StateRunning
}

func (v *supervisor) snapshot() ([numLists][][]byte, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.lists, v.state == StateRunning
}

// learnt records what a connection's handshake found the backend offers.
func (v *supervisor) learnt(caps, serverInfo []byte, lists [numLists][][]byte) {
	v.mu.Lock()
	v.caps, v.serverInfo, v.lists = caps, serverInfo, lists
	v.mu.Unlock()
}

// relisted replaces some lists, unless the backend stopped running
// meanwhile; it reports whether it did.
func (v *supervisor) relisted(fresh map[listKind][][]byte) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.state != StateRunning {
		return false
	}
	for k, items := range fresh {
		v.lists[k] = items
	}
	return true
}

func (v *supervisor) knownEra() probedEra {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.era
}

// spoke records the era the backend was found to speak; a known era
// comes with what health checks send to it.
func (v *supervisor) spoke(e probedEra, healthMethod string) {
	v.mu.Lock()
	v.era = e
	if healthMethod != "" {
		v.healthMethod = healthMethod
	}
	v.mu.Unlock()
}

// useHealthMethod makes health checks send method from now on.
func (v *supervisor) useHealthMethod(method string) {
	v.mu.Lock()
	v.healthMethod = method
	v.mu.Unlock()
}

// healthProbe is what the next health check sends, and the capabilities
// to fall back on.
func (v *supervisor) healthProbe() (method string, caps []byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.healthMethod, v.caps
}

// checked counts one health check.
func (v *supervisor) checked(failed bool) {
	v.mu.Lock()
	v.healthChecks++
	if failed {
		v.healthFailures++
	}
	v.mu.Unlock()
}

// status fills in the supervisor's part of a BackendStatus.
func (v *supervisor) status(st *BackendStatus) {
	v.mu.Lock()
	defer v.mu.Unlock()
	st.State, st.Reason = v.state, v.reason
	st.Tools, st.Prompts = len(v.lists[listTools]), len(v.lists[listPrompts])
	st.Resources, st.Templates = len(v.lists[listResources]), len(v.lists[listTemplates])
	st.Restarts, st.LastError, st.NextAttempt = v.restarts, v.lastError, v.nextAttempt
	st.HealthChecks, st.HealthFailures = v.healthChecks, v.healthFailures
}

// beginRun marks a run of attempts under way, ended by cancel.
func (v *supervisor) beginRun(cancel context.CancelFunc) {
	v.mu.Lock()
	v.cancelRun, v.active, v.stopReq = cancel, true, ""
	v.mu.Unlock()
}

// endRun marks the run over, reporting whether a stop was asked for that
// the run's own end (failed) did not yet show.
func (v *supervisor) endRun() (stopPending bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.active = false
	v.cancelRun = nil
	return v.stopReq == requestedStopReason && v.state != StateStopped
}

// stopReason is why the current run was cancelled ("" when it was not,
// or the router is closing).
func (v *supervisor) stopReason() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.stopReq
}

// stop ends the current run, if any, reporting false when there was none
// (the caller then marks the backend stopped).
func (v *supervisor) stop() bool {
	v.mu.Lock()
	select {
	case <-v.wake: // a start not yet taken up is void
	default:
	}
	cancel, active := v.cancelRun, v.active
	if active {
		v.stopReq = requestedStopReason
	}
	v.mu.Unlock()
	if active {
		cancel()
	}
	return active
}

// start begins a new run unless one is under way; with restart set, a
// run under way is ended and started again. Either way the restart
// window starts afresh.
func (v *supervisor) start(restart bool) {
	v.mu.Lock()
	v.restartTimes = nil
	if v.active {
		if restart {
			v.stopReq = requestedRestartReason
			v.restarts++
			cancel := v.cancelRun
			v.signalWake()
			v.mu.Unlock()
			cancel()
			return
		}
		switch {
		case v.stopReq == requestedStopReason:
			// A stop still under way becomes a restart.
			v.stopReq = requestedRestartReason
			v.signalWake()
		case v.state == StateFailed:
			// The run is just ending on its own.
			v.signalWake()
		}
		v.mu.Unlock()
		return
	}
	if restart {
		v.restarts++
	}
	v.signalWake()
	v.mu.Unlock()
}

func (v *supervisor) signalWake() {
	select {
	case v.wake <- struct{}{}:
	default:
	}
}

// connectionEnded records why a connection that opened at started ended
// (err, or the health check's reason when that closed it) and decides what
// comes next: failReason is set after too many restarts within the window;
// otherwise wait is the delay before the next attempt, made from delay,
// which is started over (as used) when the connection ran for a while.
func (v *supervisor) connectionEnded(err error, pol RestartPolicy, started time.Time, delay time.Duration) (failReason string, wait, used time.Duration, cause error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.state == StateUnhealthy {
		err = errors.New(v.reason)
	}
	v.lastError = reasonOf(err)
	now := time.Now()
	recent := v.restartTimes[:0]
	for _, t := range v.restartTimes {
		if now.Sub(t) < pol.Window {
			recent = append(recent, t)
		}
	}
	v.restartTimes = recent
	if len(recent) >= pol.MaxRestarts {
		return fmt.Sprintf(tooManyRestartsReasonForm, len(recent), pol.Window), 0, delay, err
	}
	if now.Sub(started) > pol.MaxDelay+pol.InitialDelay {
		// It ran for a while: start the backoff over.
		delay = pol.InitialDelay
	}
	wait = pol.jittered(delay)
	v.nextAttempt = now.Add(wait)
	return "", wait, delay, err
}

// needsLogin records an attempt that failed for want of a sign-in: its
// error, and when the next try is due. It is no restart.
func (v *supervisor) needsLogin(lastError string, next time.Time) {
	v.mu.Lock()
	v.lastError = lastError
	v.nextAttempt = next
	v.mu.Unlock()
}

// restarting counts an automatic reconnect as it begins.
func (v *supervisor) restarting() {
	v.mu.Lock()
	v.restarts++
	v.restartTimes = append(v.restartTimes, time.Now())
	v.mu.Unlock()
}

// restartDueNow marks a requested restart as due at once.
func (v *supervisor) restartDueNow() {
	v.mu.Lock()
	v.nextAttempt = time.Now()
	v.mu.Unlock()
}
