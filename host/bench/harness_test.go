package bench

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"
)

// These tests keep the harness honest and run with `go test ./...`: they
// take well under a second and start no mcphost.

func TestMember(t *testing.T) {
	msg := []byte(` { "id" : 7, "a\"b": "x\\", "params": {"name":"echo","arguments":{"message":"say \"hi\"","n":[1,{"k":"]"}]}}, "z": null }`)
	for _, tc := range []struct {
		obj  []byte
		key  string
		want string
	}{
		{msg, "id", `7`},
		{msg, "z", `null`},
		{msg, "params", `{"name":"echo","arguments":{"message":"say \"hi\"","n":[1,{"k":"]"}]}}`},
		{member(msg, "params"), "name", `"echo"`},
		{member(member(msg, "params"), "arguments"), "message", `"say \"hi\""`},
		{member(member(msg, "params"), "arguments"), "n", `[1,{"k":"]"}]`},
		{msg, "missing", ``},
		{[]byte(`[1,2]`), "id", ``},
	} {
		if got := member(tc.obj, tc.key); string(got) != tc.want {
			t.Errorf("member(%s, %q) = %s, want %s", tc.obj, tc.key, got, tc.want)
		}
	}
}

func TestParseEnvelope(t *testing.T) {
	for _, tc := range []struct {
		msg                     string
		id, method              string
		response, result, error bool
	}{
		{msg: `{"jsonrpc":"2.0","id":3,"method":"ping"}`, id: "3", method: `"ping"`},
		{msg: `{"jsonrpc":"2.0","method":"notifications/initialized"}`, method: `"notifications/initialized"`},
		{msg: `{"jsonrpc":"2.0","id":"a","result":{"text":"}"}}`, id: `"a"`, response: true, result: true},
		{msg: `{"jsonrpc":"2.0","id":4,"error":{"code":-32601,"message":"no"}}`, id: "4", response: true, error: true},
	} {
		e, err := parseEnvelope([]byte(tc.msg))
		if err != nil {
			t.Fatalf("%s: %v", tc.msg, err)
		}
		if string(e.id) != tc.id || string(e.method) != tc.method || e.isResponse() != tc.response ||
			(e.result != nil) != tc.result || (e.err != nil) != tc.error {
			t.Errorf("%s: got id %s method %s response %v result %s error %s", tc.msg, e.id, e.method, e.isResponse(), e.result, e.err)
		}
	}
	for _, bad := range []string{``, `{`, `{"id":}`, `{"id":1,}`, `{"a":"unterminated}`, `{"a":1 "b":2}`} {
		if _, err := parseEnvelope([]byte(bad)); err == nil {
			t.Errorf("parseEnvelope(%q) succeeded, want an error", bad)
		}
	}
}

func TestEchoServer(t *testing.T) {
	legacy, pinned, modern := &echoServer{}, &echoServer{pinned: v20251125}, &echoServer{pinned: v20260728}
	init := func(v string) string {
		return `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + v + `","capabilities":{}}}`
	}
	call := `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo","arguments":{"message":"a\"b\\u00e9"}}}`
	for _, tc := range []struct {
		name string
		s    *echoServer
		msg  string
		want string
	}{
		{"asked version", legacy, init(v20250618), `{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18","capabilities":` + echoCapabilities + `,"serverInfo":` + echoServerInfo + `}}`},
		{"unknown version", legacy, init("2099-01-01"), `"protocolVersion":"2025-11-25"`},
		{"pinned version", pinned, init(v20241105), `"protocolVersion":"2025-11-25"`},
		{"modern refuses initialize", modern, init(v20251125), `"error":{"code":-32601`},
		{"legacy has no discover", legacy, `{"jsonrpc":"2.0","id":2,"method":"server/discover","params":{}}`, `"error":{"code":-32601`},
		{"modern discover", modern, `{"jsonrpc":"2.0","id":2,"method":"server/discover","params":{}}`, `"supportedVersions":["2026-07-28"]`},
		{"echo copies the raw string", legacy, call, `{"jsonrpc":"2.0","id":9,"result":{"content":[{"type":"text","text":"a\"b\\u00e9"}]}}`},
		{"modern echo is stamped", modern, call, `{"jsonrpc":"2.0","id":9,"result":{"content":[{"type":"text","text":"a\"b\\u00e9"}],"resultType":"complete"}}`},
		{"modern list is cacheable", modern, `{"jsonrpc":"2.0","id":3,"method":"prompts/list"}`, `{"prompts":[],"ttlMs":0,"cacheScope":"public","resultType":"complete"}`},
		{"ping", legacy, `{"jsonrpc":"2.0","id":"p","method":"ping"}`, `{"jsonrpc":"2.0","id":"p","result":{}}`},
		{"unknown tool", legacy, `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"add","arguments":{}}}`, `"code":-32602`},
		{"unknown method", legacy, `{"jsonrpc":"2.0","id":6,"method":"nope"}`, `"code":-32601`},
		{"notification", legacy, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, ``},
	} {
		e, err := parseEnvelope([]byte(tc.msg))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := string(tc.s.answer(nil, e))
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%s: answer = %s, want it to contain %s", tc.name, got, tc.want)
		}
	}
}

func TestCheckResult(t *testing.T) {
	spec := newCallSpec("echo", "message", payloadOf(50), false)
	req := spec.appendCall(nil, 258)
	e, err := parseEnvelope(req)
	if err != nil {
		t.Fatalf("the request %s: %v", req, err)
	}
	resp := (&echoServer{}).answer(nil, e)
	if err := spec.checkResult(resp, 258); err != nil {
		t.Errorf("the echo's answer: %v", err)
	}
	if err := spec.checkResult(resp, 259); err == nil {
		t.Error("an answer to another id passed")
	}
	short := newCallSpec("echo", "message", payloadOf(51), false)
	if err := short.checkResult(resp, 258); err == nil {
		t.Error("an answer without the payload passed")
	}
	if err := spec.checkResult([]byte(`{"jsonrpc":"2.0","id":258,"error":{"code":1,"message":"`+string(spec.payload)+`"}}`), 258); err == nil {
		t.Error("an error passed")
	}
	modern := newCallSpec("mcp__proxy__bench__echo", "text", []byte("x"), true)
	if got := string(modern.appendCall(nil, 1)); !strings.Contains(got, `"io.modelcontextprotocol/protocolVersion":"2026-07-28"`) {
		t.Errorf("a 2026-07-28 request without its _meta: %s", got)
	}
}

func TestSSEEvents(t *testing.T) {
	stream := []byte("event: message\ndata: {\"a\":1}\n\n: comment\n\ndata: one\r\ndata: two\r\n\r\nid: 3\ndata: last")
	var got []string
	sseEvents(stream, func(data []byte) bool {
		got = append(got, string(data))
		return true
	})
	want := []string{`{"a":1}`, "one\ntwo", "last"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("events %q, want %q", got, want)
	}
	if !bytes.Contains(stream, []byte("data: two")) {
		t.Error("joining data lines wrote into the stream")
	}
}

func TestParseProcStat(t *testing.T) {
	stat := "1234 (a) b (c) S 1 1234 1234 0 -1 4194560 100 0 0 0 150 50 7 3 20 0 4 0 987654 1000000 200 18446744073709551615"
	st, err := parseProcStat(stat)
	if err != nil {
		t.Fatal(err)
	}
	if st.state != 'S' || st.ppid != 1 || st.cpu != 210*clockTick || st.startTime != 987654 {
		t.Errorf("parseProcStat = %+v", st)
	}
}

// TestClients runs the stdio client (alone and shared by four workers)
// and the streamable HTTP client against the echo backend and the
// do-nothing HTTP endpoint, and reads their CPU and RSS.
func TestClients(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skipf("skipping: the harness reads /proc (GOOS=%s)", runtime.GOOS)
	}
	direct := startSystem(t, systemSpec{name: "direct", kind: directSystem, backend: echo1125})
	shared := startSystem(t, systemSpec{name: "shared", kind: directSystem, backend: echo1125})
	null := startSystem(t, systemSpec{name: "null", kind: nullHTTPSystem, backend: echo1125})
	for _, tc := range []struct {
		sys *system
		c   cell
	}{
		{direct, cell{name: "stdio", client: stdioClient, version: v20251125, payload: 1000, workers: 1}},
		{shared, cell{name: "stdio shared", client: stdioClient, version: v20251125, payload: 100, workers: 4}},
		{null, cell{name: "http", client: streamableJSON, version: v20250618, payload: 10000, workers: 2}},
	} {
		r, err := openCell(&tc.c, tc.sys)
		if err != nil {
			t.Fatalf("%s: %v\n%s", tc.c.name, err, tc.sys.stderr)
		}
		rr, err := r.round(40, noStopwatch{})
		r.close()
		if err != nil {
			t.Fatalf("%s: %v", tc.c.name, err)
		}
		if len(rr.lat) != 40 || rr.wall <= 0 || rr.rss <= 0 || rr.cpu < 0 {
			t.Errorf("%s: round %d latencies, wall %v, rss %d, cpu %v", tc.c.name, len(rr.lat), rr.wall, rr.rss, rr.cpu)
		}
	}
	if err := direct.pipe.initialize(v20250618); err == nil {
		t.Error("a stdio session initialized twice at different versions")
	}
}

// TestReportTable checks what the report prints for made-up rounds: the
// figures, the added p50 against the baseline, each target's verdict on
// a line of its own, and what the tracing plugin recorded.
func TestReportTable(t *testing.T) {
	g := &group{name: "demo", title: "made-up rounds", cells: []cell{
		{name: "base", client: stdioClient, version: v20251125, payload: small, workers: 1},
		{name: "proxy", client: streamableJSON, version: v20251125, payload: small, workers: 1, baseline: "base",
			targets: []target{p50AtMost(150 * time.Microsecond), addedPercentAtMost(0.9)}},
	}}
	rounds := func(p50 time.Duration) []roundResult {
		var rs []roundResult
		for i := range 3 {
			d := p50 + time.Duration(i)*time.Microsecond
			rs = append(rs, roundResult{calls: 3, wall: 3 * d, lat: []time.Duration{d - time.Microsecond, d, d + time.Microsecond},
				cpu: 3 * d, hostCPU: 3 * d / 2, rss: 10 << 20, traced: 3})
		}
		return rs
	}
	gr := &groupRun{g: g, settings: settings{rounds: 3, roundTime: time.Second}, byName: map[string]*cellRun{}}
	systems := []*system{{spec: systemSpec{kind: directSystem}}, {spec: systemSpec{kind: proxyHTTPSystem, tracing: true}}}
	for i, p50 := range []time.Duration{100 * time.Microsecond, 180 * time.Microsecond} {
		r := &cellRun{cell: &g.cells[i], sys: systems[i], rounds: rounds(p50)}
		gr.cells = append(gr.cells, r)
		gr.byName[r.cell.name] = r
	}
	var out strings.Builder
	gr.report(&out, "0.00")
	text := out.String()
	for _, want := range []string{
		"== demo: made-up rounds",
		"p50 ≤ 150 µs", "missed (181 µs)",
		"added p50 ≤ 90%", "met (+79.2%)",
		"+80.0", "1.79",
		"proxy: the tracing plugin recorded 1.00 tool results per call",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the report lacks %q:\n%s", want, text)
		}
	}
	if lines := strings.Count(text, "\n"); lines != 10 {
		t.Errorf("the report has %d lines, want 10 (title, load, legend, blank, header, 2 rows, 1 more target, tracing):\n%s", lines, text)
	}
}
