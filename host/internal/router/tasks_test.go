package router

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

const tasksCaps = `{"tools":{},"tasks":{"list":{},"cancel":{},"requests":{"tools":{"call":{}}}}}`

// taskEnv is a router with a tasks backend ("srv"), a backend without
// tasks ("plain"), and two sessions; a has created one task.
type taskEnv struct {
	r       *Router
	srv     *fakeServer
	plain   *fakeServer
	a, b    *Session
	sa, sb  *recSink
	exposed string // a's task, as the proxy exposes it; "bt-1" at srv
}

func newTaskEnv(t *testing.T) *taskEnv {
	t.Helper()
	e := &taskEnv{srv: newFakeServer([]string{tool("task"), tool("ask")}), plain: newFakeServer([]string{tool("echo")})}
	e.srv.caps = tasksCaps
	e.r = startRouter(t, Options{}, e.srv.spec("srv", true, 0), e.plain.spec("plain", true, 0))
	e.a, e.sa = newClient(t, e.r, "2025-11-25", urlElicitCaps)
	e.b, e.sb = newClient(t, e.r, "2025-11-25", urlElicitCaps)
	e.a.Handle([]byte(`{"jsonrpc":"2.0","id":"create","method":"tools/call","params":{"name":"mcp__proxy__srv__task","arguments":{},`+
		`"task":{"ttl":60000},"_meta":{"progressToken":"tok-a"}}}`), nil)
	resp := e.sa.response(t, `"create"`)
	e.exposed, _ = jsonrpc.GetString(resp, "result.task.taskId")
	if e.exposed == "" || strings.Contains(e.exposed, "bt-1") {
		t.Fatalf("CreateTaskResult passed on as %s", resp)
	}
	if got, _ := jsonrpc.GetString(resp, "result.task.status"); got != "working" {
		t.Fatalf("other task members changed: %s", resp)
	}
	call := e.srv.waitReceived(t, "the task call", isToolCall("task"))
	if string(jsonrpc.Get(call, "params.task")) != `{"ttl":60000}` {
		t.Fatalf("params.task reached the backend as %s", call)
	}
	return e
}

func (e *taskEnv) request(t *testing.T, s *Session, sink *recSink, id, method, params string) []byte {
	t.Helper()
	s.Handle([]byte(`{"jsonrpc":"2.0","id":`+id+`,"method":"`+method+`","params":`+params+`}`), nil)
	return sink.response(t, id)
}

func TestTasks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T, e *taskEnv)
	}{
		{"tasks/get and tasks/cancel map the id both ways", func(t *testing.T, e *taskEnv) {
			for _, method := range []string{"tasks/get", "tasks/cancel"} {
				resp := e.request(t, e.a, e.sa, `"g-`+method[6:]+`"`, method, `{"taskId":"`+e.exposed+`"}`)
				if got, _ := jsonrpc.GetString(resp, "result.received.taskId"); got != "bt-1" {
					t.Fatalf("%s reached the backend with taskId %q: %s", method, got, resp)
				}
				if got, _ := jsonrpc.GetString(resp, "result.taskId"); got != e.exposed {
					t.Fatalf("%s answered taskId %q, want %q", method, got, e.exposed)
				}
			}
		}},
		{"tasks/result maps the related-task _meta", func(t *testing.T, e *taskEnv) {
			resp := e.request(t, e.a, e.sa, `"res"`, "tasks/result", `{"taskId":"`+e.exposed+`"}`)
			if got := gjson.GetBytes(resp, "result._meta.io\\.modelcontextprotocol/related-task.taskId").Str; got != e.exposed {
				t.Fatalf("related-task id %q, want %q: %s", got, e.exposed, resp)
			}
			if got, _ := jsonrpc.GetString(resp, "result.content.0.text"); got != "done" {
				t.Fatalf("result changed: %s", resp)
			}
		}},
		{"unknown and other sessions' tasks are invalid params", func(t *testing.T, e *taskEnv) {
			for _, c := range []struct {
				s      *Session
				sink   *recSink
				taskID string
			}{{e.b, e.sb, e.exposed}, {e.a, e.sa, "bt-1"}, {e.a, e.sa, "nope"}} {
				for _, method := range []string{"tasks/get", "tasks/result", "tasks/cancel"} {
					if resp := e.request(t, c.s, c.sink, `"u"`, method, `{"taskId":"`+c.taskID+`"}`); errorCode(resp) != jsonrpc.CodeInvalidParams {
						t.Fatalf("%s of %q answered %s", method, c.taskID, resp)
					}
				}
			}
			if n := e.srv.count(isMethod("tasks/get")); n != 0 {
				t.Fatalf("the backend got %d tasks/get", n)
			}
		}},
		{"tasks/list merges the session's own tasks", func(t *testing.T, e *taskEnv) {
			resp := e.request(t, e.a, e.sa, `"la"`, "tasks/list", `{}`)
			var ids []string
			gjson.GetBytes(resp, "result.tasks.#.taskId").ForEach(func(_, v gjson.Result) bool {
				ids = append(ids, v.Str)
				return true
			})
			if !slices.Equal(ids, []string{e.exposed}) || jsonrpc.Get(resp, "result.nextCursor") != nil {
				t.Fatalf("tasks/list = %s, want just %q", resp, e.exposed)
			}
			if n := e.srv.count(isMethod("tasks/list")); n != 2 {
				t.Fatalf("the backend got %d tasks/list, want both pages read", n)
			}
			if resp := e.request(t, e.b, e.sb, `"lb"`, "tasks/list", `{}`); string(jsonrpc.Get(resp, "result")) != `{"tasks":[]}` {
				t.Fatalf("another session's tasks/list = %s", resp)
			}
			if n := e.plain.count(isMethod("tasks/list")); n != 0 {
				t.Fatalf("a backend without tasks got %d tasks/list", n)
			}
			if resp := e.request(t, e.a, e.sa, `"lc"`, "tasks/list", `{"cursor":"more"}`); errorCode(resp) != jsonrpc.CodeInvalidParams {
				t.Fatalf("tasks/list with a cursor the proxy never gave: %s", resp)
			}
		}},
		{"status notifications go to the task's session", func(t *testing.T, e *taskEnv) {
			e.srv.notify(`{"jsonrpc":"2.0","method":"notifications/tasks/status","params":{"taskId":"bt-1","status":"completed"}}`)
			e.srv.notify(`{"jsonrpc":"2.0","method":"notifications/tasks/status","params":{"taskId":"stranger","status":"completed"}}`)
			status := isNotification("notifications/tasks/status")
			got := e.sa.waitFor(t, "tasks/status", status)
			if string(jsonrpc.Get(got, "params")) != `{"taskId":"`+e.exposed+`","status":"completed"}` {
				t.Fatalf("status delivered as %s", got)
			}
			e.sb.never(t, "another session's task status", 50*time.Millisecond, status)
			if n := e.sa.countOf(status); n != 1 {
				t.Fatalf("got %d status notifications, want 1", n)
			}
		}},
		{"progress goes on after the CreateTaskResult", func(t *testing.T, e *taskEnv) {
			got := e.sa.waitFor(t, "progress", isNotification("notifications/progress"))
			if string(jsonrpc.Get(got, "params")) != `{"progressToken":"tok-a","progress":1}` {
				t.Fatalf("progress delivered as %s", got)
			}
		}},
		{"a task's input request goes to the task's session", func(t *testing.T, e *taskEnv) {
			e.b.Handle([]byte(`{"jsonrpc":"2.0","id":"p","method":"ping"}`), nil) // b is the more recently active
			e.sb.response(t, `"p"`)
			e.srv.notify(`{"jsonrpc":"2.0","id":"r-1","method":"elicitation/create","params":{"message":"m","requestedSchema":{"type":"object"},` +
				`"_meta":{"io.modelcontextprotocol/related-task":{"taskId":"bt-1"}}}}`)
			elicit := isNotification("elicitation/create")
			req := e.sa.waitFor(t, "elicitation/create", elicit)
			if got := gjson.GetBytes(req, "params._meta.io\\.modelcontextprotocol/related-task.taskId").Str; got != e.exposed {
				t.Fatalf("related-task id %q, want %q", got, e.exposed)
			}
			e.sb.never(t, "another session's task input", 30*time.Millisecond, elicit)
		}},
		{"a task's log message goes to the task's session", func(t *testing.T, e *taskEnv) {
			e.srv.notify(`{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"x",` +
				`"_meta":{"io.modelcontextprotocol/related-task":{"taskId":"bt-1"}}}}`)
			msg := isNotification("notifications/message")
			got := e.sa.waitFor(t, "the log message", msg)
			if string(jsonrpc.Get(got, "params")) != `{"level":"info","data":"x","_meta":{"io.modelcontextprotocol/related-task":{"taskId":"`+e.exposed+`"}},"logger":"srv"}` {
				t.Fatalf("log message delivered as %s", got)
			}
			e.sb.never(t, "another session's task log", 30*time.Millisecond, msg)
		}},
		{"closing the session forgets its tasks", func(t *testing.T, e *taskEnv) {
			e.a.Close()
			e.r.tasks.mu.Lock()
			n := len(e.r.tasks.routes) + len(e.r.tasks.byKey) + len(e.r.tasks.tokens)
			e.r.tasks.mu.Unlock()
			if n != 0 {
				t.Fatalf("%d task entries left after Close", n)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newTaskEnv(t))
		})
	}
}

func TestTasksCapability(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		caps  []string // of each backend; "" for the default
		tasks string   // the proxy's tasks capability; "" for none
	}{
		{"no backend has tasks", []string{"", ""}, ""},
		{"one backend has tasks", []string{"", tasksCaps}, `{"list":{},"cancel":{},"requests":{"tools":{"call":{}}}}`},
		{"union of partial ones", []string{`{"tasks":{"list":{}}}`, `{"tasks":{"cancel":{}}}`}, `{"list":{},"cancel":{}}`},
		{"bare tasks", []string{`{"tasks":{}}`}, `{}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var specs []BackendSpec
			for i, c := range tc.caps {
				f := newFakeServer()
				f.caps = c
				specs = append(specs, f.spec(string(rune('a'+i)), true, 0))
			}
			r := startRouter(t, Options{}, specs...)
			sink := &recSink{}
			s := r.NewSession(sink)
			t.Cleanup(s.Close)
			s.Handle([]byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}}`), nil)
			got := string(jsonrpc.Get(sink.response(t, "1"), "result.capabilities.tasks"))
			if got != tc.tasks {
				t.Fatalf("tasks capability %q, want %q", got, tc.tasks)
			}
		})
	}
}

func TestExposeTaskIDsLeavesOtherResults(t *testing.T) {
	t.Parallel()
	r := New(Options{}, nil)
	b := &backend{spec: BackendSpec{Name: "srv"}}
	tests := []struct{ name, method, msg string }{
		{"tool result", "tools/call", `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}}`},
		{"mentions task in text", "tools/call", `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"task"}]}}`},
		{"other method with a task", "prompts/get", `{"jsonrpc":"2.0","id":1,"result":{"task":{"taskId":"x"}}}`},
		{"unknown related task", "tasks/result", `{"jsonrpc":"2.0","id":1,"result":{"_meta":{"io.modelcontextprotocol/related-task":{"taskId":"x"}}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := []byte(tc.msg)
			out := r.tasks.exposeIDs(b, &pending{method: tc.method}, in)
			if &out[0] != &in[0] || string(out) != tc.msg {
				t.Fatalf("result copied or changed: %s", out)
			}
		})
	}
}
