package admin

import "encoding/json"

// ConfigView answers GET /api/v1/config: the running configuration with
// every secret replaced by "(redacted)". Durations are strings ("30s");
// source positions are left out.
type ConfigView struct {
	File      string           `json:"file"`
	Proxy     ConfigProxy      `json:"proxy"`
	Listeners []ConfigListener `json:"listeners"`
	Admin     ConfigAdmin      `json:"admin"`
	Tracing   *ConfigTracing   `json:"tracing,omitempty"`
	Telemetry *ConfigTelemetry `json:"telemetry,omitempty"`
	Activity  ConfigActivity   `json:"activity"`
	Plugins   []ConfigPlugin   `json:"plugins"`
	Servers   []ConfigServer   `json:"servers"`
	// Profiles are the profile blocks, served at <listen path>/p/NAME.
	Profiles []ConfigProfile `json:"profiles"`
}

// ConfigProfile is one profile block. Servers and Tools empty: all.
type ConfigProfile struct {
	Name    string   `json:"name"`
	Servers []string `json:"servers"`
	Tools   []string `json:"tools"`
	Scopes  []string `json:"scopes"`
	Token   string   `json:"token,omitempty"` // "(redacted)" when set
}

// ConfigProxy is the proxy block.
type ConfigProxy struct {
	ToolNameTemplate    string        `json:"tool_name_template"`
	PromptNameTemplate  string        `json:"prompt_name_template"`
	ResourceURITemplate string        `json:"resource_uri_template"`
	NameBudget          int           `json:"name_budget"`
	ClientPrefix        string        `json:"client_prefix"`
	MaxMessageBytes     uint64        `json:"max_message_bytes"`
	RequestTimeout      string        `json:"request_timeout"`
	ShutdownTimeout     string        `json:"shutdown_timeout"`
	LogLevel            string        `json:"log_level"`
	LogFormat           string        `json:"log_format"`
	LogDir              string        `json:"log_dir"`
	Translators         []string      `json:"translators"`
	WatchConfig         bool          `json:"watch_config"`
	Restart             ConfigRestart `json:"restart"`
	Health              ConfigHealth  `json:"health"`
	DrainDelay          string        `json:"drain_delay"`
	InstanceID          string        `json:"instance_id"` // the configured one, or the one chosen at start
}

// ConfigListener is one listen block.
type ConfigListener struct {
	Kind                 string   `json:"kind"`
	Address              string   `json:"address"`
	Path                 string   `json:"path"`
	SSEPath              string   `json:"sse_path"`
	MessagePath          string   `json:"message_path"`
	WebSocketPath        string   `json:"websocket_path"`
	MetricsPath          string   `json:"metrics_path"`
	AllowedOrigins       []string `json:"allowed_origins"`
	AuthToken            string   `json:"auth_token,omitempty"` // "(redacted)" when set
	AllowUnauthenticated bool     `json:"allow_unauthenticated"`
	MaxSessions          int      `json:"max_sessions"` // 0: no bound
	// ResumeBufferBytes is per SSE stream, 0 when resumption is off;
	// ResumeTotalBytes is for all the listener's streams.
	ResumeBufferBytes int `json:"resume_buffer_bytes"`
	ResumeTotalBytes  int `json:"resume_total_bytes"`
}

// ConfigAdmin is the admin block.
type ConfigAdmin struct {
	Address   string `json:"address"`
	AuthToken string `json:"auth_token,omitempty"` // "(redacted)" when set
}

// ConfigTracing is the tracing block, present when tracing is on.
type ConfigTracing struct {
	Plugin                string  `json:"plugin"`
	Weighting             string  `json:"weighting"`
	StoreDir              string  `json:"store_dir"`
	StoreContent          bool    `json:"store_content"`
	IdleGap               string  `json:"idle_gap"`
	MaxUnits              int     `json:"max_units"`
	Queue                 int     `json:"queue"`
	DefaultRetrievalScore float64 `json:"default_retrieval_score"`
}

// ConfigPlugin is one plugin block (its config block is not shown).
type ConfigPlugin struct {
	Name    string `json:"name"`
	Source  string `json:"source"`
	SHA256  string `json:"sha256,omitempty"`
	Mode    string `json:"mode"`
	Version string `json:"version,omitempty"`
	// PassEnv names the host environment variables the plugin gets
	// besides the minimal environment (their values are not shown).
	PassEnv []string `json:"pass_env,omitempty"`
}

// ConfigRestart is a restart block; durations are strings.
type ConfigRestart struct {
	MaxRestarts  int    `json:"max_restarts"`
	Window       string `json:"window"`
	InitialDelay string `json:"initial_delay"`
	MaxDelay     string `json:"max_delay"`
}

// ConfigHealth is a health block; an interval of "0s" turns checks off.
type ConfigHealth struct {
	Interval         string `json:"interval"`
	Timeout          string `json:"timeout"`
	FailureThreshold int    `json:"failure_threshold"`
}

// ConfigServer is one server block. TransportConfig is the transport
// block as its plugin decoded it, redacted by the plugin's schema; its
// member names are the plugin's attribute names.
type ConfigServer struct {
	Name            string          `json:"name"`
	Enabled         bool            `json:"enabled"`
	Prefix          bool            `json:"prefix"`
	ProtocolVersion string          `json:"protocol_version,omitempty"`
	RequestTimeout  string          `json:"request_timeout,omitempty"`
	Transport       string          `json:"transport"`
	TransportConfig json.RawMessage `json:"transport_config,omitempty"`
	Restart         ConfigRestart   `json:"restart"`
	Health          ConfigHealth    `json:"health"`
	// The server's tools, prompts and resources filters, when it has them.
	ToolFilter     *ConfigFilter        `json:"tools,omitempty"`
	PromptFilter   *ConfigFilter        `json:"prompts,omitempty"`
	ResourceFilter *ConfigFilter        `json:"resources,omitempty"`
	ToolOverrides  []ConfigToolOverride `json:"tool_overrides,omitempty"`
}

// ConfigFilter is a tools, prompts or resources block of a server.
type ConfigFilter struct {
	Allow []string `json:"allow"`
	Deny  []string `json:"deny"`
}

// ConfigToolOverride is a server's tool "NAME" block.
type ConfigToolOverride struct {
	Name        string          `json:"name"`
	ExposeAs    string          `json:"expose_as,omitempty"`
	Description string          `json:"description,omitempty"`
	Annotations json.RawMessage `json:"annotations,omitempty"`
	Hidden      bool            `json:"hidden,omitempty"`
}

// ConfigTelemetry is the telemetry block; header values are secrets and
// show as "(redacted)".
type ConfigTelemetry struct {
	OTLPEndpoint string            `json:"otlp_endpoint"`
	Headers      map[string]string `json:"headers,omitempty"`
	ServiceName  string            `json:"service_name"`
}
