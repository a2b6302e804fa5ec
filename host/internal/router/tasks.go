package router

import (
	"bytes"
	"context"
	"strconv"
	"sync"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/translator"
)

// relatedTaskKey is the _meta member that ties a message to a task.
const relatedTaskKey = "io.modelcontextprotocol/related-task"

var (
	relatedTaskPath = jsonrpc.EscapePath(relatedTaskKey)
	// resultRelatedTaskPath is where a result names its task.
	resultRelatedTaskPath = "result._meta." + relatedTaskPath + ".taskId"
)

// taskRoute says where a task the proxy exposed lives, and whose it is.
type taskRoute struct {
	backend  *backend
	original string
	session  *Session
	// progressID is the backend's progress token for the request that
	// created the task; clientToken is the client's, or nil.
	progressID  int64
	clientToken []byte
}

type taskKey struct {
	backend  *backend
	original string
}

type progressKey struct {
	backend *backend
	id      int64
}

// taskTable maps the opaque task ids the proxy exposes to backend tasks,
// and rewrites the ids in what a backend sends about its tasks (results,
// status, progress, related-task _meta) into the exposed ones. Its lock is
// a leaf: messages are delivered after it is released.
type taskTable struct {
	mu     sync.Mutex
	next   int64
	routes map[string]*taskRoute  // exposed id → task
	byKey  map[taskKey]string     // backend task → exposed id
	tokens map[progressKey]string // progress token of a task's request → exposed id
}

func newTaskTable() taskTable {
	return taskTable{routes: map[string]*taskRoute{}, byKey: map[taskKey]string{}, tokens: map[progressKey]string{}}
}

// register exposes a task a backend created for session s. A backend task
// id seen again (a restarted backend reusing ids) gets a fresh exposed id.
func (t *taskTable) register(b *backend, original string, s *Session, p *pending) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := taskKey{b, original}
	if old, ok := t.byKey[key]; ok {
		t.removeLocked(old)
	}
	t.next++
	exposed := "mcphost-task-" + strconv.FormatInt(t.next, 10)
	rt := &taskRoute{backend: b, original: original, session: s}
	if p != nil && p.clientToken != nil {
		// Progress of a task-augmented request goes on after its result.
		rt.progressID, rt.clientToken = p.started, p.clientToken
		t.tokens[progressKey{b, p.started}] = exposed
	}
	t.routes[exposed], t.byKey[key] = rt, exposed
	return exposed
}

func (t *taskTable) removeLocked(exposed string) {
	rt, ok := t.routes[exposed]
	if !ok {
		return
	}
	delete(t.routes, exposed)
	delete(t.byKey, taskKey{rt.backend, rt.original})
	if rt.clientToken != nil {
		delete(t.tokens, progressKey{rt.backend, rt.progressID})
	}
}

// lookup finds an exposed task that belongs to session s.
func (t *taskTable) lookup(exposed string, s *Session) (taskRoute, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rt, ok := t.routes[exposed]
	if !ok || rt.session != s {
		return taskRoute{}, false
	}
	return *rt, true
}

// expose finds the exposed id and owner of a backend's task.
func (t *taskTable) expose(b *backend, original string) (string, *Session, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	exposed, ok := t.byKey[taskKey{b, original}]
	if !ok {
		return "", nil, false
	}
	return exposed, t.routes[exposed].session, true
}

// progress finds where progress with a backend token of a task goes.
func (t *taskTable) progress(b *backend, id int64) (*Session, []byte, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	exposed, ok := t.tokens[progressKey{b, id}]
	if !ok {
		return nil, nil, false
	}
	rt := t.routes[exposed]
	return rt.session, rt.clientToken, true
}

// finished stops carrying progress for a task in a terminal state.
func (t *taskTable) finished(exposed string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if rt, ok := t.routes[exposed]; ok && rt.clientToken != nil {
		delete(t.tokens, progressKey{rt.backend, rt.progressID})
		rt.clientToken = nil
	}
}

// forget drops every task of a closed session.
func (t *taskTable) forget(s *Session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for exposed, rt := range t.routes {
		if rt.session == s {
			t.removeLocked(exposed)
		}
	}
}

// exposeIDs rewrites the backend task ids in a response to a forwarded
// request into exposed ones, registering the task a task-augmented
// tools/call created.
func (t *taskTable) exposeIDs(b *backend, p *pending, msg []byte) []byte {
	switch p.method {
	case "tools/call", "tasks/get", "tasks/cancel", "tasks/result":
	default:
		return msg
	}
	// Each lookup walks only the result's members, skipping its content.
	switch p.method {
	case "tools/call":
		if original, ok := jsonrpc.GetString(msg, "result.task.taskId"); ok {
			exposed := t.register(b, original, p.session, p)
			if edited, err := jsonrpc.Set(msg, "result.task.taskId", jsonrpc.String(exposed)); err == nil {
				msg = edited
			}
		}
	case "tasks/get", "tasks/cancel":
		msg = t.exposeAt(b, msg, "result.taskId")
	}
	return t.exposeAt(b, msg, resultRelatedTaskPath)
}

// exposeAt rewrites the backend task id at path, when there is one the
// proxy knows.
func (t *taskTable) exposeAt(b *backend, msg []byte, path string) []byte {
	original, ok := jsonrpc.GetString(msg, path)
	if !ok {
		return msg
	}
	exposed, _, ok := t.expose(b, original)
	if !ok {
		return msg
	}
	if edited, err := jsonrpc.Set(msg, path, jsonrpc.String(exposed)); err == nil {
		return edited
	}
	return msg
}

// relatedNotification finds the session owning the task a backend
// notification or request names in params._meta, and rewrites the id.
func (t *taskTable) relatedNotification(b *backend, msg []byte) (*Session, []byte, bool) {
	if !bytes.Contains(msg, []byte(relatedTaskKey)) {
		return nil, msg, false
	}
	path := "params._meta." + relatedTaskPath + ".taskId"
	original, ok := jsonrpc.GetString(msg, path)
	if !ok {
		return nil, msg, false
	}
	exposed, owner, ok := t.expose(b, original)
	if !ok {
		return nil, msg, false
	}
	edited, err := jsonrpc.Set(msg, path, jsonrpc.String(exposed))
	if err != nil {
		return nil, msg, false
	}
	return owner, edited, true
}

// onStatus carries a backend's task status notification, under the
// exposed id, to the session that created the task.
func (t *taskTable) onStatus(b *backend, msg []byte) {
	original, ok := jsonrpc.GetString(msg, "params.taskId")
	if !ok {
		return
	}
	exposed, owner, ok := t.expose(b, original)
	if !ok {
		return
	}
	switch gjson.GetBytes(msg, "params.status").Str {
	case "completed", "failed", "cancelled":
		t.finished(exposed)
	}
	out, err := jsonrpc.Set(msg, "params.taskId", jsonrpc.String(exposed))
	if err != nil {
		return
	}
	if _, edited, ok := t.relatedNotification(b, out); ok {
		out = edited
	}
	owner.deliverFrom(b, nil, "notifications/tasks/status", translator.KindNotification, out)
}

// onProgress carries progress for a task-augmented request whose
// result (the CreateTaskResult) has already gone back.
func (t *taskTable) onProgress(b *backend, id int64, msg []byte) {
	s, token, ok := t.progress(b, id)
	if !ok {
		return
	}
	if out, err := jsonrpc.Set(msg, "params.progressToken", token); err == nil {
		s.deliverFrom(b, nil, "notifications/progress", translator.KindNotification, out)
	}
}

// forwardTask routes tasks/get, tasks/result and tasks/cancel by the
// exposed task id to the backend that owns the task.
func (s *Session) forwardTask(reply replyStream, id []byte, method string, params []byte) {
	s.markInitialized()
	exposed, _ := jsonrpc.GetString(params, "taskId")
	rt, ok := s.router.tasks.lookup(exposed, s)
	if !ok {
		s.respond(reply, jsonrpc.Error(id, jsonrpc.CodeInvalidParams, "unknown task: "+string(jsonrpc.String(exposed)), nil))
		return
	}
	s.forward(reply, id, method, params, "taskId", route{backend: rt.backend, original: rt.original})
}

// listTasks answers tasks/list with this session's tasks from every running
// backend that supports tasks, each backend's list read to its end.
func (s *Session) listTasks(reply replyStream, id, params []byte) {
	s.markInitialized()
	if c := gjson.GetBytes(params, "cursor"); c.Exists() && c.Str != "" {
		s.respond(reply, jsonrpc.Error(id, jsonrpc.CodeInvalidParams, "unknown cursor", nil))
		return
	}
	var targets []*backend
	for _, b := range s.router.backends.all() {
		caps, running := b.sup.capabilities()
		ok := running && gjson.GetBytes(caps, "tasks").Exists()
		if ok {
			targets = append(targets, b)
		}
	}
	s.router.spawn(func(ctx context.Context) {
		found := make([][][]byte, len(targets))
		var wg sync.WaitGroup
		for i, b := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				found[i] = s.backendTasks(ctx, b)
			}()
		}
		wg.Wait()
		var items [][]byte
		for _, f := range found {
			items = append(items, f...)
		}
		s.respond(reply, jsonrpc.Result(id, listResult("tasks", items)))
	})
}

// backendTasks lists one backend's tasks that belong to the session, under
// their exposed ids.
func (s *Session) backendTasks(ctx context.Context, b *backend) [][]byte {
	ctx, cancel := context.WithTimeout(ctx, b.spec.Timeout)
	defer cancel()
	var items [][]byte
	cursor := ""
	for page := 0; page <= 1000; page++ {
		params := []byte(`{}`)
		if cursor != "" {
			params = []byte(`{"cursor":` + string(jsonrpc.String(cursor)) + `}`)
		}
		res, err := b.call(ctx, "tasks/list", params)
		if err != nil {
			b.log.Debug("tasks/list", "error", err)
			return items
		}
		gjson.GetBytes(res, "tasks").ForEach(func(_, v gjson.Result) bool {
			exposed, owner, ok := s.router.tasks.expose(b, v.Get("taskId").Str)
			if !ok || owner != s {
				return true // not a task of this session
			}
			if item, err := jsonrpc.Set([]byte(v.Raw), "taskId", jsonrpc.String(exposed)); err == nil {
				items = append(items, item)
			}
			return true
		})
		next := gjson.GetBytes(res, "nextCursor").Str
		if next == "" || next == cursor {
			break
		}
		cursor = next
	}
	return items
}
