package listen

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// stdioPeer drives ServeStdio through a pair of pipes.
type stdioPeer struct {
	in    *io.PipeWriter
	lines chan []byte
	done  chan error
}

func startStdio(t *testing.T, ctx context.Context, maxBytes int) *stdioPeer {
	t.Helper()
	r, _ := newRouter(t, "echo", "progress", "hang")
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	p := &stdioPeer{in: inW, lines: make(chan []byte, 64), done: make(chan error, 1)}
	go func() {
		p.done <- ServeStdio(ctx, r, inR, outW, maxBytes, 5*time.Second)
		outW.Close()
	}()
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(outR)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			p.lines <- append([]byte(nil), sc.Bytes()...)
		}
	}()
	t.Cleanup(func() {
		inW.Close()
		inR.Close()
		outR.Close()
	})
	return p
}

func (p *stdioPeer) send(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(p.in, line+"\n"); err != nil {
		t.Fatal(err)
	}
}

func (p *stdioPeer) next(t *testing.T, what string) []byte {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			t.Fatal("stdout ended")
		}
		return l
	case <-time.After(waitTimeout):
		t.Fatalf("timed out waiting for %s on stdout", what)
	}
	return nil
}

func (p *stdioPeer) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.done:
		return err
	case <-time.After(waitTimeout):
		t.Fatal("ServeStdio did not return")
	}
	return nil
}

func TestStdio(t *testing.T) {
	t.Parallel()
	p := startStdio(t, context.Background(), 1024)
	steps := []struct {
		name, send string
		want       []string // per expected line: "path=raw value" checks joined by " && "
	}{
		{"initialize", initializeMsg("1"), []string{`id=1 && result.protocolVersion="2025-06-18"`}},
		{"initialized", `{"jsonrpc":"2.0","method":"notifications/initialized"}`, nil},
		{"tools/list", `{"jsonrpc":"2.0","id":"l","method":"tools/list"}`, []string{`id="l" && result.tools.#=3`}},
		{"garbage", `{oops`, []string{`id=null && error.code=-32700`}},
		{"too large", `{"jsonrpc":"2.0","id":9,"method":"ping","params":{"pad":"` + strings.Repeat("x", 2000) + `"}}`,
			[]string{`id=null && error.code=-32003`}},
		{"still working", `{"jsonrpc":"2.0","id":10,"method":"ping"}`, []string{`id=10 && result={}`}},
		{"progress then response", callMsg("11", "mcp__proxy__srv__progress", `{}`, `{"progressToken":"t"}`),
			[]string{`params.progress=1 && params.progressToken="t"`, `params.progress=2`, `id=11 && result.received.name="progress"`}},
	}
	// Steps share one session and run in order.
	for _, st := range steps {
		p.send(t, st.send)
		for _, checks := range st.want {
			line := p.next(t, st.name)
			for _, c := range strings.Split(checks, " && ") {
				path, want, _ := strings.Cut(c, "=")
				if got := string(jsonrpc.Get(line, path)); got != want {
					t.Fatalf("%s: %s = %s, want %s in %s", st.name, path, got, want, line)
				}
			}
		}
		select {
		case extra := <-p.lines:
			t.Fatalf("%s: unexpected line %s", st.name, extra)
		case <-time.After(10 * time.Millisecond):
		}
	}
	p.in.Close()
	if err := p.wait(t); err != nil {
		t.Fatalf("ServeStdio after EOF: %v", err)
	}
}

func TestStdioEnds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		stop func(p *stdioPeer, cancel context.CancelFunc)
	}{
		{"stdin closed", func(p *stdioPeer, _ context.CancelFunc) { p.in.Close() }},
		{"context cancelled", func(_ *stdioPeer, cancel context.CancelFunc) { cancel() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p := startStdio(t, ctx, 1<<20)
			p.send(t, `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
			if line := p.next(t, "ping"); string(jsonrpc.Get(line, "id")) != "1" {
				t.Fatalf("ping: %s", line)
			}
			tc.stop(p, cancel)
			if err := p.wait(t); err != nil {
				t.Fatalf("ServeStdio: %v", err)
			}
		})
	}
}

func TestStdioClientThatStopsReadingIsEnded(t *testing.T) {
	t.Parallel()
	r, _ := newRouterWith(t, router.Options{SessionOutboxBytes: 1 << 20}, "echo")
	inR, inW := io.Pipe()
	outR, outW := io.Pipe() // never read: every write blocks
	t.Cleanup(func() {
		inW.Close()
		outR.Close()
	})
	done := make(chan error, 1)
	go func() { done <- ServeStdio(context.Background(), r, inR, outW, 4<<20, time.Second) }()
	go func() {
		big := `{"text":"` + strings.Repeat("x", 200<<10) + `"}`
		for i := range 20 {
			if _, err := io.WriteString(inW, callMsg(strconv.Itoa(i), "mcp__proxy__srv__echo", big, "")+"\n"); err != nil {
				return
			}
		}
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClientNotReading) {
			t.Fatalf("ServeStdio = %v, want ErrClientNotReading", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("ServeStdio kept serving a client that does not read")
	}
}
