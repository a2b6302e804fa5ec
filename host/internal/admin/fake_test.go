package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"
)

// fakeControl is a Control with two servers (alpha running, beta failed)
// plus the host's own log "mcphost".
type fakeControl struct {
	mu        sync.Mutex
	servers   []ServerStatus
	logs      map[string][]string
	calls     []string
	followers map[string][]chan string
	watchers  []chan Event
	reloadRes ReloadResult
	reloadErr error
}

func newFake() *fakeControl {
	return &fakeControl{
		servers: []ServerStatus{
			{Name: "alpha", State: StateRunning, ProtocolVersion: "2025-06-18", Transport: "stdio", Tools: 3, Prompts: 1, Resources: 2, Templates: 1},
			{Name: "beta", State: StateFailed, Reason: "exited", Transport: "http", Restarts: 2, LastError: "exit status 1",
				NextAttempt: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)},
		},
		logs: map[string][]string{
			"alpha":   {"a1", "a2", "a3"},
			"beta":    {"b1"},
			"mcphost": {"host started"},
		},
		followers: map[string][]chan string{},
		reloadRes: ReloadResult{Applied: true, Added: []string{"gamma"}, Unchanged: []string{"alpha", "beta"}},
	}
}

func (f *fakeControl) Servers() []ServerStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.servers)
}

func (f *fakeControl) act(verb, name, state string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.servers {
		if f.servers[i].Name == name {
			f.calls = append(f.calls, verb+" "+name)
			f.servers[i].State = state
			return nil
		}
	}
	return fmt.Errorf("%w %q", ErrUnknownServer, name)
}

func (f *fakeControl) StartServer(_ context.Context, name string) error {
	return f.act("start", name, StateRunning)
}

func (f *fakeControl) StopServer(_ context.Context, name string) error {
	return f.act("stop", name, StateStopped)
}

func (f *fakeControl) RestartServer(_ context.Context, name string) error {
	return f.act("restart", name, StateRunning)
}

func (f *fakeControl) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeControl) Tools() []Tool {
	return []Tool{{Name: "alpha__echo", Server: "alpha", OriginalName: "echo", Description: "echoes"}}
}

func (f *fakeControl) Sessions() []Session {
	return []Session{{ID: "s1", Listener: "http", ProtocolVersion: "2025-06-18", ClientName: "claude-code",
		ClientVersion: "1.0", Started: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), InFlight: 1}}
}

func (f *fakeControl) lines(name string, n int) ([]string, error) {
	lines, ok := f.logs[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownServer, name)
	}
	if n < len(lines) {
		lines = lines[len(lines)-n:]
	}
	return slices.Clone(lines), nil
}

func (f *fakeControl) Logs(name string, n int) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lines(name, n)
}

func (f *fakeControl) FollowLogs(ctx context.Context, name string, n int) (<-chan string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	lines, err := f.lines(name, n)
	if err != nil {
		return nil, err
	}
	ch := make(chan string, len(lines)+64)
	for _, l := range lines {
		ch <- l
	}
	f.followers[name] = append(f.followers[name], ch)
	context.AfterFunc(ctx, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.followers[name] = slices.DeleteFunc(f.followers[name], func(c chan string) bool { return c == ch })
		close(ch)
	})
	return ch, nil
}

// writeLog appends a line to a log and hands it to the followers.
func (f *fakeControl) writeLog(name, line string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs[name] = append(f.logs[name], line)
	for _, ch := range f.followers[name] {
		ch <- line
	}
}

func (f *fakeControl) MetricsSummary() MetricsSummary {
	p50, p99 := 1.5, 20.0
	return MetricsSummary{
		Servers: []ServerMetrics{
			{Server: "alpha", Counts: Counts{Requests: 10, Errors: 1}, Latency: Latency{P50Ms: &p50, P99Ms: &p99}},
			{Server: "beta", Counts: Counts{Requests: 2, Timeouts: 2}},
		},
		Totals: MetricsTotals{Counts: Counts{Requests: 12, Errors: 1, Timeouts: 2}},
	}
}

func (f *fakeControl) Config() any {
	return ConfigView{
		File:      "proxy.hcl",
		Proxy:     ConfigProxy{RequestTimeout: "1m0s", Translators: []string{"versions"}, Restart: ConfigRestart{Window: "5m0s"}, Health: ConfigHealth{Interval: "30s"}},
		Listeners: []ConfigListener{{Kind: "http", Address: "127.0.0.1:3000", AllowedOrigins: []string{}, AuthToken: "(redacted)"}},
		Tracing:   &ConfigTracing{Plugin: "tracing", IdleGap: "30s"},
		Plugins:   []ConfigPlugin{{Name: "stdio", Source: "builtin", Mode: "subprocess"}},
		Servers: []ConfigServer{{
			Name: "alpha", Transport: "stdio", Restart: ConfigRestart{Window: "5m0s"}, Health: ConfigHealth{Interval: "30s"},
			TransportConfig: json.RawMessage(`{"command":"alpha","env":{"API_KEY":"(redacted)"}}`),
		}},
	}
}

func (f *fakeControl) Reload(context.Context) (ReloadResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "reload")
	return f.reloadRes, f.reloadErr
}

func (f *fakeControl) Events(ctx context.Context) <-chan Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan Event, 64)
	f.watchers = append(f.watchers, ch)
	context.AfterFunc(ctx, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.watchers = slices.DeleteFunc(f.watchers, func(c chan Event) bool { return c == ch })
		close(ch)
	})
	return ch
}

func (f *fakeControl) emit(ev Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ch := range f.watchers {
		ch <- ev
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (f *fakeControl) TraceTool(_ context.Context, name string, args json.RawMessage) (json.RawMessage, error) {
	f.mu.Lock()
	f.calls = append(f.calls, "trace "+name)
	f.mu.Unlock()
	switch name {
	case "off":
		return nil, ErrTracingOff
	case "empty":
		return nil, fmt.Errorf("%w: no client response has been traced", ErrNothingRecorded)
	}
	quoted, _ := json.Marshal(name)
	return json.RawMessage(`{"tool":` + string(quoted) + `,"args":` + string(args) + `}`), nil
}

func (f *fakeControl) TraceResource(_ context.Context, uri string) (json.RawMessage, error) {
	quoted, _ := json.Marshal(uri)
	return json.RawMessage(`{"contents":[{"uri":` + string(quoted) + `,"text":"{}"}]}`), nil
}

func (f *fakeControl) Tracing() TracingStatus {
	return TracingStatus{Enabled: true, Reason: "store unusable", Failures: 2}
}
