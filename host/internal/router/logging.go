package router

import (
	"context"
	"sync"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/translator"
)

// logLevels are the MCP log levels, most verbose first.
var logLevels = [...]string{"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"}

// levelRank is a level's position in logLevels, or -1 for an unknown one.
func levelRank(level string) int {
	for i, l := range logLevels {
		if l == level {
			return i
		}
	}
	return -1
}

// admitsLog says whether the session wants a log message of the given rank:
// everything until it sets a level, and messages of unknown level always.
func (s *Session) admitsLog(rank int) bool {
	set := s.logLevel.Load() // rank+1; 0 until logging/setLevel
	return set == 0 || rank < 0 || int32(rank) >= set-1
}

// onLogMessage tags a backend's log message with the server it came from
// and delivers it to the sessions whose level admits it (only to the task's
// session when it belongs to a task).
func (r *Router) onLogMessage(b *backend, msg []byte) {
	logger := b.spec.Name
	if l, ok := jsonrpc.GetString(msg, "params.logger"); ok && l != "" {
		logger += "/" + l
	}
	out, err := jsonrpc.Set(msg, "params.logger", jsonrpc.String(logger))
	if err != nil {
		return
	}
	level, _ := jsonrpc.GetString(out, "params.level")
	rank := levelRank(level)
	if owner, edited, ok := r.tasks.relatedNotification(b, out); ok {
		if owner.isInitialized() && owner.admitsLog(rank) {
			owner.deliverFrom(b, nil, "notifications/message", translator.KindNotification, edited)
		}
		return
	}
	var latest *pending
	for _, s := range r.sessions.live() {
		switch {
		case s.isInitialized() && s.admitsLog(rank):
			s.deliverFrom(b, nil, "notifications/message", translator.KindNotification, out)
		case !s.version.era().stateful() && s.logLevel.Load() > 0 && s.admitsLog(rank):
			// 2026-07-28: logs only on the stream of a request that asked
			// for them; the backend's newest open request is the best guess.
			if latest == nil {
				latest = b.conn.latestClientRequest()
			}
			if latest != nil && latest.session == s {
				s.deliverFrom(b, latest.reply, "notifications/message", translator.KindNotification, out)
			}
		}
	}
}

// setLevel records the session's log level and forwards the most verbose
// level any session asked for to every running backend, so that no session
// misses messages it asked for; each session's own level filters what it
// gets. Forwarding is serialized, so that the last level a backend hears
// is computed from every level recorded so far.
func (s *Session) setLevel(reply replyStream, id, params []byte) {
	level, _ := jsonrpc.GetString(params, "level")
	rank := levelRank(level)
	if rank < 0 {
		s.respond(reply, jsonrpc.Error(id, jsonrpc.CodeInvalidParams, "invalid log level: "+string(jsonrpc.Get(params, "level")), nil))
		return
	}
	s.logLevel.Store(int32(rank) + 1)
	s.router.spawn(func(ctx context.Context) {
		s.router.levels.push(ctx, params)
		s.respond(reply, jsonrpc.Result(id, []byte(`{}`)))
	})
}

// levelForwarder forwards the most verbose log level any session asked
// for to the running initialize-era backends. mu serializes forwarding, so
// that the last level a backend hears is computed from every level
// recorded so far; it is held across the calls to the backends (doc.go).
type levelForwarder struct {
	mu       sync.Mutex
	sessions *sessionSet
	backends *backendSet
}

// lowest is the most verbose level any live session asked for, or ""
// when none has asked: backends must send at least that much.
func (f *levelForwarder) lowest() string {
	lowest := int32(0)
	for _, s := range f.sessions.live() {
		if set := s.logLevel.Load(); set != 0 && (lowest == 0 || set < lowest) {
			lowest = set
		}
	}
	if lowest == 0 {
		return ""
	}
	return logLevels[lowest-1]
}

// push forwards the most verbose level any session asked for to every
// running initialize-era backend, in params (the client's
// logging/setLevel params, or nil) with the level replaced.
func (f *levelForwarder) push(ctx context.Context, params []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	level := f.lowest()
	if level == "" {
		return
	}
	if params == nil {
		params = []byte(`{}`)
	}
	fwd, err := jsonrpc.Set(params, "level", jsonrpc.String(level))
	if err != nil {
		return
	}
	var wg sync.WaitGroup
	for _, b := range f.backends.all() {
		if b.status().State != StateRunning || !b.version.era().stateful() {
			// A 2026-07-28 backend gets the level in each request's _meta.
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, b.spec.Timeout)
			defer cancel()
			if _, err := b.call(ctx, "logging/setLevel", fwd); err != nil {
				b.log.Debug("logging/setLevel", "error", err)
			}
		}()
	}
	wg.Wait()
}
