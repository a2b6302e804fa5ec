//go:build unix

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// The proxy's fairness, end to end: a client that stops reading, on each
// client transport, and a client that floods one backend with requests,
// while another client keeps calling the same backend. The default budgets
// apply, so the slow client is ended once ~72 MiB wait for it.

const (
	fairnessRSSLimit = 300 << 20
	// steadyTimeout is the proxy's request timeout in this test: every
	// call of the steady client must be answered within it.
	steadyTimeout = 20 * time.Second
)

func TestFairness(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	base := "http://" + addr
	p := startHTTPProxyConfig(t, base+"/mcp", fmt.Sprintf(`
proxy {
  request_timeout = %q
}
listen "http" {
  address = %q
}
admin {
  address = ""
}
%s`, steadyTimeout, addr, exampleServer("ex")))
	pid := p.cmd.Process.Pid
	stalls := []struct {
		name, listener string
		stall          func(t *testing.T, base string) io.Closer
	}{
		{"streamable HTTP GET stream", "http", stallGETStream},
		{"streamable HTTP POST reply stream", "http", stallPOSTStream},
		{"legacy HTTP+SSE stream", "sse", stallLegacySSE},
		{"WebSocket", "websocket", stallWebSocket},
	}
	for _, st := range stalls {
		t.Run(st.name, func(t *testing.T) {
			labels := map[string]string{"listener": st.listener}
			before := scrapeCounter(t, base+"/metrics", "mcphost_sessions_shed_total", labels)
			steady := startSteadyCaller(t, base+"/mcp")
			rss := watchRSS(pid)
			conn := st.stall(t, base)
			defer conn.Close()
			waitShed(t, base, labels, before)
			maxRSS := rss.stop()
			steady.stopAndCheck(t)
			if maxRSS > fairnessRSSLimit {
				t.Errorf("the host's RSS reached %d MiB, over %d MiB", maxRSS>>20, fairnessRSSLimit>>20)
			}
			t.Logf("%s: slow client ended; the other client's %d calls: p50 %s, max %s; host RSS at most %d MiB",
				st.name, steady.count(), steady.percentile(0.5), steady.percentile(1), maxRSS>>20)
			if !closedByServer(conn) {
				t.Error("the slow client's connection is still open")
			}
		})
	}
	t.Run("flooding client", func(t *testing.T) {
		steady := startSteadyCaller(t, base+"/mcp")
		flood := newRawSession(t, base+"/mcp")
		const calls = 300
		type outcome struct {
			code int
			at   time.Time
		}
		outcomes := make([]outcome, calls)
		var wg sync.WaitGroup
		for i := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body, err := flood.call(`{"jsonrpc":"2.0","id":`+strconv.Itoa(i)+`,"method":"tools/call","params":{"name":"mcp__proxy__ex__sleep","arguments":{"ms":1500,"steps":1}}}`, steadyTimeout+5*time.Second)
				outcomes[i] = outcome{code: rpcErrorCode(body), at: time.Now()}
				if err != nil {
					outcomes[i].code = -1
				}
			}()
		}
		wg.Wait()
		steady.stopAndCheck(t)
		var refused, slept int
		var lastRefused, firstSlept time.Time
		for _, o := range outcomes {
			switch o.code {
			case -32004:
				refused++
				if o.at.After(lastRefused) {
					lastRefused = o.at
				}
			case 0:
				slept++
				if firstSlept.IsZero() || o.at.Before(firstSlept) {
					firstSlept = o.at
				}
			default:
				t.Errorf("a flooding call ended with %d", o.code)
			}
		}
		if slept != 64 || refused != calls-64 {
			t.Errorf("%d calls were served and %d refused; want 64 and %d", slept, refused, calls-64)
		}
		if lastRefused.After(firstSlept) {
			t.Errorf("a refusal came after the first served call ended: refusals are not immediate")
		}
		t.Logf("flooding client: %d refused at once, %d served; the other client's %d calls: p50 %s, max %s",
			refused, slept, steady.count(), steady.percentile(0.5), steady.percentile(1))
	})
}

// waitShed waits until mcphost_sessions_shed_total{labels} is above before.
func waitShed(t *testing.T, base string, labels map[string]string, before float64) {
	t.Helper()
	poll.Within(t, 90*time.Second, fmt.Sprintf("the slow client ended (mcphost_sessions_shed_total%v above %v)", labels, before), func() bool {
		return scrapeCounter(t, base+"/metrics", "mcphost_sessions_shed_total", labels) > before
	})
}

// rawSession is an initialized streamable HTTP session driven with
// net/http.
type rawSession struct {
	url, id string
	client  *http.Client
}

func newRawSession(t *testing.T, url string) *rawSession {
	t.Helper()
	return &rawSession{url: url, id: initSession(t, url, ""), client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512}}}
}

// call POSTs one message (plain JSON reply) and returns the response body.
func (s *rawSession) call(msg string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, strings.NewReader(msg))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Mcp-Session-Id", s.id)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
		return body, fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
	}
	return body, nil
}

// steadyCaller calls echo in a loop on its own session until stopped.
type steadyCaller struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	lat  []time.Duration
	errs []string
}

func startSteadyCaller(t *testing.T, url string) *steadyCaller {
	t.Helper()
	s := newRawSession(t, url)
	c := &steadyCaller{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for i := 0; ; i++ {
			select {
			case <-c.stop:
				return
			default:
			}
			start := time.Now()
			body, err := s.call(`{"jsonrpc":"2.0","id":`+strconv.Itoa(i)+`,"method":"tools/call","params":{"name":"mcp__proxy__ex__echo","arguments":{"text":"steady"}}}`, steadyTimeout)
			elapsed := time.Since(start)
			c.mu.Lock()
			switch {
			case err != nil:
				c.errs = append(c.errs, err.Error())
			case !bytes.Contains(body, []byte(`"steady"`)):
				c.errs = append(c.errs, "unexpected answer: "+string(body))
			default:
				c.lat = append(c.lat, elapsed)
			}
			c.mu.Unlock()
		}
	}()
	return c
}

func (c *steadyCaller) stopAndCheck(t *testing.T) {
	t.Helper()
	close(c.stop)
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) > 0 {
		t.Errorf("the other client's calls failed %d times, first: %s", len(c.errs), c.errs[0])
	}
	if len(c.lat) == 0 {
		t.Error("the other client made no call")
	}
}

func (c *steadyCaller) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lat)
}

func (c *steadyCaller) percentile(p float64) time.Duration {
	c.mu.Lock()
	sorted := slices.Clone(c.lat)
	c.mu.Unlock()
	if len(sorted) == 0 {
		return 0
	}
	slices.Sort(sorted)
	return sorted[min(int(p*float64(len(sorted))), len(sorted)-1)].Round(time.Microsecond)
}

// rssWatch samples a process's resident set until stopped.
type rssWatch struct {
	stopCh chan struct{}
	max    atomic.Int64
	done   chan struct{}
}

func watchRSS(pid int) *rssWatch {
	w := &rssWatch{stopCh: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if rss := readRSS(pid); rss > w.max.Load() {
				w.max.Store(rss)
			}
			select {
			case <-w.stopCh:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

func (w *rssWatch) stop() int64 {
	close(w.stopCh)
	<-w.done
	return w.max.Load()
}

// readRSS is VmRSS of pid in bytes, 0 when unknown.
func readRSS(pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// dialNoRead connects with a small receive buffer, so that little of what
// the proxy sends a client that does not read hides in the kernel.
func dialNoRead(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	return d.DialContext(ctx, network, addr)
}

// openRaw sends a raw HTTP request on a fresh connection that will not be
// read beyond what the caller reads.
func openRaw(t *testing.T, base, method, path string, headers map[string]string, body string) (net.Conn, *bufio.Reader) {
	t.Helper()
	host := strings.TrimPrefix(base, "http://")
	conn, err := dialNoRead(context.Background(), "tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	var req strings.Builder
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, host)
	for k, v := range headers {
		fmt.Fprintf(&req, "%s: %s\r\n", k, v)
	}
	if body != "" {
		fmt.Fprintf(&req, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(body))
	}
	req.WriteString("\r\n" + body)
	if _, err := io.WriteString(conn, req.String()); err != nil {
		t.Fatal(err)
	}
	return conn, bufio.NewReaderSize(conn, 4096)
}

// readHeader reads a response's status line and headers.
func readHeader(t *testing.T, r *bufio.Reader) {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the response header: %v", err)
		}
		if line == "\r\n" {
			return
		}
	}
}

// closedByServer says whether the proxy has closed conn: reading what it
// holds ends in EOF or a reset, not a timeout.
func closedByServer(c io.Closer) bool {
	conn, ok := c.(net.Conn)
	if !ok {
		return true // a WebSocket: checked by its writes failing
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return true
}

// pumpUntilShed calls f until it fails or the slow client's session is
// over, which f tells by an error.
func pumpUntilShed(t *testing.T, f func(i int) error) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		if err := f(i); err != nil {
			return
		}
	}
	t.Fatal("the slow client was never refused")
}

func stallGETStream(t *testing.T, base string) io.Closer {
	s := newRawSession(t, base+"/mcp")
	conn, r := openRaw(t, base, "GET", "/mcp", map[string]string{"Accept": "text/event-stream", "Mcp-Session-Id": s.id}, "")
	readHeader(t, r) // the stream is open; from here on nothing is read
	if _, err := s.call(`{"jsonrpc":"2.0","id":"level","method":"logging/setLevel","params":{"level":"info"}}`, steadyTimeout); err != nil {
		t.Fatal(err)
	}
	// Log messages go to every session's GET stream: 1 MiB each.
	pumpUntilShed(t, func(i int) error {
		_, err := s.call(`{"jsonrpc":"2.0","id":`+strconv.Itoa(i)+`,"method":"tools/call","params":{"name":"mcp__proxy__ex__flood","arguments":{"count":8,"size":1048576,"as":"log"}}}`, steadyTimeout)
		return err // 404 once the session is gone
	})
	return conn
}

func stallPOSTStream(t *testing.T, base string) io.Closer {
	s := newRawSession(t, base+"/mcp")
	conn, _ := openRaw(t, base, "POST", "/mcp", map[string]string{"Accept": "text/event-stream", "Mcp-Session-Id": s.id},
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"mcp__proxy__ex__flood","arguments":{"count":2000,"size":262144},"_meta":{"progressToken":"p"}}}`)
	return conn
}

func stallLegacySSE(t *testing.T, base string) io.Closer {
	conn, r := openRaw(t, base, "GET", "/sse", map[string]string{"Accept": "text/event-stream"}, "")
	readHeader(t, r)
	var endpoint string
	for endpoint == "" {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the endpoint event: %v", err)
		}
		if data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok {
			endpoint = data
		}
	}
	post := func(msg string) error {
		resp, err := http.Post(base+endpoint, "application/json", strings.NewReader(msg))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return nil
	}
	if err := post(initializeJS); err != nil {
		t.Fatal(err)
	}
	if err := post(initedJS); err != nil {
		t.Fatal(err)
	}
	pumpUntilShed(t, func(i int) error {
		return post(`{"jsonrpc":"2.0","id":` + strconv.Itoa(10+i) + `,"method":"tools/call","params":{"name":"mcp__proxy__ex__bytes","arguments":{"n":1048576}}}`)
	})
	return conn
}

type wsCloser struct{ c *websocket.Conn }

func (w wsCloser) Close() error { return w.c.CloseNow() }

func stallWebSocket(t *testing.T, base string) io.Closer {
	ctx := context.Background()
	url := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	hc := &http.Client{Transport: &http.Transport{DialContext: dialNoRead}}
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"mcp"}, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	write := func(msg string) error {
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return c.Write(wctx, websocket.MessageText, []byte(msg))
	}
	if err := write(initializeJS); err != nil {
		t.Fatal(err)
	}
	if err := write(initedJS); err != nil {
		t.Fatal(err)
	}
	// Frames are never read: the answers pile up at the proxy.
	pumpUntilShed(t, func(i int) error {
		return write(`{"jsonrpc":"2.0","id":` + strconv.Itoa(10+i) + `,"method":"tools/call","params":{"name":"mcp__proxy__ex__bytes","arguments":{"n":1048576}}}`)
	})
	return wsCloser{c}
}
