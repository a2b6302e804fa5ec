package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/tabwriter"
	"time"
)

// httpSetup is one way of reaching the example server over streamable HTTP.
type httpSetup struct {
	name      string
	direct    bool // the example server's own HTTP endpoint, no proxy
	inprocess bool // the stdio transport plugin runs inside mcphost
}

var httpSetups = []httpSetup{
	{name: "direct", direct: true},
	{name: "proxy-inprocess", inprocess: true},
	{name: "proxy-subprocess"},
}

// httpCell is one measured workload: clients sessions, each making its
// share of calls back to back with a payload-byte text.
type httpCell struct {
	payload int
	clients int
	calls   int // over all rounds and clients
}

// HTTP report workload.
const (
	httpRounds      = 5 // TestHTTPReport: every cell is split into this many interleaved rounds
	httpMaxClients  = 32
	httpWarmupCalls = 200 // sequential 100 B calls on one session before anything is recorded
	smallPayload    = 100
	largePayload    = 100 << 10
)

var httpCells = []httpCell{
	{payload: smallPayload, clients: 1, calls: 2000},
	{payload: smallPayload, clients: 8, calls: 8000},
	{payload: smallPayload, clients: 32, calls: 8000},
	{payload: largePayload, clients: 1, calls: 400},
	{payload: largePayload, clients: 8, calls: 1600},
	{payload: largePayload, clients: 32, calls: 1600},
}

// Targets the issue sets for the HTTP listener.
const (
	targetHTTPp50Inprocess     = 90 * time.Microsecond  // 100 B, 1 client
	targetHTTPp50Subprocess    = 150 * time.Microsecond // 100 B, 1 client
	targetHTTPRateInprocess    = 42000                  // calls/s, 100 B, 32 clients
	targetHTTPRateSubprocess   = 28000                  // calls/s, 100 B, 32 clients
	targetHTTPLargeP50VsDirect = 2.0                    // 100 KB p50 against direct
)

// echoMarker replaces the echoed text in a response before it is decoded,
// so that checking a 100 KB answer costs a byte comparison, not a JSON
// scan of the text; the payload is all 'x' and cannot contain it.
const echoMarker = "(echoed text)"

// newBenchHTTPClient returns a client that keeps a connection per session
// alive and goes straight to loopback.
func newBenchHTTPClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        4 * httpMaxClients * len(httpSetups),
			MaxIdleConnsPerHost: 2 * httpMaxClients,
			IdleConnTimeout:     5 * time.Minute,
			DisableCompression:  true,
			WriteBufferSize:     64 << 10,
			ReadBufferSize:      64 << 10,
		},
		Timeout: 60 * time.Second,
	}
}

// httpTarget is a started setup and its MCP sessions.
type httpTarget struct {
	setup    httpSetup
	client   *http.Client
	url      string
	tool     string
	stderr   *tailBuffer
	sessions []*mcpSession
	sse      atomic.Int64 // tools/call answers that came as an SSE stream
}

// listenRE finds the address a setup serves on in its stderr.
var (
	directListenRE = regexp.MustCompile(`listening on http (\S+)`)
	proxyListenRE  = regexp.MustCompile(`serving MCP over streamable HTTP: url=(\S+)`)
)

// httpConfig is the HCL of a proxy setup: an HTTP listener on a free
// loopback port and the example server over stdio as backend "bench".
func httpConfig(s httpSetup) string {
	mode := "subprocess"
	if s.inprocess {
		mode = "inprocess"
	}
	return fmt.Sprintf(`listen "http" {
  address = "127.0.0.1:0"
  path    = "/mcp"
}

plugin "stdio" {
  mode = %q
}

server "bench" {
  transport "stdio" {
    command = mcphost.executable
    args    = ["example-server", "-name", "bench"]
  }
}
`, mode)
}

// startHTTP runs s, waits for its endpoint and opens httpMaxClients
// sessions on it. The process is stopped at cleanup.
func startHTTP(tb testing.TB, ctx context.Context, client *http.Client, s httpSetup) *httpTarget {
	tb.Helper()
	t := &httpTarget{setup: s, client: client, tool: "mcp__proxy__bench__echo", stderr: &tailBuffer{}}
	args, ready := []string{"run", ""}, proxyListenRE
	if s.direct {
		args, ready = []string{"example-server", "-http", "127.0.0.1:0", "-name", "bench"}, directListenRE
		t.tool = "echo"
	} else {
		args[1] = filepath.Join(tb.TempDir(), "proxy.hcl")
		if err := os.WriteFile(args[1], []byte(httpConfig(s)), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	cmd := exec.Command(mcphost(tb), args...)
	cmd.Stderr = t.stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("%s: %v", s.name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		client.CloseIdleConnections()
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	deadline := time.Now().Add(60 * time.Second)
	for t.url == "" {
		if m := ready.FindStringSubmatch(t.stderr.String()); m != nil {
			t.url = m[1]
			if s.direct {
				t.url = "http://" + m[1] + "/mcp"
			}
			break
		}
		select {
		case err := <-exited:
			tb.Fatalf("%s exited early: %v\n%s", s.name, err, t.stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s never said where it listens:\n%s", s.name, t.stderr)
		}
	}

	for range httpMaxClients {
		sess, err := t.open(ctx)
		if err != nil {
			tb.Fatalf("%s: %v\n%s", s.name, err, t.stderr)
		}
		t.sessions = append(t.sessions, sess)
	}
	// The proxy serves before its backend is up; wait until echo answers.
	text := bytes.Repeat([]byte{'x'}, smallPayload)
	for {
		_, err := t.sessions[0].call(ctx, text)
		if err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			tb.Fatalf("%s: %s never answered: %v\n%s", s.name, t.tool, err, t.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return t
}

// mcpSession is one client's streamable HTTP session. It is used by one
// goroutine at a time.
type mcpSession struct {
	t       *httpTarget
	id      string // Mcp-Session-Id
	version string // negotiated protocol version
	next    int64  // last request id used
	req     []byte
	resp    bytes.Buffer
}

// open initializes a session: initialize, then notifications/initialized.
func (t *httpTarget) open(ctx context.Context) (*mcpSession, error) {
	s := &mcpSession{t: t, next: 1}
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"mcphost-bench","version":"1"}}}`)
	resp, err := s.post(ctx, body)
	if err != nil {
		return nil, fmt.Errorf("initialize: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("initialize: %s: %s", resp.Status, s.resp.Bytes())
	}
	s.id = resp.Header.Get("Mcp-Session-Id")
	if s.id == "" {
		return nil, errors.New("initialize: no Mcp-Session-Id")
	}
	msg, err := s.response(resp.Header.Get("Content-Type"), 1, nil)
	if err != nil {
		return nil, fmt.Errorf("initialize: %w", err)
	}
	var init struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	if err := json.Unmarshal(msg.Result, &init); err != nil || init.ProtocolVersion == "" {
		return nil, fmt.Errorf("initialize: no protocol version in %s", msg.Result)
	}
	s.version = init.ProtocolVersion
	resp, err = s.post(ctx, []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`))
	if err != nil {
		return nil, fmt.Errorf("notifications/initialized: %w", err)
	}
	if resp.StatusCode != http.StatusAccepted {
		return nil, fmt.Errorf("notifications/initialized: %s: %s", resp.Status, s.resp.Bytes())
	}
	return s, nil
}

// post sends one JSON-RPC message and reads the whole response body into
// s.resp. A POSTed request's SSE stream ends after its response, so
// reading to the end is reading up to the answer.
func (s *mcpSession) post(ctx context.Context, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.t.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if s.id != "" {
		req.Header.Set("Mcp-Session-Id", s.id)
		req.Header.Set("Mcp-Protocol-Version", s.version)
	}
	resp, err := s.t.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	s.resp.Reset()
	if _, err := s.resp.ReadFrom(resp.Body); err != nil {
		return nil, fmt.Errorf("reading the response: %w", err)
	}
	return resp, nil
}

// rpcMessage is a JSON-RPC message as the bench client reads it.
type rpcMessage struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// response finds the answer to request id in s.resp, sent as
// application/json or as an SSE stream. Every quoted occurrence of text is
// replaced by echoMarker before decoding.
func (s *mcpSession) response(contentType string, id int64, text []byte) (rpcMessage, error) {
	want := strconv.FormatInt(id, 10)
	var quoted, marker []byte
	if text != nil {
		quoted = make([]byte, 0, len(text)+2)
		quoted = append(append(append(quoted, '"'), text...), '"')
		marker = []byte(strconv.Quote(echoMarker))
	}
	decode := func(data []byte) (rpcMessage, error) {
		if quoted != nil {
			data = replaceQuoted(data, quoted, marker)
		}
		var m rpcMessage
		err := json.Unmarshal(data, &m)
		return m, err
	}
	mediaType, _, _ := strings.Cut(contentType, ";")
	switch strings.TrimSpace(mediaType) {
	case "application/json":
		m, err := decode(s.resp.Bytes())
		if err != nil {
			return m, fmt.Errorf("decoding the response: %w", err)
		}
		if string(m.ID) != want || m.Method != "" {
			return m, fmt.Errorf("response has id %s, want %s", m.ID, want)
		}
		return m, m.err()
	case "text/event-stream":
		if text != nil {
			s.t.sse.Add(1)
		}
		for _, data := range sseData(s.resp.Bytes()) {
			m, err := decode(data)
			if err != nil {
				return m, fmt.Errorf("decoding an SSE event: %w", err)
			}
			if m.Method == "" && string(m.ID) == want {
				return m, m.err()
			}
		}
		return rpcMessage{}, fmt.Errorf("no response with id %s in the SSE stream", want)
	default:
		return rpcMessage{}, fmt.Errorf("unexpected Content-Type %q: %.200s", contentType, s.resp.Bytes())
	}
}

// replaceQuoted is bytes.ReplaceAll for a quoted string: it looks for
// quoted only where data has a '"', so a long pattern costs a comparison
// per occurrence (bytes.Index turns to Rabin-Karp, hashing all of data).
func replaceQuoted(data, quoted, marker []byte) []byte {
	var out []byte
	last := 0
	for i := 0; i < len(data); {
		j := bytes.IndexByte(data[i:], '"')
		if j < 0 {
			break
		}
		i += j
		if !bytes.HasPrefix(data[i:], quoted) {
			i++
			continue
		}
		out = append(append(out, data[last:i]...), marker...)
		i += len(quoted)
		last = i
	}
	if out == nil {
		return data
	}
	return append(out, data[last:]...)
}

func (m rpcMessage) err() error {
	if m.Error != nil {
		return fmt.Errorf("JSON-RPC error %d: %s", m.Error.Code, m.Error.Message)
	}
	return nil
}

// sseData returns the data of each event of an SSE stream, multi-line data
// joined with newlines.
func sseData(stream []byte) [][]byte {
	var events [][]byte
	var cur []byte
	have := false
	for len(stream) > 0 {
		line := stream
		if i := bytes.IndexByte(stream, '\n'); i >= 0 {
			line, stream = stream[:i], stream[i+1:]
		} else {
			stream = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			if have {
				events = append(events, cur)
			}
			cur, have = nil, false
			continue
		}
		v, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			continue // event:, id:, retry: and comments
		}
		v = bytes.TrimPrefix(v, []byte{' '})
		if have {
			cur = append(append(cur, '\n'), v...)
		} else {
			cur, have = append([]byte(nil), v...), true
		}
	}
	if have {
		events = append(events, cur)
	}
	return events
}

// call makes one tools/call echo {text} and checks that the answer carries
// exactly text. The latency covers sending the request and reading the
// whole response, not checking it.
func (s *mcpSession) call(ctx context.Context, text []byte) (time.Duration, error) {
	s.next++
	id := s.next
	s.req = append(s.req[:0], `{"jsonrpc":"2.0","id":`...)
	s.req = strconv.AppendInt(s.req, id, 10)
	s.req = append(s.req, `,"method":"tools/call","params":{"name":"`...)
	s.req = append(s.req, s.t.tool...)
	s.req = append(s.req, `","arguments":{"text":"`...)
	s.req = append(s.req, text...)
	s.req = append(s.req, `"}}}`...)
	t0 := time.Now()
	resp, err := s.post(ctx, s.req)
	d := time.Since(t0)
	if err != nil {
		return d, err
	}
	if resp.StatusCode != http.StatusOK {
		return d, fmt.Errorf("tools/call: %s: %.200s", resp.Status, s.resp.Bytes())
	}
	m, err := s.response(resp.Header.Get("Content-Type"), id, text)
	if err != nil {
		return d, err
	}
	var res struct {
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		IsError bool `json:"isError"`
	}
	if err := json.Unmarshal(m.Result, &res); err != nil {
		return d, fmt.Errorf("decoding the result: %w", err)
	}
	switch {
	case res.IsError:
		return d, fmt.Errorf("%s: tool error %+v", s.t.tool, res.Content)
	case len(res.Content) == 0 || res.Content[0].Type != "text":
		return d, fmt.Errorf("%s: no text content: %.200s", s.t.tool, m.Result)
	case res.Content[0].Text != echoMarker:
		return d, fmt.Errorf("%s: echoed %d bytes, want the %d sent", s.t.tool, len(res.Content[0].Text), len(text))
	}
	return d, nil
}

// run has the first clients sessions each make perClient calls back to
// back, all starting together. It appends every call's latency to lat and
// returns the wall time from the start to the last answer.
func (t *httpTarget) run(tb testing.TB, ctx context.Context, clients, perClient int, text []byte, lat []time.Duration) ([]time.Duration, time.Duration) {
	tb.Helper()
	per := make([][]time.Duration, clients)
	errs := make([]error, clients)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range clients {
		per[i] = make([]time.Duration, 0, perClient)
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			s := t.sessions[i]
			ready.Done()
			<-start
			for range perClient {
				d, err := s.call(ctx, text)
				if err != nil {
					errs[i] = err
					return
				}
				per[i] = append(per[i], d)
			}
		}()
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	done.Wait()
	wall := time.Since(t0)
	if err := errors.Join(errs...); err != nil {
		tb.Fatalf("%s: %v\n%s", t.setup.name, err, t.stderr)
	}
	for _, p := range per {
		lat = append(lat, p...)
	}
	return lat, wall
}

// warm runs a little of every kind of workload, recording nothing.
func (t *httpTarget) warm(tb testing.TB, ctx context.Context, small, large []byte) {
	tb.Helper()
	t.run(tb, ctx, 1, httpWarmupCalls, small, nil)
	t.run(tb, ctx, httpMaxClients, 20, small, nil)
	t.run(tb, ctx, 1, 20, large, nil)
	t.run(tb, ctx, httpMaxClients, 3, large, nil)
}

// httpResult is what one setup measured on one cell.
type httpResult struct {
	lat   []time.Duration
	wall  time.Duration
	calls int
}

func (r httpResult) perSecond() float64 { return float64(r.calls) / r.wall.Seconds() }

func formatPayload(n int) string {
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// httpGoal is the target, if any, for s on cell c: a description and
// whether r (with direct's p50 on the same cell) meets it.
func httpGoal(s httpSetup, c httpCell, st latencyStats, r httpResult, direct latencyStats) (goal, verdict string) {
	check := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "MISS"
	}
	switch {
	case s.direct:
		return "-", "-"
	case c.payload == smallPayload && c.clients == 1:
		limit := targetHTTPp50Subprocess
		if s.inprocess {
			limit = targetHTTPp50Inprocess
		}
		return fmt.Sprintf("p50 ≤ %.0f µs", micros(limit)), check(st.p50 <= limit)
	case c.payload == smallPayload && c.clients == 32:
		limit := float64(targetHTTPRateSubprocess)
		if s.inprocess {
			limit = targetHTTPRateInprocess
		}
		return fmt.Sprintf("≥ %.0f calls/s", limit), check(r.perSecond() >= limit)
	case c.payload == largePayload:
		ratio := float64(st.p50) / float64(direct.p50)
		return fmt.Sprintf("p50 ≤ %.0fx direct", targetHTTPLargeP50VsDirect), check(ratio <= targetHTTPLargeP50VsDirect)
	}
	return "-", "-"
}

// TestHTTPReport measures the HTTP listener: tools/call echo through
// mcphost's streamable HTTP endpoint, with the stdio plugin in-process and
// as a subprocess, next to the example server's own streamable HTTP
// endpoint, at 1, 8 and 32 concurrent sessions with 100 B and 100 KB
// texts. Every cell is split into rounds; each round runs the cell on every
// setup in an order rotated per round, so drift hits all setups alike.
func TestHTTPReport(t *testing.T) {
	if os.Getenv("MCPHOST_BENCH") != "1" {
		t.Skip("skipping: set MCPHOST_BENCH=1 to run the HTTP listener report (task bench)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	client := newBenchHTTPClient()
	small := bytes.Repeat([]byte{'x'}, smallPayload)
	large := bytes.Repeat([]byte{'x'}, largePayload)
	text := func(c httpCell) []byte {
		if c.payload == largePayload {
			return large
		}
		return small
	}

	targets := make([]*httpTarget, len(httpSetups))
	for i, s := range httpSetups {
		targets[i] = startHTTP(t, ctx, client, s)
	}
	for _, tt := range targets {
		tt.warm(t, ctx, small, large)
	}
	for _, tt := range targets {
		tt.sse.Store(0)
	}

	// results[cell][setup]
	results := make([][]httpResult, len(httpCells))
	for ci, c := range httpCells {
		results[ci] = make([]httpResult, len(targets))
		perClient := max(1, c.calls/(c.clients*httpRounds))
		for round := range httpRounds {
			for k := range targets {
				i := (k + round + ci) % len(targets)
				r := &results[ci][i]
				var wall time.Duration
				r.lat, wall = targets[i].run(t, ctx, c.clients, perClient, text(c), r.lat)
				r.wall += wall
				r.calls += c.clients * perClient
			}
		}
	}

	var out bytes.Buffer
	fmt.Fprintf(&out, "\nmcphost HTTP listener: tools/call echo {text}, streamable HTTP, one MCP session per client, calls back to back\n")
	fmt.Fprintf(&out, "%s %s/%s, %d CPUs, GOMAXPROCS %d; lean net/http client in the test process (keep-alive, one connection per session)\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(&out, "direct: the example server's own endpoint (mcphost example-server -http); proxy-*: mcphost run with an HTTP listener,\n")
	fmt.Fprintf(&out, "the example server over stdio as backend and the stdio plugin in-process or as a subprocess\n")
	fmt.Fprintf(&out, "each cell in %d interleaved rounds over the setups, after warm-up; latency = request sent to response read, before checking it\n\n", httpRounds)
	w := tabwriter.NewWriter(&out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "payload\tclients\tsetup\tcalls\tp50 µs\tp99 µs\tcalls/s\tp50 vs direct\ttarget\tverdict\t")
	for ci, c := range httpCells {
		direct := summarize(results[ci][0].lat)
		for i, s := range httpSetups {
			r := results[ci][i]
			st := summarize(r.lat)
			goal, verdict := httpGoal(s, c, st, r, direct)
			fmt.Fprintf(w, "%s\t%d\t%s\t%d\t%.1f\t%.1f\t%.0f\t%.2fx\t%s\t%s\t\n",
				formatPayload(c.payload), c.clients, s.name, r.calls, micros(st.p50), micros(st.p99),
				r.perSecond(), float64(st.p50)/float64(direct.p50), goal, verdict)
		}
	}
	w.Flush()
	fmt.Fprintf(&out, "\ncalls/s = calls / summed wall time of the rounds; the throughput target applies to 100 B at 32 clients, the 2x target to every 100 KB row\n")
	var sse []string
	for _, tt := range targets {
		sse = append(sse, fmt.Sprintf("%s %d", tt.setup.name, tt.sse.Load()))
	}
	fmt.Fprintf(&out, "answers sent as an SSE stream rather than application/json: %s\n", strings.Join(sse, ", "))
	fmt.Println(out.String())
}
