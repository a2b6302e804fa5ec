package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/mcphost/mcphost/sdk/base"
	"github.com/zclconf/go-cty/cty"
)

func noEnv(string) (string, bool) { return "", false }

func mapEnv(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// loc formats the start of a diagnostic's subject as base(file):line:col.
func loc(d *hcl.Diagnostic) string {
	if d.Subject == nil {
		return "(no subject)"
	}
	return fmt.Sprintf("%s:%d:%d", filepath.Base(d.Subject.Filename), d.Subject.Start.Line, d.Subject.Start.Column)
}

func diagString(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		b.WriteString(FormatDiagnostic(d))
		b.WriteString("\n")
	}
	return b.String()
}

// writeConfig writes src as proxy.hcl in a new temporary directory, along
// with the given extra files, and returns the config path.
func writeConfig(t *testing.T, src string, extra map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range extra {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "proxy.hcl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustLoad(t *testing.T, path string, opts LoadOptions) *Config {
	t.Helper()
	cfg, diags := Load(path, opts)
	if diags.HasErrors() || cfg == nil {
		t.Fatalf("unexpected diagnostics:\n%s", diagString(diags))
	}
	return cfg
}

func TestFullConfig(t *testing.T) {
	t.Parallel()
	binary := []byte("#!/bin/sh\necho plugin\n")
	sum := sha256.Sum256(binary)
	hexSum := hex.EncodeToString(sum[:])
	src := `variable "port" {
  default = 3000
}

proxy {
  tool_name_template    = "{server}_{tool}"
  prompt_name_template  = "{server}.{prompt}"
  resource_uri_template = "proxy://{server}/{uri}"
  max_message_bytes     = 2097152
  outbox_bytes          = 33554432
  session_max_in_flight = 8
  request_timeout       = "90s"
  shutdown_timeout      = "5s"
  log_level             = "debug"
  log_format            = "json"
}

listen "http" {
  address         = "0.0.0.0:${var.port}"
  path            = "/rpc"
  allowed_origins = ["http://localhost:6274", "https://example.com"]
  auth_token      = env("MCPHOST_TOKEN", "")
}

plugin "stdio" {
  mode = "inprocess"
}

plugin "sse" {
  source  = "./mcphost-sse"
  sha256  = "` + hexSum + `"
  version = ">= 0.1.0"
  config {
    keepalive = "15s"
  }
}

server "everything" {
  enabled         = false
  prefix          = false
  request_timeout = "30s"
  transport "stdio" {
    command = mcphost.executable
    args    = ["example-server", upper("x")]
  }
}

server "remote" {
  transport "sse" {
    url = "http://localhost:9000/sse"
  }
}
`
	path := writeConfig(t, src, map[string][]byte{"mcphost-sse": binary})
	cfg := mustLoad(t, path, LoadOptions{
		Vars:       map[string]cty.Value{"port": cty.NumberIntVal(4000)},
		Executable: "/usr/bin/mcphost",
		LookupEnv:  mapEnv(map[string]string{"MCPHOST_TOKEN": "s3cret"}),
	})
	dir := filepath.Dir(path)

	if cfg.Filename != path || cfg.Dir != dir {
		t.Errorf("Filename, Dir = %q, %q; want %q, %q", cfg.Filename, cfg.Dir, path, dir)
	}
	wantProxy := Proxy{
		ToolNameTemplate:    "{server}_{tool}",
		PromptNameTemplate:  "{server}.{prompt}",
		ResourceURITemplate: "proxy://{server}/{uri}",
		NameBudget:          DefaultNameBudget,
		MaxMessageBytes:     2 << 20,
		SessionOutboxBytes:  2<<20 + SessionOutboxSlack,
		OutboxBytes:         32 << 20,
		SessionMaxInFlight:  8,
		MaxNestingDepth:     DefaultMaxNestingDepth,
		RequestTimeout:      90 * time.Second,
		ShutdownTimeout:     5 * time.Second,
		StartupWait:         DefaultStartupWait,
		LogLevel:            "debug",
		LogFormat:           "json",
		Restart:             DefaultRestart(),
		Health:              DefaultHealth(),
		Translators:         []string{DefaultTranslator},
		LogDir:              filepath.Join(dir, DefaultLogDir),
		LogMaxBytes:         DefaultLogMaxBytes,
		LogMaxFiles:         DefaultLogMaxFiles,
		LogMaxAge:           DefaultLogMaxAge,
		ToolMode:            DefaultToolMode,
	}
	gotProxy := cfg.Proxy
	if gotProxy.DeclRange.Start.Line != 5 {
		t.Errorf("Proxy.DeclRange = %v; want line 5", gotProxy.DeclRange)
	}
	gotProxy.DeclRange = hcl.Range{}
	if !reflect.DeepEqual(gotProxy, wantProxy) {
		t.Errorf("Proxy = %+v; want %+v", gotProxy, wantProxy)
	}

	if len(cfg.Listeners) != 1 {
		t.Fatalf("Listeners = %+v; want 1", cfg.Listeners)
	}
	l := cfg.Listeners[0]
	if l.Kind != "http" || l.Address != "0.0.0.0:4000" || l.Path != "/rpc" || l.AuthToken != "s3cret" ||
		!reflect.DeepEqual(l.AllowedOrigins, []string{"http://localhost:6274", "https://example.com"}) ||
		l.MaxSessions != DefaultMaxSessions || l.DeclRange.Start.Line != 18 {
		t.Errorf("Listener = %+v", l)
	}

	if len(cfg.Plugins) != 2 {
		t.Fatalf("Plugins = %+v; want 2", cfg.Plugins)
	}
	stdio, ok := cfg.Plugin("stdio")
	if !ok || stdio.Source != SourceBuiltin || !stdio.Builtin() || stdio.Mode != ModeInprocess || stdio.Config != nil ||
		stdio.SHA256 != "" || stdio.DeclRange.Start.Line != 25 || stdio.ConfigRange != stdio.DeclRange {
		t.Errorf("plugin stdio = %+v", stdio)
	}
	sse, ok := cfg.Plugin("sse")
	if !ok || sse.Source != filepath.Join(dir, "mcphost-sse") || sse.Builtin() || sse.SHA256 != hexSum ||
		sse.Mode != ModeSubprocess || sse.Version != ">= 0.1.0" || sse.Config == nil ||
		sse.DeclRange.Start.Line != 29 || sse.ConfigRange.Start.Line != 33 {
		t.Errorf("plugin sse = %+v", sse)
	}
	if _, ok := cfg.Plugin("nope"); ok {
		t.Error(`Plugin("nope") found`)
	}
	raw, diags := DecodeBody(sse.Config, base.Schema{Attributes: []base.Attribute{{Name: "keepalive", Type: base.TypeString}}}, cfg.EvalContext)
	if diags.HasErrors() || string(raw) != `{"keepalive":"15s"}` {
		t.Errorf("plugin config = %s, %s", raw, diagString(diags))
	}

	if len(cfg.Servers) != 2 {
		t.Fatalf("Servers = %+v; want 2", cfg.Servers)
	}
	ev := cfg.Servers[0]
	if ev.Name != "everything" || ev.Enabled || ev.Prefix || ev.RequestTimeout != 30*time.Second ||
		ev.DeclRange.Start.Line != 38 || ev.Transport.Plugin != "stdio" || ev.Transport.Body == nil ||
		ev.Transport.DeclRange.Start.Line != 42 || ev.Transport.LabelRange.Start.Column != 13 {
		t.Errorf("server everything = %+v", ev)
	}
	raw, diags = DecodeBody(ev.Transport.Body, base.Schema{Attributes: []base.Attribute{
		{Name: "command", Type: base.TypeString, Required: true},
		{Name: "args", Type: base.TypeListString},
	}}, cfg.EvalContext)
	if diags.HasErrors() || string(raw) != `{"args":["example-server","X"],"command":"/usr/bin/mcphost"}` {
		t.Errorf("transport = %s, %s", raw, diagString(diags))
	}
	remote, ok := cfg.Server("remote")
	if !ok || !remote.Enabled || !remote.Prefix || remote.RequestTimeout != 0 || remote.Transport.Plugin != "sse" {
		t.Errorf("server remote = %+v", remote)
	}

	red := cfg.Redacted()
	if red.Listeners[0].AuthToken != RedactedValue || cfg.Listeners[0].AuthToken != "s3cret" {
		t.Errorf("Redacted token = %q, original = %q", red.Listeners[0].AuthToken, cfg.Listeners[0].AuthToken)
	}
	if strings.Contains(fmt.Sprintf("%+v", red.Listeners), "s3cret") {
		t.Error("redacted listeners print the token")
	}
	if cfg.Files[path] == nil {
		t.Error("Files lacks the config file")
	}
}

func TestAdminAndLogSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src       string
		admin     Admin
		logDir    string
		maxFiles  int
		maxAgeSet time.Duration
	}{
		{"admin {\n  enabled = false\n}\n", Admin{}, "/cfg/.mcphost/logs", DefaultLogMaxFiles, DefaultLogMaxAge},
		{"admin {\n  address = \"127.0.0.1:0\"\n  auth_token = \"s\"\n}\nproxy {\n  log_dir = \"l\"\n  log_max_files = 2\n  log_max_age = \"0s\"\n}\n",
			Admin{Address: "127.0.0.1:0", Explicit: true, AuthToken: "s"}, "/cfg/l", 2, 0},
		{"proxy {\n  log_dir = \"\"\n}\n", Admin{Address: DefaultAdminAddress}, "", DefaultLogMaxFiles, DefaultLogMaxAge},
	}
	for _, tc := range tests {
		cfg, diags := Parse([]byte(tc.src), "/cfg/proxy.hcl", LoadOptions{LookupEnv: noEnv})
		if diags.HasErrors() {
			t.Fatal(diagString(diags))
		}
		got := cfg.Admin
		got.DeclRange = hcl.Range{}
		if got != tc.admin || cfg.Proxy.LogDir != tc.logDir || cfg.Proxy.LogMaxFiles != tc.maxFiles || cfg.Proxy.LogMaxAge != tc.maxAgeSet {
			t.Errorf("%q: admin %+v, logs %q %d %s", tc.src, got, cfg.Proxy.LogDir, cfg.Proxy.LogMaxFiles, cfg.Proxy.LogMaxAge)
		}
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	src := `listen "http" {}
plugin "stdio" {}
server "a" {
  transport "stdio" {}
}
`
	cfg, diags := Parse([]byte(src), "proxy.hcl", LoadOptions{LookupEnv: noEnv})
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	p := cfg.Proxy
	if p.ToolNameTemplate != "mcp__proxy__{server}__{tool}" || p.PromptNameTemplate != "mcp__proxy__{server}__{prompt}" ||
		p.ResourceURITemplate != "mcp+proxy://{server}/{uri}" || p.MaxMessageBytes != 64<<20 ||
		p.RequestTimeout != 60*time.Second || p.ShutdownTimeout != 10*time.Second || p.StartupWait != 10*time.Second ||
		p.LogLevel != "info" || p.LogFormat != "text" || p.DeclRange != (hcl.Range{}) {
		t.Errorf("Proxy = %+v", p)
	}
	if a := cfg.Admin; a.Address != DefaultAdminAddress || a.Explicit || a.AuthToken != "" {
		t.Errorf("Admin = %+v", a)
	}
	l := cfg.Listeners[0]
	if l.Address != "127.0.0.1:3000" || l.Path != "/mcp" || l.AllowedOrigins != nil || l.AuthToken != "" ||
		l.SSEPath != "/sse" || l.MessagePath != "/message" || l.WebSocketPath != "/ws" || l.MaxSessions != DefaultMaxSessions {
		t.Errorf("Listener = %+v", l)
	}
	if red := l.Redacted(); red.AuthToken != "" {
		t.Errorf("Redacted empty token = %q", red.AuthToken)
	}
	pl := cfg.Plugins[0]
	if pl.Source != "builtin" || pl.Mode != "subprocess" || pl.Config != nil {
		t.Errorf("Plugin = %+v", pl)
	}
	s := cfg.Servers[0]
	if !s.Enabled || !s.Prefix || s.RequestTimeout != 0 || s.Transport.Plugin != "stdio" {
		t.Errorf("Server = %+v", s)
	}
	wd, _ := os.Getwd()
	if cfg.Dir != wd {
		t.Errorf("Dir = %q; want %q", cfg.Dir, wd)
	}

	empty, diags := Parse(nil, "proxy.hcl", LoadOptions{})
	if diags.HasErrors() || len(empty.Listeners)+len(empty.Plugins)+len(empty.Servers) != 0 {
		t.Errorf("empty config: %+v %s", empty, diagString(diags))
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	const srv = "\nserver \"s\" {\n  transport \"stdio\" {}\n}\n"
	tests := []struct {
		name    string
		src     string
		summary string
		at      string
	}{
		{"syntax", "proxy {\n  log_level = \n}\n", "Invalid expression", "proxy.hcl:2:15"},
		{"unknown block", "proxi {}\n", "Unsupported block type", "proxy.hcl:1:1"},
		{"unknown proxy attribute", "proxy {\n  log_level = \"info\"\n  colour = true\n}\n", "Unsupported argument", "proxy.hcl:3:3"},
		{"unknown server attribute", "server \"s\" {\n  enable = true\n  transport \"stdio\" {}\n}\n", "Unsupported argument", "proxy.hcl:2:3"},
		{"duplicate server", srv + "\n\nserver \"s\" {\n  transport \"stdio\" {}\n}\n", `Duplicate server "s"`, "proxy.hcl:7:1"},
		{"duplicate plugin", "plugin \"stdio\" {}\nplugin \"stdio\" {}\n", `Duplicate plugin "stdio"`, "proxy.hcl:2:1"},
		{"duplicate listener", "listen \"http\" {}\n\nlisten \"http\" {}\n", `Duplicate listener "http"`, "proxy.hcl:3:1"},
		{"duplicate proxy", "proxy {}\nproxy {}\n", "Duplicate proxy block", "proxy.hcl:2:1"},
		{"invalid server name", "server \"bad name\" {\n  transport \"stdio\" {}\n}\n", "Invalid server name", "proxy.hcl:1:8"},
		{"server name too long", "server \"" + strings.Repeat("a", 33) + "\" {\n  transport \"stdio\" {}\n}\n", "Invalid server name", "proxy.hcl:1:8"},
		{"bad proxy duration", "proxy {\n  request_timeout = \"soon\"\n}\n", "Invalid duration", "proxy.hcl:2:21"},
		{"negative duration", "proxy {\n  shutdown_timeout = \"-1s\"\n}\n", "Invalid duration", "proxy.hcl:2:22"},
		{"negative startup wait", "proxy {\n  startup_wait = \"-1s\"\n}\n", "Invalid duration", "proxy.hcl:2:18"},
		{"instance id with a dot", "proxy {\n  instance_id = \"a.b\"\n}\n", "Invalid instance_id", "proxy.hcl:2:17"},
		{"instance id uppercase", "proxy {\n  instance_id = \"Node1\"\n}\n", "Invalid instance_id", "proxy.hcl:2:17"},
		{"instance id empty", "proxy {\n  instance_id = \"\"\n}\n", "Invalid instance_id", "proxy.hcl:2:17"},
		{"instance id too long", "proxy {\n  instance_id = \"" + strings.Repeat("a", 33) + "\"\n}\n", "Invalid instance_id", "proxy.hcl:2:17"},
		{"short request state key", "proxy {\n  request_state_key = \"too-short\"\n}\n", "Invalid request_state_key", "proxy.hcl:2:23"},
		{"peer id with a dot", "proxy {\n  peers = { \"a.b\" = \"http://10.0.0.1:8080/mcp\" }\n}\n", "Invalid peers", "proxy.hcl:2:11"},
		{"peer URL not http", "proxy {\n  peers = { \"mcp-a\" = \"ftp://10.0.0.1/mcp\" }\n}\n", "Invalid peers", "proxy.hcl:2:11"},
		{"peer URL relative", "proxy {\n  peers = { \"mcp-a\" = \"/mcp\" }\n}\n", "Invalid peers", "proxy.hcl:2:11"},
		{"negative drain delay", "proxy {\n  drain_delay = \"-1s\"\n}\n", "Invalid duration", "proxy.hcl:2:17"},
		{"drain delay not a duration", "proxy {\n  drain_delay = 5\n}\n", "Invalid duration", "proxy.hcl:2:17"},
		{"bad server duration", "server \"s\" {\n  request_timeout = 30\n  transport \"stdio\" {}\n}\n", "Invalid duration", "proxy.hcl:2:21"},
		{"template without tool", "proxy {\n  tool_name_template = \"{server}\"\n}\n", "Invalid name template", "proxy.hcl:2:24"},
		{"template without prompt", "proxy {\n  prompt_name_template = \"x_{tool}\"\n}\n", "Invalid name template", "proxy.hcl:2:26"},
		{"template without uri", "proxy {\n  resource_uri_template = \"x://{server}\"\n}\n", "Invalid name template", "proxy.hcl:2:27"},
		{"template unknown placeholder", "proxy {\n  tool_name_template = \"{srv}_{tool}\"\n}\n", "Invalid name template", "proxy.hcl:2:24"},
		{"small max_message_bytes", "proxy {\n  max_message_bytes = 1024\n}\n", "Invalid max_message_bytes", "proxy.hcl:2:23"},
		{"session outbox under one message", "proxy {\n  max_message_bytes = 2097152\n  session_outbox_bytes = 1048576\n}\n", "Invalid session_outbox_bytes", "proxy.hcl:3:26"},
		{"total outbox under one session's", "proxy {\n  session_outbox_bytes = 104857600\n  outbox_bytes = 1048576\n}\n", "Invalid outbox_bytes", "proxy.hcl:3:18"},
		{"negative in-flight bound", "proxy {\n  session_max_in_flight = -1\n}\n", "Invalid session_max_in_flight", "proxy.hcl:2:27"},
		{"negative nesting bound", "proxy {\n  max_nesting_depth = -1\n}\n", "Invalid max_nesting_depth", "proxy.hcl:2:23"},
		{"negative session bound", "listen \"http\" {\n  max_sessions = -5\n}\n", "Invalid max_sessions", "proxy.hcl:2:18"},
		{"fractional session bound", "listen \"http\" {\n  max_sessions = 2.5\n}\n", "Invalid max_sessions", "proxy.hcl:2:18"},
		{"negative resume buffer", "listen \"http\" {\n  resume_buffer_bytes = -1\n}\n", "Invalid resume_buffer_bytes", "proxy.hcl:2:25"},
		{"no resume total", "listen \"http\" {\n  resume_total_bytes = 0\n}\n", "Invalid resume_total_bytes", "proxy.hcl:2:24"},
		{"bad protocol_version", "server \"s\" {\n  protocol_version = \"2025-01-01\"\n  transport \"stdio\" {}\n}\n", "Invalid protocol_version", "proxy.hcl:2:22"},
		{"admin beyond loopback without token", "admin {\n  address = \"0.0.0.0:3001\"\n}\n", "Admin API exposed without a token", "proxy.hcl:1:1"},
		{"bad admin address", "admin {\n  address = \"nope\"\n}\n", "Invalid admin address", "proxy.hcl:2:13"},
		{"small log_max_bytes", "proxy {\n  log_max_bytes = 10\n}\n", "Invalid log_max_bytes", "proxy.hcl:2:19"},
		{"empty translator name", "proxy {\n  translators = [\"versions\", \"\"]\n}\n", "Invalid translators", "proxy.hcl:2:17"},
		{"translators not a list", "proxy {\n  translators = 3\n}\n", "Incorrect attribute value type", "proxy.hcl:2:17"},
		{"fractional max_message_bytes", "proxy {\n  max_message_bytes = 2097152.5\n}\n", "Invalid max_message_bytes", "proxy.hcl:2:23"},
		{"wrong type", "proxy {\n  max_message_bytes = \"lots\"\n}\n", "Incorrect attribute value type", "proxy.hcl:2:23"},
		{"bad log level", "proxy {\n  log_level = \"loud\"\n}\n", "Invalid log_level", "proxy.hcl:2:15"},
		{"bad log format", "proxy {\n  log_format = \"xml\"\n}\n", "Invalid log_format", "proxy.hcl:2:16"},
		{"inprocess with path", "plugin \"x\" {\n  source = \"./bin\"\n  sha256 = \"" + strings.Repeat("a", 64) + "\"\n  mode   = \"inprocess\"\n}\n", "Invalid plugin mode", "proxy.hcl:4:12"},
		{"bad mode", "plugin \"x\" {\n  mode = \"thread\"\n}\n", "Invalid mode", "proxy.hcl:2:10"},
		{"path without sha256", "plugin \"x\" {\n  source = \"./bin\"\n}\n", "Missing sha256", "proxy.hcl:2:12"},
		{"bad sha256", "plugin \"x\" {\n  source = \"./bin\"\n  sha256 = \"ABC\"\n}\n", "Invalid sha256", "proxy.hcl:3:12"},
		{"uppercase sha256", "plugin \"x\" {\n  source = \"./bin\"\n  sha256 = \"" + strings.Repeat("A", 64) + "\"\n}\n", "Invalid sha256", "proxy.hcl:3:12"},
		{"missing binary", "plugin \"x\" {\n  source = \"./nope\"\n  sha256 = \"" + strings.Repeat("a", 64) + "\"\n}\n", "Plugin binary not found", "proxy.hcl:2:12"},
		{"binary is a dir", "plugin \"x\" {\n  source = \"./subdir\"\n  sha256 = \"" + strings.Repeat("a", 64) + "\"\n}\n", "Plugin binary not found", "proxy.hcl:2:12"},
		{"two config blocks", "plugin \"x\" {\n  config {}\n  config {}\n}\n", "Duplicate config block", "proxy.hcl:3:3"},
		{"invalid plugin name", "plugin \"a b\" {}\n", "Invalid plugin name", "proxy.hcl:1:8"},
		{"no transport", "server \"s\" {\n  enabled = true\n}\n", "Missing transport block", "proxy.hcl:1:1"},
		{"two transports", "server \"s\" {\n  transport \"stdio\" {}\n  transport \"sse\" {}\n}\n", "Duplicate transport block", "proxy.hcl:3:3"},
		{"transport without label", "server \"s\" {\n  transport {}\n}\n", "Missing plugin for transport", "proxy.hcl:2:13"},
		{"unknown listener kind", "listen \"grpc\" {}\n", "Unsupported listener kind", "proxy.hcl:1:8"},
		{"bad listen address", "listen \"http\" {\n  address = \"localhost\"\n}\n", "Invalid listen address", "proxy.hcl:2:13"},
		{"bad listen path", "listen \"http\" {\n  path = \"mcp\"\n}\n", "Invalid listen path", "proxy.hcl:2:10"},
		{"bad sse_path", "listen \"http\" {\n  sse_path = \"sse\"\n}\n", "Invalid listen path", "proxy.hcl:2:14"},
		{"bad message_path", "listen \"http\" {\n  message_path = \"message\"\n}\n", "Invalid listen path", "proxy.hcl:2:18"},
		{"bad websocket_path", "listen \"http\" {\n  websocket_path = \"ws\"\n}\n", "Invalid listen path", "proxy.hcl:2:20"},
		{"sse_path without message_path", "listen \"http\" {\n  message_path = \"\"\n}\n", "Missing message_path", "proxy.hcl:2:18"},
		{"sse_path is path", "listen \"http\" {\n  sse_path = \"/mcp\"\n}\n", "Duplicate listen path", "proxy.hcl:2:14"},
		{"path is a default sse_path", "listen \"http\" {\n  path = \"/sse\"\n}\n", "Duplicate listen path", "proxy.hcl:2:10"},
		{"websocket_path is message_path", "listen \"http\" {\n  message_path = \"/x\"\n  websocket_path = \"/x\"\n}\n", "Duplicate listen path", "proxy.hcl:3:20"},
		{"two defaults moved together", "listen \"http\" {\n  websocket_path = \"/message\"\n}\n", "Duplicate listen path", "proxy.hcl:2:20"},
		{"bad metrics_path", "listen \"http\" {\n  metrics_path = \"metrics\"\n}\n", "Invalid listen path", "proxy.hcl:2:18"},
		{"metrics_path is path", "listen \"http\" {\n  metrics_path = \"/mcp\"\n}\n", "Duplicate listen path", "proxy.hcl:2:18"},
		{"bad allowed_origins", "listen \"http\" {\n  allowed_origins = \"*\"\n}\n", "Incorrect attribute value type", "proxy.hcl:2:21"},
		{"missing env", "listen \"http\" {\n  auth_token = env(\"NOPE_TOKEN\")\n}\n", "Environment variable not set", "proxy.hcl:2:16"},
		{"env too many args", "listen \"http\" {\n  auth_token = env(\"A\", \"b\", \"c\")\n}\n", "Invalid function argument", "proxy.hcl:2:31"},
		{"unknown var", "variable \"a\" {\n  default = 1\n}\nproxy {\n  log_level = var.b\n}\n", "Unsupported attribute", "proxy.hcl:5:18"},
		{"unknown function", "proxy {\n  log_level = nope()\n}\n", "Call to unknown function", "proxy.hcl:2:15"},
		{"variable without default", "variable \"a\" {}\n", `No value for variable "a"`, "proxy.hcl:1:1"},
		{"duplicate variable", "variable \"a\" {\n  default = 1\n}\nvariable \"a\" {\n  default = 2\n}\n", `Duplicate variable "a"`, "proxy.hcl:4:1"},
		{"bad restart window", "proxy {\n  restart {\n    window = \"often\"\n  }\n}\n", "Invalid duration", "proxy.hcl:3:14"},
		{"negative max_delay", srv + "server \"t\" {\n  transport \"stdio\" {}\n  restart {\n    max_delay = \"-1s\"\n  }\n}\n", "Invalid duration", "proxy.hcl:8:17"},
		{"zero max_restarts", "proxy {\n  restart {\n    max_restarts = 0\n  }\n}\n", "Invalid max_restarts", "proxy.hcl:3:20"},
		{"fractional max_restarts", "proxy {\n  restart {\n    max_restarts = 1.5\n  }\n}\n", "Invalid max_restarts", "proxy.hcl:3:20"},
		{"initial over max delay", "proxy {\n  restart {\n    initial_delay = \"1m\"\n    max_delay = \"1s\"\n  }\n}\n", "Invalid initial_delay", "proxy.hcl:3:21"},
		{"unknown restart attribute", "proxy {\n  restart {\n    retries = 3\n  }\n}\n", "Unsupported argument", "proxy.hcl:3:5"},
		{"duplicate restart", "proxy {\n  restart {}\n  restart {}\n}\n", "Duplicate restart block", "proxy.hcl:3:3"},
		{"negative health interval", "server \"s\" {\n  transport \"stdio\" {}\n  health {\n    interval = \"-5s\"\n  }\n}\n", "Invalid duration", "proxy.hcl:4:16"},
		{"zero health timeout", "proxy {\n  health {\n    timeout = \"0s\"\n  }\n}\n", "Invalid duration", "proxy.hcl:3:15"},
		{"negative failure_threshold", "proxy {\n  health {\n    failure_threshold = -1\n  }\n}\n", "Invalid failure_threshold", "proxy.hcl:3:25"},
		{"duplicate health", "server \"s\" {\n  transport \"stdio\" {}\n  health {}\n  health {}\n}\n", "Duplicate health block", "proxy.hcl:4:3"},
		{"missing file", "listen \"http\" {\n  auth_token = file(\"token.txt\")\n}\n", "Error in function call", "proxy.hcl:2:16"},
		{"small queue_bytes", "tracing {\n  queue_bytes = 4096\n}\n", "Invalid queue_bytes", "proxy.hcl:2:17"},
		{"fractional queue_bytes", "tracing {\n  queue_bytes = 2097152.5\n}\n", "Invalid queue_bytes", "proxy.hcl:2:17"},
		{"queue_bytes not a number", "tracing {\n  queue_bytes = \"16MiB\"\n}\n", "Incorrect attribute value type", "proxy.hcl:2:17"},
		{"zero queue", "tracing {\n  queue = 0\n}\n", "Invalid queue", "proxy.hcl:2:11"},
		{"unknown tracing attribute", "tracing {\n  queue_size = 10\n}\n", "Unsupported argument", "proxy.hcl:2:3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeConfig(t, tt.src, map[string][]byte{"bin": []byte("binary")})
			if err := os.Mkdir(filepath.Join(filepath.Dir(path), "subdir"), 0o755); err != nil {
				t.Fatal(err)
			}
			cfg, diags := Load(path, LoadOptions{LookupEnv: noEnv})
			if cfg != nil {
				t.Errorf("Config = %+v; want nil on error", cfg)
			}
			if !diags.HasErrors() {
				t.Fatalf("no error diagnostics; got:\n%s", diagString(diags))
			}
			for _, d := range diags {
				if d.Severity == hcl.DiagError && strings.Contains(d.Summary, tt.summary) {
					if got := loc(d); got != tt.at {
						t.Errorf("%q at %s; want %s\n%s", d.Summary, got, tt.at, diagString(diags))
					}
					if d.Detail == "" {
						t.Errorf("%q has no detail", d.Summary)
					}
					return
				}
			}
			t.Errorf("no error with summary %q; got:\n%s", tt.summary, diagString(diags))
		})
	}
}

func TestTracingSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, block string
		want        func(dir string) Tracing
	}{
		{"absent", "", func(dir string) Tracing {
			return Tracing{Plugin: "tracing", Weighting: "composite", StoreDir: filepath.Join(dir, ".mcphost/trace"),
				IdleGap: 30 * time.Second, MaxUnits: 50, Queue: 10000, QueueBytes: 16 << 20, Batch: 256, DefaultRetrievalScore: 0.5}
		}},
		{"defaults", "tracing {}\n", func(dir string) Tracing {
			return Tracing{Enabled: true, Plugin: "tracing", Weighting: "composite", StoreDir: filepath.Join(dir, ".mcphost/trace"),
				IdleGap: 30 * time.Second, MaxUnits: 50, Queue: 10000, QueueBytes: 16 << 20, Batch: 256, DefaultRetrievalScore: 0.5}
		}},
		{"every attribute", `tracing {
  plugin = "pg"
  weighting = "recency"
  store_dir = "/var/trace"
  store_content = true
  idle_gap = "5s"
  max_units = 10
  queue = 500
  queue_bytes = 64 * 1024 * 1024
  batch = 32
  default_retrieval_score = 0.25
}
`, func(string) Tracing {
			return Tracing{Enabled: true, Plugin: "pg", Weighting: "recency", StoreDir: "/var/trace", StoreContent: true,
				IdleGap: 5 * time.Second, MaxUnits: 10, Queue: 500, QueueBytes: 64 << 20, Batch: 32, DefaultRetrievalScore: 0.25}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := writeConfig(t, tc.block, nil)
			cfg := mustLoad(t, path, LoadOptions{LookupEnv: noEnv})
			got := cfg.Tracing
			got.DeclRange = hcl.Range{}
			if want := tc.want(filepath.Dir(path)); got != want {
				t.Errorf("Tracing = %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestRestartAndHealthBlocks(t *testing.T) {
	t.Parallel()
	src := `proxy {
  restart {
    max_restarts  = 10
    window        = "10m"
    initial_delay = "2s"
  }
  health {
    interval = "1m"
    timeout  = "2s"
  }
}
server "inherits" {
  transport "stdio" {}
}
server "overrides" {
  transport "stdio" {}
  restart {
    max_delay = "1m"
    window    = "1m"
  }
  health {
    interval          = "0s"
    failure_threshold = 5
  }
}
`
	cfg, diags := Parse([]byte(src), "proxy.hcl", LoadOptions{LookupEnv: noEnv})
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	wantRestart := Restart{MaxRestarts: 10, Window: 10 * time.Minute, InitialDelay: 2 * time.Second, MaxDelay: 30 * time.Second}
	wantHealth := Health{Interval: time.Minute, Timeout: 2 * time.Second, FailureThreshold: 3}
	if cfg.Proxy.Restart != wantRestart || cfg.Proxy.Health != wantHealth {
		t.Errorf("proxy restart %+v health %+v", cfg.Proxy.Restart, cfg.Proxy.Health)
	}
	if s := cfg.Servers[0]; s.Restart != wantRestart || s.Health != wantHealth {
		t.Errorf("inheriting server restart %+v health %+v", s.Restart, s.Health)
	}
	s := cfg.Servers[1]
	if want := (Restart{MaxRestarts: 10, Window: time.Minute, InitialDelay: 2 * time.Second, MaxDelay: time.Minute}); s.Restart != want {
		t.Errorf("overriding server restart %+v, want %+v", s.Restart, want)
	}
	if want := (Health{Interval: 0, Timeout: 2 * time.Second, FailureThreshold: 5}); s.Health != want {
		t.Errorf("overriding server health %+v, want %+v", s.Health, want)
	}

	plain, diags := Parse([]byte("server \"a\" {\n  transport \"stdio\" {}\n}\n"), "proxy.hcl", LoadOptions{LookupEnv: noEnv})
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	if s := plain.Servers[0]; s.Restart != DefaultRestart() || s.Health != DefaultHealth() ||
		s.Restart != (Restart{MaxRestarts: 5, Window: 5 * time.Minute, InitialDelay: time.Second, MaxDelay: 30 * time.Second}) ||
		s.Health != (Health{Interval: 30 * time.Second, Timeout: 5 * time.Second, FailureThreshold: 3}) {
		t.Errorf("defaults: restart %+v health %+v", s.Restart, s.Health)
	}
}

func TestDuplicateMentionsFirst(t *testing.T) {
	t.Parallel()
	src := "server \"s\" {\n  transport \"stdio\" {}\n}\nserver \"s\" {\n  transport \"stdio\" {}\n}\n"
	_, diags := Parse([]byte(src), "proxy.hcl", LoadOptions{})
	if len(diags) != 1 || !strings.Contains(diags[0].Detail, "proxy.hcl:1:1") {
		t.Errorf("diags = %s", diagString(diags))
	}
}

func TestUndeclaredVarOverride(t *testing.T) {
	t.Parallel()
	_, diags := Parse(nil, "proxy.hcl", LoadOptions{Vars: map[string]cty.Value{"x": cty.StringVal("y")}})
	if !diags.HasErrors() || !strings.Contains(diags[0].Summary, `Undeclared variable "x"`) {
		t.Errorf("diags = %s", diagString(diags))
	}
}

func TestEnv(t *testing.T) {
	t.Parallel()
	src := `listen "http" {
  auth_token = env("TOKEN")
  address    = "127.0.0.1:${env("PORT", "3000")}"
  path       = env("MCP_PATH", "/mcp")
}
`
	tests := []struct {
		name             string
		env              map[string]string
		token, addr, pth string
	}{
		{"all set", map[string]string{"TOKEN": "t", "PORT": "8080", "MCP_PATH": "/x"}, "t", "127.0.0.1:8080", "/x"},
		{"defaults", map[string]string{"TOKEN": "t"}, "t", "127.0.0.1:3000", "/mcp"},
		{"set but empty", map[string]string{"TOKEN": "", "PORT": "1"}, "", "127.0.0.1:1", "/mcp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, diags := Parse([]byte(src), "proxy.hcl", LoadOptions{LookupEnv: mapEnv(tt.env)})
			if diags.HasErrors() {
				t.Fatal(diagString(diags))
			}
			l := cfg.Listeners[0]
			if l.AuthToken != tt.token || l.Address != tt.addr || l.Path != tt.pth {
				t.Errorf("listener = %+v", l)
			}
		})
	}
}

func TestVariables(t *testing.T) {
	t.Parallel()
	src := `variable "port" {
  default = 3000
}
variable "level" {
  description = "log level"
  default     = lower("WARN")
}
variable "exe" {
  default = mcphost.executable
}
proxy {
  log_level = var.level
}
listen "http" {
  address = "127.0.0.1:${var.port}"
}
server "s" {
  transport "stdio" {
    command = var.exe
    dir     = mcphost.config_dir
  }
}
`
	schema := base.Schema{Attributes: []base.Attribute{{Name: "command", Type: base.TypeString}, {Name: "dir", Type: base.TypeString}}}
	tests := []struct {
		name    string
		vars    map[string]cty.Value
		exe     string
		addr    string
		level   string
		command string
	}{
		{"defaults", nil, "/opt/mcphost", "127.0.0.1:3000", "warn", "/opt/mcphost"},
		{"number override", map[string]cty.Value{"port": cty.NumberIntVal(9)}, "/x", "127.0.0.1:9", "warn", "/x"},
		{"string overrides", map[string]cty.Value{"port": cty.StringVal("7"), "level": cty.StringVal("error"), "exe": cty.StringVal("/y")}, "/x", "127.0.0.1:7", "error", "/y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, diags := Parse([]byte(src), "conf/proxy.hcl", LoadOptions{Vars: tt.vars, Executable: tt.exe, LookupEnv: noEnv})
			if diags.HasErrors() {
				t.Fatal(diagString(diags))
			}
			if cfg.Listeners[0].Address != tt.addr || cfg.Proxy.LogLevel != tt.level {
				t.Errorf("address %q, level %q", cfg.Listeners[0].Address, cfg.Proxy.LogLevel)
			}
			raw, diags := DecodeBody(cfg.Servers[0].Transport.Body, schema, cfg.EvalContext)
			if diags.HasErrors() {
				t.Fatal(diagString(diags))
			}
			var got struct{ Command, Dir string }
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			wd, _ := os.Getwd()
			if got.Command != tt.command || got.Dir != filepath.Join(wd, "conf") {
				t.Errorf("transport = %s", raw)
			}
		})
	}
}

func TestExecutableDefault(t *testing.T) {
	t.Parallel()
	cfg, diags := Parse([]byte("variable \"e\" {\n  default = mcphost.executable\n}\n"), "proxy.hcl", LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	want, _ := os.Executable()
	if got := cfg.EvalContext.Variables["var"].GetAttr("e").AsString(); got != want {
		t.Errorf("mcphost.executable = %q; want %q", got, want)
	}
}

func TestFileFunction(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "listen \"http\" {\n  auth_token = trimspace(file(\"token.txt\"))\n}\n",
		map[string][]byte{"token.txt": []byte("from-file\n")})
	cfg := mustLoad(t, path, LoadOptions{LookupEnv: noEnv})
	if cfg.Listeners[0].AuthToken != "from-file" {
		t.Errorf("token = %q", cfg.Listeners[0].AuthToken)
	}
}

func TestJSONSyntax(t *testing.T) {
	t.Parallel()
	src := `{"proxy": {"log_level": "warn"}, "server": {"s": {"transport": {"stdio": {"command": "x"}}}}}`
	cfg, diags := Parse([]byte(src), "proxy.hcl.json", LoadOptions{LookupEnv: noEnv})
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	if cfg.Proxy.LogLevel != "warn" || cfg.Servers[0].Transport.Plugin != "stdio" {
		t.Errorf("cfg = %+v", cfg)
	}
	raw, diags := DecodeBody(cfg.Servers[0].Transport.Body, base.Schema{Attributes: []base.Attribute{{Name: "command", Type: base.TypeString}}}, cfg.EvalContext)
	if diags.HasErrors() || string(raw) != `{"command":"x"}` {
		t.Errorf("transport = %s %s", raw, diagString(diags))
	}
}

func parseBody(t *testing.T, src string) hcl.Body {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(src), "proxy.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	return f.Body
}

func TestDecodeBody(t *testing.T) {
	t.Parallel()
	schema := base.Schema{Attributes: []base.Attribute{
		{Name: "command", Type: base.TypeString, Required: true},
		{Name: "args", Type: base.TypeListString},
		{Name: "env", Type: base.TypeMapString},
		{Name: "inherit", Type: base.TypeBool},
		{Name: "retries", Type: base.TypeNumber},
		{Name: "token", Type: base.TypeString, Sensitive: true},
		{Name: "extra"},
	}}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{
		"var": cty.ObjectVal(map[string]cty.Value{"secret": cty.StringVal("hunter2")}),
	}}
	tests := []struct {
		name    string
		src     string
		want    string
		summary string
		at      string
	}{
		{
			name: "all types",
			src:  "command = \"srv\"\nargs = [\"-v\", 1]\nenv = { A = \"1\", B = 2 }\ninherit = \"true\"\nretries = \"3\"\ntoken = var.secret\nextra = { x = [1, true] }\n",
			want: `{"args":["-v","1"],"command":"srv","env":{"A":"1","B":"2"},"extra":{"x":[1,true]},"inherit":true,"retries":3,"token":"hunter2"}`,
		},
		{name: "only required", src: "command = \"srv\"\n", want: `{"command":"srv"}`},
		{name: "null optional omitted", src: "command = \"srv\"\nargs = null\n", want: `{"command":"srv"}`},
		{name: "missing required", src: "args = []\n", summary: "Missing required argument", at: "proxy.hcl:1:1"},
		{name: "null required", src: "command = null\n", summary: "Missing required argument", at: "proxy.hcl:1:11"},
		{name: "unexpected attribute", src: "command = \"srv\"\n\n  cmd = \"x\"\n", summary: "Unsupported argument", at: "proxy.hcl:3:3"},
		{name: "unexpected block", src: "command = \"srv\"\nnested {}\n", summary: "Unsupported block type", at: "proxy.hcl:2:1"},
		{name: "wrong list type", src: "command = \"srv\"\nargs = \"-v\"\n", summary: "Incorrect attribute value type", at: "proxy.hcl:2:8"},
		{name: "wrong bool", src: "command = \"srv\"\ninherit = \"yes\"\n", summary: "Incorrect attribute value type", at: "proxy.hcl:2:11"},
		{name: "wrong sensitive", src: "command = \"srv\"\ntoken = [var.secret]\n", summary: "Incorrect attribute value type", at: "proxy.hcl:2:9"},
		{name: "sensitive in bad expression", src: "command = \"srv\"\ntoken = var.secret + 1\n", summary: "Invalid operand", at: "proxy.hcl:2:9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw, diags := DecodeBody(parseBody(t, tt.src), schema, ctx)
			if tt.summary == "" {
				if diags.HasErrors() {
					t.Fatal(diagString(diags))
				}
				if string(raw) != tt.want {
					t.Errorf("got %s\nwant %s", raw, tt.want)
				}
				return
			}
			if raw != nil {
				t.Errorf("raw = %s; want nil on error", raw)
			}
			var buf bytes.Buffer
			if err := WriteDiagnostics(&buf, diags, map[string]*hcl.File{}); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(buf.String()+diagString(diags), "hunter2") {
				t.Errorf("diagnostics leak the secret:\n%s", buf.String())
			}
			for _, d := range diags {
				if strings.Contains(d.Summary, tt.summary) {
					if got := loc(d); got != tt.at {
						t.Errorf("%q at %s; want %s", d.Summary, got, tt.at)
					}
					return
				}
			}
			t.Errorf("no %q diagnostic in:\n%s", tt.summary, diagString(diags))
		})
	}
}

func TestDecodeBodyEdges(t *testing.T) {
	t.Parallel()
	raw, diags := DecodeBody(nil, base.Schema{}, nil)
	if diags.HasErrors() || string(raw) != `{}` {
		t.Errorf("nil body: %s %s", raw, diagString(diags))
	}
	_, diags = DecodeBody(nil, base.Schema{Attributes: []base.Attribute{{Name: "a", Type: json.RawMessage(`"strin"`)}}}, nil)
	if !diags.HasErrors() || diags[0].Summary != "Invalid plugin schema" {
		t.Errorf("bad type: %s", diagString(diags))
	}
	_, diags = DecodeBody(nil, base.Schema{Attributes: []base.Attribute{{Name: "a", Required: true, Type: base.TypeString}}}, nil)
	if !diags.HasErrors() || diags[0].Summary != "Missing required argument" {
		t.Errorf("nil body, required: %s", diagString(diags))
	}
}

func TestPluginDiagnostics(t *testing.T) {
	t.Parallel()
	src := `server "s" {
  transport "stdio" {
    command = "nope"
    args    = ["a"]
  }
}
`
	cfg, diags := Parse([]byte(src), "proxy.hcl", LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	tb := cfg.Servers[0].Transport
	got := PluginDiagnostics(tb.Body, tb.DeclRange, []base.Diagnostic{
		base.Error("command", "Command not found", `"nope" is not in PATH`),
		{Severity: base.SeverityWarning, Summary: "Odd args", Attribute: "args[0]"},
		{Severity: base.SeverityError, Summary: "Block problem"},
		{Summary: "Absent attribute", Attribute: "cwd"},
	}, base.Schema{})
	want := []struct {
		sev     hcl.DiagnosticSeverity
		summary string
		at      string
	}{
		{hcl.DiagError, "Command not found", "proxy.hcl:3:15"},
		{hcl.DiagWarning, "Odd args", "proxy.hcl:4:15"},
		{hcl.DiagError, "Block problem", "proxy.hcl:2:3"},
		{hcl.DiagError, "Absent attribute", "proxy.hcl:2:3"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d diagnostics:\n%s", len(got), diagString(got))
	}
	for i, w := range want {
		if got[i].Severity != w.sev || got[i].Summary != w.summary || loc(got[i]) != w.at {
			t.Errorf("diag %d = %s; want %v %q at %s", i, FormatDiagnostic(got[i]), w.sev, w.summary, w.at)
		}
	}
	if got[0].Detail != `"nope" is not in PATH` || got[0].Context == nil || got[0].Context.Start.Column != 5 {
		t.Errorf("diag 0 = %+v", got[0])
	}
	if d := PluginDiagnostics(nil, tb.DeclRange, []base.Diagnostic{base.Error("x", "S", "")}, base.Schema{}); loc(d[0]) != "proxy.hcl:2:3" {
		t.Errorf("nil body: %s", loc(d[0]))
	}
}

func TestWriteDiagnostics(t *testing.T) {
	t.Parallel()
	src := "variable \"tok\" {\n  default = \"topsecret\"\n}\nlisten \"http\" {\n  auth_token = var.tok + 1\n}\nproxy {\n  request_timeout = \"1 minute\"\n}\n"
	l := NewLoader()
	cfg, diags := l.Parse([]byte(src), "proxy.hcl", LoadOptions{})
	if cfg != nil || len(diags) != 2 {
		t.Fatalf("cfg %v, diags:\n%s", cfg, diagString(diags))
	}
	var buf bytes.Buffer
	if err := l.WriteDiagnostics(&buf, diags); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"proxy.hcl:5:16: Error: Invalid operand",
		"proxy.hcl:8:21: Error: Invalid duration",
		`   8:   request_timeout = "1 minute"`,
		`request_timeout must be a positive Go duration`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "topsecret") {
		t.Errorf("output leaks a variable value:\n%s", out)
	}
	if _, ok := l.Files()["proxy.hcl"]; !ok {
		t.Error("Loader.Files lacks proxy.hcl")
	}
	line := FormatDiagnostic(&hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "S", Detail: "D"})
	if line != "Warning: S; D" {
		t.Errorf("FormatDiagnostic = %q", line)
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	cfg, diags := Load(filepath.Join(t.TempDir(), "nope.hcl"), LoadOptions{})
	if cfg != nil || !diags.HasErrors() || !strings.Contains(diags[0].Summary, "Failed to read") {
		t.Errorf("cfg %v diags %s", cfg, diagString(diags))
	}
}

func TestListenerBeyondLoopbackNeedsAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		wantErr    bool
	}{
		{"loopback without token", `address = "127.0.0.1:3000"`, false},
		{"localhost without token", `address = "localhost:3000"`, false},
		{"ipv6 loopback without token", `address = "[::1]:3000"`, false},
		{"all interfaces without token", `address = "0.0.0.0:3000"`, true},
		{"empty host without token", `address = ":3000"`, true},
		{"all interfaces with token", "address = \"0.0.0.0:3000\"\nauth_token = \"s3cret\"", false},
		{"all interfaces, explicitly open", "address = \"0.0.0.0:3000\"\nallow_unauthenticated = true", false},
		{"all interfaces with oauth", "address = \"0.0.0.0:3000\"\noauth {\n  issuer = \"https://a.example\"\n  audience = \"https://m.example/mcp\"\n  scopes = []\n}", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := "listen \"http\" {\n" + tt.body + "\n}\n"
			_, diags := Parse([]byte(src), "proxy.hcl", LoadOptions{Executable: "/bin/mcphost"})
			if got := diags.HasErrors(); got != tt.wantErr {
				t.Fatalf("errors = %v, want %v: %v", got, tt.wantErr, diags)
			}
			if tt.wantErr && (!strings.Contains(diags.Error(), "beyond loopback") || !strings.Contains(diags.Error(), "proxy.hcl:2,")) {
				t.Errorf("diagnostic = %v", diags)
			}
		})
	}
}

func TestListenerEndpointPaths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body       string
		sse, message, ws string
	}{
		{"defaults", ``, "/sse", "/message", "/ws"},
		{"moved", "sse_path = \"/legacy/sse\"\nmessage_path = \"/legacy/messages\"\nwebsocket_path = \"/socket\"", "/legacy/sse", "/legacy/messages", "/socket"},
		{"sse disabled", `sse_path = ""`, "", "/message", "/ws"},
		{"sse disabled, message_path free", "sse_path = \"\"\nmessage_path = \"/mcp\"", "", "/mcp", "/ws"},
		{"websocket disabled", `websocket_path = ""`, "/sse", "/message", ""},
		{"all disabled", "sse_path = \"\"\nmessage_path = \"\"\nwebsocket_path = \"\"", "", "", ""},
		{"path moved onto nothing", `path = "/rpc"`, "/sse", "/message", "/ws"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := "listen \"http\" {\n" + tt.body + "\n}\n"
			cfg, diags := Parse([]byte(src), "proxy.hcl", LoadOptions{LookupEnv: noEnv})
			if diags.HasErrors() {
				t.Fatal(diagString(diags))
			}
			l := cfg.Listeners[0]
			if l.SSEPath != tt.sse || l.MessagePath != tt.message || l.WebSocketPath != tt.ws {
				t.Errorf("sse_path %q, message_path %q, websocket_path %q; want %q, %q, %q",
					l.SSEPath, l.MessagePath, l.WebSocketPath, tt.sse, tt.message, tt.ws)
			}
		})
	}
}

// TestProxyDurations: the proxy block's durations that may be "0s" (off):
// their defaults, a value, and off.
func TestProxyDurations(t *testing.T) {
	t.Parallel()
	startupWait := func(p Proxy) time.Duration { return p.StartupWait }
	drainDelay := func(p Proxy) time.Duration { return p.DrainDelay }
	tests := []struct {
		name, src string
		get       func(Proxy) time.Duration
		want      time.Duration
	}{
		{"startup_wait default", "", startupWait, DefaultStartupWait},
		{"startup_wait set", "proxy {\n  startup_wait = \"2s\"\n}\n", startupWait, 2 * time.Second},
		{"startup_wait off", "proxy {\n  startup_wait = \"0s\"\n}\n", startupWait, 0},
		{"drain_delay default keeps draining at once", "", drainDelay, 0},
		{"drain_delay set", "proxy {\n  drain_delay = \"5s\"\n}\n", drainDelay, 5 * time.Second},
		{"drain_delay off", "proxy {\n  drain_delay = \"0s\"\n}\n", drainDelay, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, diags := Parse([]byte(tt.src), "proxy.hcl", LoadOptions{LookupEnv: noEnv})
			if diags.HasErrors() {
				t.Fatal(diagString(diags))
			}
			if got := tt.get(cfg.Proxy); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestInstanceID(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, src, want string }{
		{"default is chosen at start", "", ""},
		{"set", "proxy {\n  instance_id = \"node-2\"\n}\n", "node-2"},
		{"longest", "proxy {\n  instance_id = \"" + strings.Repeat("a", 32) + "\"\n}\n", strings.Repeat("a", 32)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, diags := Parse([]byte(tt.src), "proxy.hcl", LoadOptions{LookupEnv: noEnv})
			if diags.HasErrors() {
				t.Fatal(diagString(diags))
			}
			if cfg.Proxy.InstanceID != tt.want {
				t.Errorf("InstanceID = %q, want %q", cfg.Proxy.InstanceID, tt.want)
			}
		})
	}
}

// TestScaleOutAttributes: request_state_key and peers are read, the key is
// redacted, and a diagnostic on the key never quotes it.
func TestScaleOutAttributes(t *testing.T) {
	t.Parallel()
	key := strings.Repeat("k", MinRequestStateKeyBytes)
	src := "proxy {\n  request_state_key = \"" + key + "\"\n  peers = { \"mcp-a\" = \"http://10.0.0.1:8080/mcp\", \"mcp-b\" = \"https://b.example/mcp\" }\n}\n"
	cfg, diags := Parse([]byte(src), "proxy.hcl", LoadOptions{LookupEnv: noEnv})
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	if cfg.Proxy.RequestStateKey != key {
		t.Errorf("RequestStateKey not read")
	}
	if got := cfg.Proxy.Peers; len(got) != 2 || got["mcp-a"] != "http://10.0.0.1:8080/mcp" || got["mcp-b"] != "https://b.example/mcp" {
		t.Errorf("Peers = %v", got)
	}
	if red := cfg.Redacted(); red.Proxy.RequestStateKey != RedactedValue || cfg.Proxy.RequestStateKey != key {
		t.Errorf("Redacted: key %q, original changed: %v", red.Proxy.RequestStateKey, cfg.Proxy.RequestStateKey != key)
	}
	short := "a-short-secret-value"
	bad := "proxy {\n  request_state_key = \"" + short + "\"\n}\n"
	l := NewLoader()
	_, diags = l.Parse([]byte(bad), "proxy.hcl", LoadOptions{LookupEnv: noEnv})
	if !diags.HasErrors() {
		t.Fatal("a short key was accepted")
	}
	var out strings.Builder
	if err := l.WriteDiagnostics(&out, diags); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "proxy.hcl:2:") {
		t.Errorf("the diagnostic lost its position: %s", out.String())
	}
	if strings.Contains(out.String()+diagString(diags), short) {
		t.Errorf("the diagnostic quotes the key: %s", out.String())
	}
}

func TestMaxSessions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want int
	}{
		{"listen \"http\" {}\n", DefaultMaxSessions},
		{"listen \"http\" {\n  max_sessions = 0\n}\n", 0},
		{"listen \"http\" {\n  max_sessions = 250\n}\n", 250},
	}
	for _, tt := range tests {
		cfg, diags := Load(writeConfig(t, tt.src, nil), LoadOptions{LookupEnv: noEnv})
		if diags.HasErrors() {
			t.Fatalf("%q: %s", tt.src, diagString(diags))
		}
		if got := cfg.Listeners[0].MaxSessions; got != tt.want {
			t.Errorf("%q: MaxSessions = %d, want %d", tt.src, got, tt.want)
		}
	}
}

func TestResumeBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src           string
		buffer, total int
	}{
		{"listen \"http\" {}\n", DefaultResumeBufferBytes, DefaultResumeTotalBytes},
		{"listen \"http\" {\n  resume_buffer_bytes = 0\n}\n", -1, DefaultResumeTotalBytes},
		{"listen \"http\" {\n  resume_buffer_bytes = 4096\n  resume_total_bytes = 1048576\n}\n", 4096, 1 << 20},
	}
	for _, tt := range tests {
		cfg, diags := Load(writeConfig(t, tt.src, nil), LoadOptions{LookupEnv: noEnv})
		if diags.HasErrors() {
			t.Fatalf("%q: %s", tt.src, diagString(diags))
		}
		if l := cfg.Listeners[0]; l.ResumeBufferBytes != tt.buffer || l.ResumeTotalBytes != tt.total {
			t.Errorf("%q: resume bytes %d/%d, want %d/%d", tt.src, l.ResumeBufferBytes, l.ResumeTotalBytes, tt.buffer, tt.total)
		}
	}
}

func TestServerFilters(t *testing.T) {
	t.Parallel()
	const transport = "  transport \"stdio\" {}\n"
	tests := []struct {
		name           string
		body           string // inside server "s" { ... }, after the transport
		tools, prompts Filter
		resources      Filter
		summary        string // the error expected, "" for none
		at             string
	}{
		{name: "none"},
		{
			name:  "tools allow and deny",
			body:  "  tools {\n    allow = [\"get_*\", \"search\"]\n    deny  = [\"get_secret\"]\n  }\n",
			tools: Filter{Allow: []string{"get_*", "search"}, Deny: []string{"get_secret"}},
		},
		{
			name:      "prompts and resources",
			body:      "  prompts {\n    deny = [\"debug*\"]\n  }\n  resources {\n    allow = [\"file:///docs/*\"]\n  }\n",
			prompts:   Filter{Deny: []string{"debug*"}},
			resources: Filter{Allow: []string{"file:///docs/*"}},
		},
		{name: "empty block", body: "  tools {}\n"},
		{
			name: "bad allow glob", body: "  tools {\n    allow = [\"ok\", \"get_[\"]\n  }\n",
			summary: "Invalid allow pattern", at: "proxy.hcl:4:13",
		},
		{
			name: "bad deny glob", body: "  resources {\n    deny = [\"x\\\\\"]\n  }\n",
			summary: "Invalid deny pattern", at: "proxy.hcl:4:12",
		},
		{
			name: "not a list", body: "  prompts {\n    allow = { a = 1 }\n  }\n",
			summary: "Incorrect attribute value type", at: "proxy.hcl:4:13",
		},
		{
			name: "duplicate block", body: "  tools {}\n  tools {}\n",
			summary: "Duplicate tools block", at: "proxy.hcl:4:3",
		},
		{
			name: "unknown attribute", body: "  tools {\n    only = [\"a\"]\n  }\n",
			summary: "Unsupported argument", at: "proxy.hcl:4:5",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := "server \"s\" {\n" + transport + tt.body + "}\n"
			cfg, diags := Parse([]byte(src), "proxy.hcl", LoadOptions{LookupEnv: noEnv})
			if tt.summary != "" {
				if len(diags) != 1 || diags[0].Summary != tt.summary || loc(diags[0]) != tt.at {
					t.Fatalf("want %q at %s, got:\n%s", tt.summary, tt.at, diagString(diags))
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diagString(diags))
			}
			s := cfg.Servers[0]
			for _, f := range []struct {
				kind      string
				got, want Filter
			}{{"tools", s.Tools, tt.tools}, {"prompts", s.Prompts, tt.prompts}, {"resources", s.Resources, tt.resources}} {
				if !reflect.DeepEqual(f.got.Allow, f.want.Allow) || !reflect.DeepEqual(f.got.Deny, f.want.Deny) {
					t.Errorf("%s = allow %q deny %q, want allow %q deny %q", f.kind, f.got.Allow, f.got.Deny, f.want.Allow, f.want.Deny)
				}
			}
			if strings.Contains(tt.body, "tools {") && s.Tools.DeclRange.Start.Line != 3 {
				t.Errorf("tools block range %v, want line 3", s.Tools.DeclRange)
			}
		})
	}
}
