//go:build unix

// The stdio plugin's tests drive sh, signals and /proc: Unix only.

package stdio

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/plugintest"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"github.com/mcphost/mcphost/sdk/plugintest/syncbuf"
	"github.com/mcphost/mcphost/sdk/transport"
)

// modeEnv makes the test binary, re-executed as a backend, act out one of
// the child behaviours below instead of running tests.
const modeEnv = "STDIO_TEST_MODE"

func TestMain(m *testing.M) {
	if mode := os.Getenv(modeEnv); mode != "" {
		os.Exit(child(mode))
	}
	os.Exit(m.Run())
}

func child(mode string) int {
	switch mode {
	case "echo":
		// The plugintest echo contract, with noise on stderr that must
		// never reach the protocol stream.
		fmt.Fprintln(os.Stderr, "echo backend starting: this is stderr noise")
		r := bufio.NewReader(os.Stdin)
		w := bufio.NewWriter(os.Stdout)
		for {
			line, err := r.ReadBytes('\n')
			if len(bytes.TrimSpace(line)) > 0 {
				if resp := plugintest.Echo(line); resp != nil {
					_, _ = w.Write(append(resp, '\n'))
					_ = w.Flush()
				}
				fmt.Fprintln(os.Stderr, "noise: handled a message")
			}
			if err != nil {
				return 0
			}
		}
	case "exit3":
		fmt.Println(`{"jsonrpc":"2.0","method":"bye"}`)
		fmt.Fprintln(os.Stderr, "first words")
		fmt.Fprintln(os.Stderr, "oops")
		return 3
	case "stubborn":
		// Ignores both stdin EOF and SIGTERM; only SIGKILL ends it.
		signal.Ignore(syscall.SIGTERM)
		fmt.Println(`{"jsonrpc":"2.0","method":"ready"}`)
		time.Sleep(time.Hour) // a child that never ends by itself is the case
		return 0
	case "framing":
		fmt.Print("\n\r\n   \n")
		fmt.Println(`{"jsonrpc":"2.0","method":"crlf"}` + "\r")
		fmt.Println(`{"jsonrpc":"2.0","method":"big","params":"` + strings.Repeat("x", 5000) + `"}`)
		fmt.Println(`{"jsonrpc":"2.0","method":"after-big"}`)
		fmt.Print(`{"jsonrpc":"2.0","method":"no-newline"}`)
		return 0
	case "env":
		params, _ := json.Marshal(map[string]any{"secret": os.Getenv("SECRET"), "hasPath": os.Getenv("PATH") != "", "cwd": must(os.Getwd())})
		fmt.Println(string(jsonrpc.Notification("env", params)))
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown mode", mode)
	return 2
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// config returns a backend config that re-executes the test binary in mode.
func config(t testing.TB, mode string, extra map[string]any) json.RawMessage {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// GORACE: a -race binary otherwise sleeps a second at exit.
	cfg := map[string]any{"command": exe, "env": map[string]string{modeEnv: mode, "GORACE": "atexit_sleep_ms=0"}}
	for k, v := range extra {
		cfg[k] = v
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func quiet() hclog.Logger { return hclog.NewNullLogger() }

func TestConformance(t *testing.T) {
	backend := func(t *testing.T) json.RawMessage { return config(t, "echo", nil) }
	t.Run("InProcess", func(t *testing.T) {
		t.Parallel()
		plugintest.TestTransport(t, func(*testing.T) transport.Transport { return New(quiet()) }, backend)
	})
	t.Run("GRPC", func(t *testing.T) {
		t.Parallel()
		plugintest.TestTransport(t, func(t *testing.T) transport.Transport { return plugintest.ServeTransport(t, New(quiet())) }, backend)
	})
	t.Run("GRPCNoPipes", func(t *testing.T) {
		t.Parallel()
		plugintest.TestTransport(t, func(t *testing.T) transport.Transport {
			c := plugintest.ServeTransport(t, New(quiet())).(*transport.GRPCClient)
			c.NoPipes = true
			return c
		}, backend)
	})
	t.Run("GRPCStreamOnly", func(t *testing.T) {
		t.Parallel()
		plugintest.TestTransport(t, func(t *testing.T) transport.Transport {
			c := plugintest.ServeTransport(t, New(quiet())).(*transport.GRPCClient)
			c.StreamOnly = true
			return c
		}, backend)
	})
}

func TestValidate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := dir + "/file"
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		config string
		want   []string // attributes with an error
	}{
		{"minimal", `{"command":"server"}`, nil},
		{"full", `{"command":"server","args":["-v"],"env":{"K":"V"},"cwd":"` + dir + `","inherit_env":false,"stop_timeout":"250ms"}`, nil},
		{"nulls", `{"command":"server","args":null,"env":null,"cwd":null,"inherit_env":null,"stop_timeout":null}`, nil},
		{"missing command", `{}`, []string{"command"}},
		{"blank command", `{"command":"  "}`, []string{"command"}},
		{"missing cwd", `{"command":"server","cwd":"` + dir + `/nope"}`, []string{"cwd"}},
		{"cwd is a file", `{"command":"server","cwd":"` + file + `"}`, []string{"cwd"}},
		{"bad stop_timeout", `{"command":"server","stop_timeout":"soon"}`, []string{"stop_timeout"}},
		{"negative stop_timeout", `{"command":"server","stop_timeout":"-1s"}`, []string{"stop_timeout"}},
		{"not JSON", `{`, []string{""}},
		{"several", `{"stop_timeout":"x"}`, []string{"command", "stop_timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := New(quiet()).Validate(context.Background(), base.ValidateRequest{Config: json.RawMessage(tt.config)})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range r.Diagnostics {
				if d.Severity != base.SeverityError || d.Summary == "" {
					t.Errorf("unexpected diagnostic %+v", d)
				}
				got = append(got, d.Attribute)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("error attributes = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSchemaMarksEnvSensitive(t *testing.T) {
	t.Parallel()
	plugintest.CheckSchema(t, New(quiet()), plugintest.SchemaWant{Instance: plugintest.BlockWant{
		Attributes: []string{"command", "args", "env", "cwd", "inherit_env", "stop_timeout"},
		Required:   []string{"command"},
		Sensitive:  []string{"env"},
	}})
}

func TestOpenRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []string{`{}`, `{"command":"/definitely/not/here"}`} {
		if _, err := New(quiet()).Open(context.Background(), transport.OpenRequest{Name: "bad", Config: json.RawMessage(cfg)}); err == nil {
			t.Errorf("Open(%s) succeeded", cfg)
		}
	}
}

func TestStderrIsLoggedNotForwarded(t *testing.T) {
	t.Parallel()
	var logs syncbuf.Buffer
	tr := New(hclog.New(&hclog.LoggerOptions{Output: &logs, JSONFormat: true, Level: hclog.Info}))
	c := plugintest.Open(t, tr, config(t, "echo", nil), 0)
	for i := range 3 {
		if err := c.Send(context.Background(), jsonrpc.Request(jsonrpc.Int(int64(i)), "echo", []byte(`{}`))); err != nil {
			t.Fatal(err)
		}
		msg := recvWithin(t, c)
		if bytes.Contains(msg, []byte("noise")) {
			t.Fatalf("stderr leaked into the protocol stream: %s", msg)
		}
		if env, err := jsonrpc.Peek(msg); err != nil || env.Kind != jsonrpc.KindResponse {
			t.Fatalf("not a response: %s", msg)
		}
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Close waits for the stderr reader, so every line is logged by now.
	found := 0
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if msg, _ := entry["@message"].(string); strings.Contains(msg, "noise") {
			if entry["stream"] != "stderr" || entry["server"] != t.Name() || entry["@level"] != "info" {
				t.Errorf("stderr log entry lacks stream/server/level: %s", line)
			}
			found++
		}
	}
	if found != 4 {
		t.Errorf("found %d stderr lines in the log, want 4:\n%s", found, logs.String())
	}
}

func recvWithin(t testing.TB, c transport.Conn) []byte {
	t.Helper()
	msg, err := recvErr(c)
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	return msg
}

func recvErr(c transport.Conn) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.Recv(ctx)
}

func TestExitStatusEndsRecv(t *testing.T) {
	t.Parallel()
	c := plugintest.Open(t, New(quiet()), config(t, "exit3", nil), 0)
	if msg := recvWithin(t, c); !bytes.Contains(msg, []byte(`"bye"`)) {
		t.Fatalf("got %s, want the message written before exiting", msg)
	}
	_, err := recvErr(c)
	var exit *transport.ExitError
	if !errors.Is(err, transport.ErrClosed) || !errors.As(err, &exit) ||
		exit.Error() != "exited with status 3; last stderr: first words | oops" {
		t.Fatalf("Recv = %v, want ErrClosed with exited with status 3 and its stderr", err)
	}
	// The error stays put.
	if _, again := recvErr(c); fmt.Sprint(again) != fmt.Sprint(err) {
		t.Fatalf("second Recv = %v, want %v", again, err)
	}
}

func TestFraming(t *testing.T) {
	t.Parallel()
	c := plugintest.Open(t, New(quiet()), config(t, "framing", nil), 1024)
	// Blank lines are skipped, "\r\n" endings trimmed, the oversized line
	// dropped without ending the connection, and a last unterminated line
	// still delivered.
	for _, want := range []string{"crlf", "after-big", "no-newline"} {
		msg := recvWithin(t, c)
		if got, _ := jsonrpc.GetString(msg, "method"); got != want || bytes.ContainsAny(msg, "\r\n") {
			t.Fatalf("got %q, want method %q on one line", msg, want)
		}
	}
	if _, err := recvErr(c); !errors.Is(err, transport.ErrClosed) || !strings.Contains(err.Error(), "exited with status 0") {
		t.Fatalf("Recv = %v, want ErrClosed with exit status 0", err)
	}
}

func TestEnvironment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name     string
		inherit  any // nil leaves the attribute out
		wantPath bool
	}{
		{"default inherits", nil, true},
		{"inherit", true, true},
		{"no inherit", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			extra := map[string]any{"env": map[string]string{modeEnv: "env", "SECRET": "s3cret", "GORACE": "atexit_sleep_ms=0"}, "cwd": dir}
			if tt.inherit != nil {
				extra["inherit_env"] = tt.inherit
			}
			c := plugintest.Open(t, New(quiet()), config(t, "env", extra), 0)
			msg := recvWithin(t, c)
			var p struct {
				Secret  string
				HasPath bool
				Cwd     string
			}
			if err := json.Unmarshal(jsonrpc.Get(msg, "params"), &p); err != nil {
				t.Fatal(err)
			}
			if p.Secret != "s3cret" || p.HasPath != tt.wantPath || p.Cwd != dir {
				t.Errorf("child saw %+v, want secret, cwd %s and hasPath %v", p, dir, tt.wantPath)
			}
		})
	}
}

// gone reports whether pid no longer runs. A zombie counts as gone: an
// orphaned grandchild is reaped by init, which may be slow in a container.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return os.IsNotExist(err)
	}
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && len(stat) > i+2 && stat[i+2] == 'Z'
}

func waitGone(t testing.TB, pid int, reaped bool) {
	t.Helper()
	poll.Within(t, 5*time.Second, fmt.Sprintf("process %d gone", pid), func() bool {
		if reaped {
			// Our own child must be reaped, not merely dead.
			return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
		}
		return gone(pid)
	})
}

func TestCloseKills(t *testing.T) {
	t.Parallel()
	pidMsg := `echo "{\"jsonrpc\":\"2.0\",\"method\":\"pid\",\"params\":$!}"`
	tests := []struct {
		name string
		// config, and whether the backend reports a grandchild's pid
		config      func(t *testing.T) json.RawMessage
		grandchild  bool
		minDuration time.Duration // SIGKILL comes after stop_timeout + 1s
		wantStatus  string
	}{
		{
			name: "ignores stdin EOF and SIGTERM",
			config: func(t *testing.T) json.RawMessage {
				return config(t, "stubborn", map[string]any{"stop_timeout": "200ms"})
			},
			minDuration: 1200 * time.Millisecond,
			wantStatus:  "killed by signal 9",
		},
		{
			name: "exits on EOF but leaves a grandchild",
			config: func(*testing.T) json.RawMessage {
				return json.RawMessage(fmt.Sprintf(`{"command":"sh","args":["-c",%q]}`, "sleep 300 & "+pidMsg+"; cat"))
			},
			grandchild: true,
			wantStatus: "exited with status 0",
		},
		{
			name: "ignores everything and has a grandchild",
			config: func(*testing.T) json.RawMessage {
				script := `trap "" TERM; sleep 300 & ` + pidMsg + `; while :; do sleep 1; done`
				return json.RawMessage(fmt.Sprintf(`{"command":"sh","args":["-c",%q],"stop_timeout":"200ms"}`, script))
			},
			grandchild:  true,
			minDuration: 1200 * time.Millisecond,
			wantStatus:  "killed by signal 9",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := New(quiet())
			r, err := tr.Open(context.Background(), transport.OpenRequest{Name: "kill", Config: tt.config(t)})
			if err != nil {
				t.Fatal(err)
			}
			c := r.Conn.(*conn)
			// The first line proves the child is set up (signals ignored,
			// grandchild started) before we close it.
			first := recvWithin(t, c)
			grandchild := 0
			if tt.grandchild {
				if err := json.Unmarshal(jsonrpc.Get(first, "params"), &grandchild); err != nil || grandchild <= 0 {
					t.Fatalf("no grandchild pid in %s", first)
				}
				if gone(grandchild) {
					t.Fatalf("grandchild %d not running before Close", grandchild)
				}
			}
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := c.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d < tt.minDuration || d > 4*time.Second {
				t.Errorf("Close took %v, want between %v and 4s", d, tt.minDuration)
			}
			waitGone(t, c.pid, true)
			if grandchild != 0 {
				waitGone(t, grandchild, false)
			}
			if _, err := recvErr(c); !errors.Is(err, transport.ErrClosed) || !strings.Contains(err.Error(), tt.wantStatus) {
				t.Errorf("Recv after Close = %v, want ErrClosed with %q", err, tt.wantStatus)
			}
			if err := c.Close(ctx); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

func TestCloseHonoursContextDeadline(t *testing.T) {
	t.Parallel()
	c := plugintest.Open(t, New(quiet()), config(t, "stubborn", map[string]any{"stop_timeout": "1m"}), 0).(*conn)
	recvWithin(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_ = c.Close(ctx)
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Close took %v despite a 100ms deadline", d)
	}
	waitGone(t, c.pid, true)
}

func TestStopAndMetrics(t *testing.T) {
	t.Parallel()
	tr := New(quiet())
	var conns []transport.Conn
	for _, name := range []string{`one`, `two "quoted"`} {
		r, err := tr.Open(context.Background(), transport.OpenRequest{Name: name, Config: config(t, "echo", nil)})
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, r.Conn)
		if err := r.Conn.Send(context.Background(), []byte(`{"jsonrpc":"2.0","id":1,"method":"echo","params":{}}`)); err != nil {
			t.Fatal(err)
		}
		recvWithin(t, r.Conn)
	}
	m, err := tr.Metrics(context.Background(), base.MetricsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`mcphost_stdio_messages_sent_total{server="one"} 1`,
		`mcphost_stdio_messages_received_total{server="one"} 1`,
		`mcphost_stdio_bytes_sent_total{server="one"} 52`,
		`mcphost_stdio_open_connections{server="one"} 1`,
		`mcphost_stdio_open_connections{server="two \"quoted\""} 1`,
	} {
		if !strings.Contains(m.PrometheusText, want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, m.PrometheusText)
		}
	}
	if _, err := tr.Stop(context.Background(), base.StopRequest{DeadlineUnixNano: time.Now().Add(5 * time.Second).UnixNano()}); err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		if _, err := recvErr(c); !errors.Is(err, transport.ErrClosed) {
			t.Errorf("Recv after Stop = %v, want ErrClosed", err)
		}
		waitGone(t, c.(*conn).pid, true)
	}
	m, _ = tr.Metrics(context.Background(), base.MetricsRequest{})
	if !strings.Contains(m.PrometheusText, `mcphost_stdio_open_connections{server="one"} 0`) {
		t.Errorf("open connections not back to 0:\n%s", m.PrometheusText)
	}
}

// TestPipesHandedOver runs backends behind the plugin's gRPC server, as a
// host in another process does: the host gets the child's pipes, so the
// messages never pass through the plugin, while the exit status still
// comes from it.
func TestPipesHandedOver(t *testing.T) {
	t.Parallel()
	tr := New(quiet())
	client := plugintest.ServeTransport(t, tr)

	echo := plugintest.Open(t, client, config(t, "echo", nil), 0)
	for i := range 3 {
		msg := jsonrpc.Request(jsonrpc.Int(int64(i)), "echo", []byte(`{}`))
		if err := echo.Send(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
		recvWithin(t, echo)
	}
	m, err := tr.Metrics(context.Background(), base.MetricsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	server := strings.NewReplacer("/", "_").Replace(t.Name())
	for _, want := range []string{
		`mcphost_stdio_messages_sent_total{server="` + server + `"} 0`,
		`mcphost_stdio_messages_received_total{server="` + server + `"} 0`,
		`mcphost_stdio_open_connections{server="` + server + `"} 1`,
	} {
		if !strings.Contains(m.PrometheusText, want+"\n") {
			t.Errorf("metrics lack %q: the messages should bypass the plugin\n%s", want, m.PrometheusText)
		}
	}

	exit3 := plugintest.Open(t, client, config(t, "exit3", nil), 0)
	if msg := recvWithin(t, exit3); !bytes.Contains(msg, []byte(`"bye"`)) {
		t.Fatalf("got %s, want the message written before exiting", msg)
	}
	// The exit status and stderr cross to the host as an ExitError.
	var exit *transport.ExitError
	if _, err := recvErr(exit3); !errors.Is(err, transport.ErrClosed) || !errors.As(err, &exit) ||
		exit.Error() != "exited with status 3; last stderr: first words | oops" {
		t.Fatalf("Recv = %v, want ErrClosed with exited with status 3 and its stderr", err)
	}
}

func TestHandOver(t *testing.T) {
	t.Parallel()
	tr := New(quiet())
	ctx := context.Background()

	r, err := tr.Open(ctx, transport.OpenRequest{Name: "read", Config: config(t, "exit3", nil)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Conn.Close(ctx) })
	recvWithin(t, r.Conn)
	if _, err := r.Conn.(*conn).HandOver(ctx, transport.HandOverRequest{}); err == nil {
		t.Error("HandOver after Recv succeeded; the reader may hold buffered output")
	}

	r, err = tr.Open(ctx, transport.OpenRequest{Name: "fresh", Config: config(t, "echo", nil)})
	if err != nil {
		t.Fatal(err)
	}
	c := r.Conn.(*conn)
	t.Cleanup(func() { _ = c.Close(ctx) })
	pipes, err := c.HandOver(ctx, transport.HandOverRequest{})
	if err != nil || pipes.In == nil || pipes.Out == nil {
		t.Fatalf("HandOver = %+v, %v", pipes, err)
	}
	// As the SDK does once it has passed them on: the conn keeps copies.
	pipes.In.Close()
	pipes.Out.Close()
	if err := c.Send(ctx, []byte(`{}`)); err == nil {
		t.Error("Send after HandOver succeeded")
	}
	if _, err := c.Recv(ctx); err == nil {
		t.Error("Recv after HandOver succeeded")
	}
	waitCtx, cancel := context.WithCancel(ctx)
	cancel()
	if err := c.Wait(waitCtx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with a cancelled ctx = %v", err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Exit status 0: closing the kept copy of stdin ended the child, with
	// no signal needed.
	if err := c.Wait(ctx); !errors.Is(err, transport.ErrClosed) || !strings.Contains(err.Error(), "exited with status 0") {
		t.Errorf("Wait after Close = %v, want ErrClosed with exit status 0", err)
	}
}

// TestHandedOverConnectionsLeakNothing opens, uses and closes connections
// whose pipes are handed over, ending each in a different way: the
// process is left with no more descriptors or goroutines than before. Not
// parallel: it counts the whole process's.
func TestHandedOverConnectionsLeakNothing(t *testing.T) {
	client := plugintest.ServeTransport(t, New(quiet()))
	// One connection first, so that lazily started parts (gRPC's
	// connection, the poller) are in the baseline.
	warm := plugintest.Open(t, client, config(t, "echo", nil), 0)
	closeWithin(t, warm)
	fds, goroutines := countFDs(t), runtime.NumGoroutine()
	for _, mode := range []string{"echo", "exit3"} {
		for range 3 {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			// A minute's stop_timeout: the echo child exits at the end of
			// its input at once, provided the host closed its copy first.
			r, err := client.Open(ctx, transport.OpenRequest{Name: "leak", Config: config(t, mode, map[string]any{"stop_timeout": "1m"})})
			if err != nil {
				cancel()
				t.Fatal(err)
			}
			if mode == "echo" {
				if err := r.Conn.Send(ctx, jsonrpc.Request(jsonrpc.Int(1), "echo", []byte(`{}`))); err != nil {
					t.Fatal(err)
				}
			}
			recvWithin(t, r.Conn)
			if mode == "exit3" {
				if _, err := recvErr(r.Conn); !errors.Is(err, transport.ErrClosed) {
					t.Fatalf("Recv = %v, want ErrClosed", err)
				}
			}
			start := time.Now()
			closeWithin(t, r.Conn)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("Close took %v: the child did not see the end of its input", d)
			}
			cancel()
		}
	}
	poll.Within(t, 10*time.Second, "descriptors and goroutines back to where they were", func() error {
		if nowFDs, nowGoroutines := countFDs(t), runtime.NumGoroutine(); nowFDs > fds || nowGoroutines > goroutines {
			return fmt.Errorf("descriptors %d → %d, goroutines %d → %d", fds, nowFDs, goroutines, nowGoroutines)
		}
		return nil
	})
}

func closeWithin(t *testing.T, c transport.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func countFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(entries)
}

// TestStartErrors: a command that cannot be started is said in plain
// words, in process and across gRPC alike (no gRPC wording).
func TestStartErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notExec := filepath.Join(dir, "not-executable")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, command, want string
	}{
		{name: "not in PATH", command: "ghost-command-mcphost", want: `command "ghost-command-mcphost" not found in PATH`},
		{name: "no such file", command: filepath.Join(dir, "nothing"), want: fmt.Sprintf("command %q not found", filepath.Join(dir, "nothing"))},
		{name: "not executable", command: notExec, want: fmt.Sprintf("command %q is not executable (permission denied)", notExec)},
	}
	for _, tt := range tests {
		for _, mode := range []string{"in process", "grpc"} {
			t.Run(tt.name+" "+mode, func(t *testing.T) {
				t.Parallel()
				var tr transport.Transport = New(quiet())
				if mode == "grpc" {
					tr = plugintest.ServeTransport(t, New(quiet()))
				}
				cfg, _ := json.Marshal(map[string]any{"command": tt.command})
				_, err := tr.Open(context.Background(), transport.OpenRequest{Name: "s", Config: cfg})
				if err == nil || err.Error() != tt.want || transport.Reason(err) != tt.want {
					t.Fatalf("Open = %v, want %q", err, tt.want)
				}
			})
		}
	}
}
