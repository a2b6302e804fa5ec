// Package base is the service every mcphost plugin answers, whatever its kind:
// info, config schema, validate, configure, stop and metrics.
package base

import (
	"context"
	"encoding/json"
)

// Plugin is implemented by every plugin. Embed [Unimplemented] to get
// sensible defaults for everything but Info.
type Plugin interface {
	Info(ctx context.Context, req InfoRequest) (InfoResponse, error)
	Schema(ctx context.Context, req SchemaRequest) (SchemaResponse, error)
	Validate(ctx context.Context, req ValidateRequest) (ValidateResponse, error)
	Configure(ctx context.Context, req ConfigureRequest) (ConfigureResponse, error)
	Stop(ctx context.Context, req StopRequest) (StopResponse, error)
	Metrics(ctx context.Context, req MetricsRequest) (MetricsResponse, error)
}

// Kinds of plugin. The kind is also the go-plugin plugin name.
const (
	KindTransport  = "transport"
	KindTranslator = "translator"
	KindWeighting  = "weighting"
	KindTracing    = "tracing"
)

type InfoRequest struct{}

type InfoResponse struct {
	Name    string
	Kind    string
	Version string // the plugin's own semver, independent of the plugin protocol
	// APIMinor is the minor version of the kind's API the plugin implements.
	APIMinor            uint32
	Capabilities        []string
	MCPProtocolVersions []string
	Description         string
}

// Attribute describes one HCL attribute the plugin accepts.
type Attribute struct {
	Name string
	// Type is a cty type in its JSON form: "string", "number", "bool",
	// ["list","string"], ["map","string"], ...
	Type        json.RawMessage
	Required    bool
	Sensitive   bool // redacted in logs and API output
	Description string
	// Default is the value, in JSON, that the host gives the attribute
	// when the block leaves it out or sets it to null; nil for none.
	// [SchemaFor] fills it from a field's `default` tag.
	Default json.RawMessage
}

// Schema is the set of attributes one config block accepts.
type Schema struct {
	Attributes []Attribute
}

// Common attribute types, in cty's JSON form.
var (
	TypeString     = json.RawMessage(`"string"`)
	TypeNumber     = json.RawMessage(`"number"`)
	TypeBool       = json.RawMessage(`"bool"`)
	TypeListString = json.RawMessage(`["list","string"]`)
	TypeMapString  = json.RawMessage(`["map","string"]`)
)

type SchemaRequest struct{}

type SchemaResponse struct {
	// Plugin is the schema of the `config` block inside `plugin "NAME" {}`.
	Plugin Schema
	// Instance is the schema of each block that uses the plugin, such as
	// `transport "stdio" { ... }` inside a server.
	Instance Schema
}

// Severity of a Diagnostic.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Diagnostic is a problem with a config, reported back at the HCL source
// range of Attribute (or of the block when Attribute is empty).
type Diagnostic struct {
	Severity  string
	Summary   string
	Detail    string
	Attribute string
}

// Error returns an error diagnostic about attribute.
func Error(attribute, summary, detail string) Diagnostic {
	return Diagnostic{Severity: SeverityError, Summary: summary, Detail: detail, Attribute: attribute}
}

// HasErrors reports whether diags hold an error (not only warnings).
func HasErrors(diags []Diagnostic) bool {
	for _, d := range diags {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}

type ValidateRequest struct {
	Config json.RawMessage // the decoded instance block
}

type ValidateResponse struct {
	Diagnostics []Diagnostic
}

type ConfigureRequest struct {
	Config          json.RawMessage // the decoded plugin config block, or null
	BrokerID        uint32
	MaxMessageBytes uint64
}

type ConfigureResponse struct {
	Diagnostics []Diagnostic
}

type StopRequest struct {
	// DeadlineUnixNano is when the plugin must have drained; 0 means now.
	DeadlineUnixNano int64
}

type StopResponse struct{}

type MetricsRequest struct{}

type MetricsResponse struct {
	PrometheusText string
}

// Unimplemented gives defaults for everything but Info: an empty schema,
// no validation problems, configure accepted, stop immediate, no metrics.
type Unimplemented struct{}

func (Unimplemented) Schema(context.Context, SchemaRequest) (SchemaResponse, error) {
	return SchemaResponse{}, nil
}

func (Unimplemented) Validate(context.Context, ValidateRequest) (ValidateResponse, error) {
	return ValidateResponse{}, nil
}

func (Unimplemented) Configure(context.Context, ConfigureRequest) (ConfigureResponse, error) {
	return ConfigureResponse{}, nil
}

func (Unimplemented) Stop(context.Context, StopRequest) (StopResponse, error) {
	return StopResponse{}, nil
}

func (Unimplemented) Metrics(context.Context, MetricsRequest) (MetricsResponse, error) {
	return MetricsResponse{}, nil
}
