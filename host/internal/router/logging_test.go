package router

import (
	"strconv"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

const loggingCaps = `{"tools":{},"logging":{}}`

func TestLogMessageRouting(t *testing.T) {
	t.Parallel()
	alpha := newFakeServer([]string{tool("echo")})
	beta := newFakeServer([]string{tool("echo")})
	alpha.caps, beta.caps = loggingCaps, loggingCaps
	r := startRouter(t, Options{}, alpha.spec("alpha", true, 0), beta.spec("beta", false, 0))
	_, all := newClient(t, r, v0618, `{}`) // never sets a level: gets everything
	warn, warnSink := newClient(t, r, v0618, `{}`)
	warn.Handle([]byte(`{"jsonrpc":"2.0","id":"lvl","method":"logging/setLevel","params":{"level":"warning"}}`), nil)
	if resp := warnSink.response(t, `"lvl"`); jsonrpc.Get(resp, "result") == nil {
		t.Fatalf("setLevel: %s", resp)
	}
	uninit := &recSink{}
	u := r.NewSession(uninit)
	t.Cleanup(u.Close)

	tests := []struct {
		name       string
		server     *fakeServer
		params     string // without "data"
		wantLogger string
		wantWarn   bool // delivered to the session at level warning
	}{
		{"no logger gets the server name", alpha, `{"level":"error"}`, "alpha", true},
		{"logger gets the server prefixed", beta, `{"level":"warning","logger":"db"}`, "beta/db", true},
		{"empty logger is the server", alpha, `{"level":"emergency","logger":""}`, "alpha", true},
		{"below the session level", alpha, `{"level":"info","logger":"x"}`, "alpha/x", false},
		{"debug", beta, `{"level":"debug"}`, "beta", false},
		{"unknown level reaches everyone", beta, `{"level":"loud"}`, "beta", true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := strconv.Itoa(i)
			params, err := jsonrpc.Set([]byte(tc.params), "data", jsonrpc.String(data))
			if err != nil {
				t.Fatal(err)
			}
			tc.server.notify(string(jsonrpc.Notification("notifications/message", params)))
			mine := func(m recMsg) bool {
				got, _ := jsonrpc.GetString(m.msg, "params.data")
				return isNotification("notifications/message")(m) && got == data
			}
			got := all.waitFor(t, "the log message", mine)
			if logger, _ := jsonrpc.GetString(got, "params.logger"); logger != tc.wantLogger {
				t.Fatalf("logger = %q, want %q: %s", logger, tc.wantLogger, got)
			}
			if tc.wantWarn {
				warnSink.waitFor(t, "the log message", mine)
			} else {
				warnSink.never(t, "a message below its level", 50*time.Millisecond, mine)
			}
			if n := all.countOf(mine); n != 1 {
				t.Fatalf("delivered %d times", n)
			}
			uninit.never(t, "a log message before initializing", 10*time.Millisecond, mine)
		})
	}
}

func TestSetLevelForwardsMostVerbose(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("echo")})
	srv.caps = loggingCaps
	r := startRouter(t, Options{}, srv.spec("srv", true, 0))
	a, sa := newClient(t, r, v0618, `{}`)
	b, sb := newClient(t, r, v0618, `{}`)
	sessions := map[string]*Session{"a": a, "b": b}
	sinks := map[string]*recSink{"a": sa, "b": sb}

	lastForwarded := func() string {
		var level string
		for _, m := range srv.all() {
			if isMethod("logging/setLevel")(m) {
				level, _ = jsonrpc.GetString(m, "params.level")
			}
		}
		return level
	}
	steps := []struct {
		session, level string
		code           int    // error code, 0 for success
		want           string // level the backend was last told
	}{
		{"a", "error", 0, "error"},
		{"b", "debug", 0, "debug"},
		{"a", "warning", 0, "debug"},
		{"b", "bogus", jsonrpc.CodeInvalidParams, "debug"},
		{"b", "critical", 0, "warning"},
		{"close b", "", 0, ""},
		{"a", "info", 0, "info"},
	}
	for i, st := range steps {
		if st.session == "close b" {
			b.Close()
			continue
		}
		id := strconv.Itoa(i)
		sessions[st.session].Handle([]byte(`{"jsonrpc":"2.0","id":`+id+`,"method":"logging/setLevel","params":{"level":"`+st.level+`","_meta":{"k":1}}}`), nil)
		resp := sinks[st.session].response(t, id)
		if got := errorCode(resp); got != st.code {
			t.Fatalf("step %d: setLevel %s answered %s", i, st.level, resp)
		}
		if got := lastForwarded(); got != st.want {
			t.Fatalf("step %d: backend last told %q, want %q", i, got, st.want)
		}
	}
	if m := srv.find(isMethod("logging/setLevel")); string(jsonrpc.Get(m, "params._meta")) != `{"k":1}` {
		t.Fatalf("setLevel params changed beyond the level: %s", m)
	}

	// A reconnected backend is told the level again.
	before := srv.count(isMethod("logging/setLevel"))
	first := srv.current()
	first.hangUp()
	poll.Until(t, "the backend to reconnect and hear the level", func() bool {
		return srv.opens() == 2 && srv.count(isMethod("logging/setLevel")) == before+1
	})
	if got := lastForwarded(); got != "info" {
		t.Fatalf("after reconnect the backend was told %q, want info", got)
	}
}
