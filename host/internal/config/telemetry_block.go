package config

import (
	"net/url"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Telemetry is the `telemetry` block: OpenTelemetry spans are exported
// when it is present (Enabled).
type Telemetry struct {
	Enabled bool
	// OTLPEndpoint is the collector's OTLP/HTTP base URL; spans go to
	// <OTLPEndpoint>/v1/traces.
	OTLPEndpoint string
	// Headers are sent with every export (an API key, typically): they
	// are secrets, shown only as RedactedValue (see Config.Redacted).
	Headers map[string]string
	// ServiceName is the service.name resource attribute.
	ServiceName string
	DeclRange   hcl.Range
}

// DefaultTelemetryServiceName is the service.name spans carry by default.
const DefaultTelemetryServiceName = "mcphost"

// HeaderNames are the configured header names, sorted (their values are
// secrets).
func (t Telemetry) HeaderNames() []string {
	names := make([]string, 0, len(t.Headers))
	for k := range t.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Redacted is t with every header value replaced by RedactedValue.
func (t Telemetry) Redacted() Telemetry {
	if len(t.Headers) == 0 {
		return t
	}
	out := t
	out.Headers = make(map[string]string, len(t.Headers))
	for k := range t.Headers {
		out.Headers[k] = RedactedValue
	}
	return out
}

var telemetrySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "otlp_endpoint", Required: true}, {Name: "headers"}, {Name: "service_name"},
	},
}

func (d *decoder) decodeTelemetry(b *hcl.Block, t *Telemetry) {
	t.DeclRange, t.Enabled, t.ServiceName = b.DefRange, true, DefaultTelemetryServiceName
	content, diags := b.Body.Content(telemetrySchema)
	d.add(diags...)
	attrs := content.Attributes
	if attr, ok := attrs["otlp_endpoint"]; ok {
		if s, ok := d.evalString(attr); ok {
			if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
				u.RawQuery != "" || u.Fragment != "" {
				d.errorf(attr.Expr.Range(), "Invalid otlp_endpoint",
					"otlp_endpoint must be an http or https URL with a host and no query, such as \"http://127.0.0.1:4318\" (spans go to <otlp_endpoint>/v1/traces); got %q.", s)
			} else {
				t.OTLPEndpoint = s
			}
		}
	}
	if attr, ok := attrs["headers"]; ok {
		if v, ok := d.eval(attr, cty.Map(cty.String)); ok && !v.IsNull() {
			t.Headers = map[string]string{}
			for k, hv := range v.AsValueMap() {
				if hv.IsNull() || k == "" {
					d.errorf(attr.Expr.Range(), "Invalid headers", "Every header needs a name and a string value.")
					continue
				}
				t.Headers[k] = hv.AsString()
			}
		}
	}
	if attr, ok := attrs["service_name"]; ok {
		if s, ok := d.evalString(attr); ok {
			if s == "" {
				d.errorf(attr.Expr.Range(), "Invalid service_name", "service_name must not be empty.")
			} else {
				t.ServiceName = s
			}
		}
	}
}
