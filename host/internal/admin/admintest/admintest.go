// Package admintest is the one in-memory admin.Control for tests: the admin
// API's own tests and those of `mcphost ctl` serve it instead of a proxy.
package admintest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/mcphost/mcphost/host/internal/admin"
)

// Control is an admin.Control over fixed data that records the actions
// asked of it. The exported fields may be set before the fake is served;
// New fills them.
type Control struct {
	ToolList     []admin.Tool
	SessionList  []admin.Session
	Metrics      admin.MetricsSummary
	ConfigValue  any
	ReloadResult admin.ReloadResult
	ReloadErr    error
	TracingState admin.TracingStatus
	// TraceToolFunc and TraceResourceFunc answer TraceTool and
	// TraceResource.
	TraceToolFunc     func(name string, args json.RawMessage) (json.RawMessage, error)
	TraceResourceFunc func(uri string) (json.RawMessage, error)

	mu        sync.Mutex
	servers   []admin.ServerStatus
	logs      map[string][]string
	calls     []string
	followers map[string][]chan string
	watchers  []chan admin.Event
}

// New is a Control with two servers (alpha running, beta failed) plus the
// host's own log "mcphost".
func New() *Control {
	p50, p99 := 1.5, 20.0
	c := &Control{
		ToolList: []admin.Tool{{Name: "alpha__echo", Server: "alpha", OriginalName: "echo", Description: "echoes"}},
		SessionList: []admin.Session{{ID: "s1", Listener: "http", ProtocolVersion: "2025-06-18", ClientName: "claude-code",
			ClientVersion: "1.0", Started: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), InFlight: 1}},
		Metrics: admin.MetricsSummary{
			Servers: []admin.ServerMetrics{
				{Server: "alpha", Counts: admin.Counts{Requests: 10, Errors: 1}, Latency: admin.Latency{P50Ms: &p50, P99Ms: &p99}},
				{Server: "beta", Counts: admin.Counts{Requests: 2, Timeouts: 2}},
			},
			Totals: admin.MetricsTotals{Counts: admin.Counts{Requests: 12, Errors: 1, Timeouts: 2}},
		},
		ConfigValue: admin.ConfigView{
			File: "proxy.hcl",
			Proxy: admin.ConfigProxy{RequestTimeout: "1m0s", Translators: []string{"versions"},
				Restart: admin.ConfigRestart{Window: "5m0s"}, Health: admin.ConfigHealth{Interval: "30s"}},
			Listeners: []admin.ConfigListener{{Kind: "http", Address: "127.0.0.1:3000", AllowedOrigins: []string{}, AuthToken: "(redacted)"}},
			Tracing:   &admin.ConfigTracing{Plugin: "tracing", IdleGap: "30s"},
			Plugins:   []admin.ConfigPlugin{{Name: "stdio", Source: "builtin", Mode: "subprocess"}},
			Servers: []admin.ConfigServer{{
				Name: "alpha", Transport: "stdio", Restart: admin.ConfigRestart{Window: "5m0s"}, Health: admin.ConfigHealth{Interval: "30s"},
				TransportConfig: json.RawMessage(`{"command":"alpha","env":{"API_KEY":"(redacted)"}}`),
			}},
		},
		ReloadResult:      admin.ReloadResult{Applied: true, Added: []string{"gamma"}, Unchanged: []string{"alpha", "beta"}},
		TracingState:      admin.TracingStatus{Enabled: true, Reason: "store unusable", Failures: 2},
		TraceToolFunc:     echoTraceTool,
		TraceResourceFunc: echoTraceResource,
		followers:         map[string][]chan string{},
	}
	c.SetServers([]admin.ServerStatus{
		{Name: "alpha", State: admin.StateRunning, ProtocolVersion: "2025-06-18", Transport: "stdio", Tools: 3, Prompts: 1, Resources: 2, Templates: 1},
		{Name: "beta", State: admin.StateFailed, Reason: "exited", Transport: "http", Restarts: 2, LastError: "exit status 1",
			NextAttempt: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)},
	})
	c.SetLogs(map[string][]string{
		"alpha":   {"a1", "a2", "a3"},
		"beta":    {"b1"},
		"mcphost": {"host started"},
	})
	return c
}

// echoTraceTool fails as the proxy does for the tool names "off" and
// "empty", and otherwise echoes the tool and its arguments.
func echoTraceTool(name string, args json.RawMessage) (json.RawMessage, error) {
	switch name {
	case "off":
		return nil, admin.ErrTracingOff
	case "empty":
		return nil, fmt.Errorf("%w: no client response has been traced", admin.ErrNothingRecorded)
	}
	quoted, _ := json.Marshal(name)
	return json.RawMessage(`{"tool":` + string(quoted) + `,"args":` + string(args) + `}`), nil
}

func echoTraceResource(uri string) (json.RawMessage, error) {
	quoted, _ := json.Marshal(uri)
	return json.RawMessage(`{"contents":[{"uri":` + string(quoted) + `,"text":"{}"}]}`), nil
}

// SetServers replaces the servers the fake reports.
func (c *Control) SetServers(servers []admin.ServerStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.servers = slices.Clone(servers)
}

// SetLogs replaces the logs by name; the names are the known servers' (and
// "mcphost").
func (c *Control) SetLogs(logs map[string][]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.logs = map[string][]string{}
	for name, lines := range logs {
		c.logs[name] = slices.Clone(lines)
	}
}

func (c *Control) Servers() []admin.ServerStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.servers)
}

// act records verb on a known server and sets its state.
func (c *Control) act(verb, name, state string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.servers {
		if c.servers[i].Name == name {
			c.calls = append(c.calls, verb+" "+name)
			c.servers[i].State = state
			return nil
		}
	}
	return fmt.Errorf("%w %q", admin.ErrUnknownServer, name)
}

func (c *Control) StartServer(_ context.Context, name string) error {
	return c.act("start", name, admin.StateRunning)
}

func (c *Control) StopServer(_ context.Context, name string) error {
	return c.act("stop", name, admin.StateStopped)
}

func (c *Control) RestartServer(_ context.Context, name string) error {
	return c.act("restart", name, admin.StateRunning)
}

// Calls are the actions asked so far ("restart alpha", "reload",
// "trace get_trace"), oldest first.
func (c *Control) Calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls)
}

func (c *Control) Tools() []admin.Tool                  { return c.ToolList }
func (c *Control) Sessions() []admin.Session            { return c.SessionList }
func (c *Control) MetricsSummary() admin.MetricsSummary { return c.Metrics }
func (c *Control) Config() any                          { return c.ConfigValue }
func (c *Control) Tracing() admin.TracingStatus         { return c.TracingState }

// lines is the last n lines of a log; c.mu is held.
func (c *Control) lines(name string, n int) ([]string, error) {
	lines, ok := c.logs[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", admin.ErrUnknownServer, name)
	}
	return slices.Clone(lines[max(0, len(lines)-n):]), nil
}

func (c *Control) Logs(name string, n int) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lines(name, n)
}

func (c *Control) FollowLogs(ctx context.Context, name string, n int) (<-chan string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	lines, err := c.lines(name, n)
	if err != nil {
		return nil, err
	}
	ch := make(chan string, len(lines)+64)
	for _, l := range lines {
		ch <- l
	}
	c.followers[name] = append(c.followers[name], ch)
	context.AfterFunc(ctx, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.followers[name] = slices.DeleteFunc(c.followers[name], func(f chan string) bool { return f == ch })
		close(ch)
	})
	return ch, nil
}

// WriteLog appends a line to a log and hands it to its followers.
func (c *Control) WriteLog(name, line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.logs[name] = append(c.logs[name], line)
	for _, ch := range c.followers[name] {
		ch <- line
	}
}

func (c *Control) Reload(context.Context) (admin.ReloadResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, "reload")
	return c.ReloadResult, c.ReloadErr
}

func (c *Control) Events(ctx context.Context) <-chan admin.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan admin.Event, 64)
	c.watchers = append(c.watchers, ch)
	context.AfterFunc(ctx, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.watchers = slices.DeleteFunc(c.watchers, func(w chan admin.Event) bool { return w == ch })
		close(ch)
	})
	return ch
}

// Emit hands ev to every Events stream.
func (c *Control) Emit(ev admin.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ch := range c.watchers {
		ch <- ev
	}
}

func (c *Control) TraceTool(_ context.Context, name string, args json.RawMessage) (json.RawMessage, error) {
	c.mu.Lock()
	c.calls = append(c.calls, "trace "+name)
	c.mu.Unlock()
	return c.TraceToolFunc(name, args)
}

func (c *Control) TraceResource(_ context.Context, uri string) (json.RawMessage, error) {
	return c.TraceResourceFunc(uri)
}

var _ admin.Control = (*Control)(nil)
