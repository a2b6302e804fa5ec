package httpdrain_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/mcphost/mcphost/host/internal/httpdrain"
)

// serve runs srv on a loopback listener until the test ends.
func serve(t *testing.T, srv *http.Server, conns *httpdrain.Conns) (addr string, served <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if conns != nil {
		ln = conns.Listener(ln)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return ln.Addr().String(), done
}

// TestShutdownDoesNotWaitOnSilentConnections: a connection that never
// sent a request does not hold the drain; http.Server.Shutdown alone waits
// five seconds for it, past this test's deadline.
func TestShutdownDoesNotWaitOnSilentConnections(t *testing.T) {
	t.Parallel()
	for _, tracked := range []bool{true, false} {
		name := map[bool]string{true: "tracked", false: "plain Shutdown"}[tracked]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: time.Minute}
			var conns httpdrain.Conns
			var served *httpdrain.Conns
			if tracked {
				conns.Track(srv)
				served = &conns
			}
			addr, _ := serve(t, srv, served)
			silent, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer silent.Close()
			// The server has the connection once a request on another one
			// is answered: Serve accepts in order.
			resp, err := http.Get("http://" + addr + "/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()

			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
			defer cancel()
			if tracked {
				err = conns.Shutdown(ctx, srv)
			} else {
				err = srv.Shutdown(ctx)
			}
			if tracked && err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			if !tracked && !errors.Is(err, context.DeadlineExceeded) {
				// The standard library changed: Conns may no longer be needed.
				t.Fatalf("plain Shutdown: %v, want the deadline", err)
			}
			if tracked {
				if _, err := silent.Read(make([]byte, 1)); err == nil {
					t.Error("the silent connection is still open")
				}
			}
		})
	}
}

// TestShutdownAnswersOpenRequests: a request in progress when the drain
// begins gets its answer.
func TestShutdownAnswersOpenRequests(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	srv := &http.Server{ReadHeaderTimeout: time.Minute, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "answer")
	})}
	var conns httpdrain.Conns
	conns.Track(srv)
	addr, _ := serve(t, srv, &conns)

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-entered
	shut := make(chan error, 1)
	go func() { shut <- conns.Shutdown(context.Background(), srv) }()
	close(release)
	if r := <-got; r.err != nil || r.body != "answer" {
		t.Fatalf("open request: %q, %v", r.body, r.err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// TestShutdownKeepsAConnectionWhoseRequestIsOnItsWay: a connection
// accepted before the drain, whose request comes just after it began (a
// load balancer connects per request), gets its answer.
func TestShutdownKeepsAConnectionWhoseRequestIsOnItsWay(t *testing.T) {
	t.Parallel()
	srv := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: time.Minute}
	var conns httpdrain.Conns
	conns.Track(srv)
	addr, served := serve(t, srv, &conns)
	late, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	// The server has the connection once a request on another one is
	// answered: Serve accepts in order.
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	shut := make(chan error, 1)
	go func() { shut <- conns.Shutdown(context.Background(), srv) }()
	<-served // stopped accepting: the drain has begun
	if _, err := io.WriteString(late, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	status := make([]byte, len("HTTP/1.1 404"))
	if _, err := io.ReadFull(late, status); err != nil || string(status) != "HTTP/1.1 404" {
		t.Fatalf("the late request's answer: %q, %v", status, err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// TestShutdownLetsIdleConnectionsServeOnceMore: a client's kept-alive
// connection is used once more during the drain, and that answer closes it
// (Connection: close), so the client does not send on a connection the
// shutdown is closing.
func TestShutdownLetsIdleConnectionsServeOnceMore(t *testing.T) {
	t.Parallel()
	var conns httpdrain.Conns
	srv := &http.Server{ReadHeaderTimeout: time.Minute, Handler: conns.Handler(http.NotFoundHandler())}
	conns.Track(srv)
	addr, served := serve(t, srv, &conns)
	client := &http.Client{Transport: &http.Transport{}}
	get := func() *http.Response {
		t.Helper()
		resp, err := client.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if resp := get(); resp.Close {
		t.Fatal("an answer before the drain closed its connection")
	}
	shut := make(chan error, 1)
	go func() { shut <- conns.Shutdown(context.Background(), srv) }()
	<-served // stopped accepting: the drain has begun; the idle connection is still open
	if resp := get(); resp.StatusCode != http.StatusNotFound || !resp.Close {
		t.Fatalf("during the drain: %d, Connection: close %v; want 404 closing the connection", resp.StatusCode, resp.Close)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}
