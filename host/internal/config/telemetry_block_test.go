package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

func TestTelemetrySettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		want      Telemetry
	}{
		{"absent", "", Telemetry{}},
		{"endpoint only", "telemetry {\n  otlp_endpoint = \"http://127.0.0.1:4318\"\n}\n",
			Telemetry{Enabled: true, OTLPEndpoint: "http://127.0.0.1:4318", ServiceName: "mcphost"}},
		{"every attribute", `telemetry {
  otlp_endpoint = "https://otel.example.com/base"
  headers = { "x-api-key" = "s3cret", Authorization = "Bearer t" }
  service_name = "gateway"
}
`, Telemetry{Enabled: true, OTLPEndpoint: "https://otel.example.com/base", ServiceName: "gateway",
			Headers: map[string]string{"x-api-key": "s3cret", "Authorization": "Bearer t"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, diags := Parse([]byte(tc.src), "proxy.hcl", LoadOptions{LookupEnv: noEnv})
			if diags.HasErrors() {
				t.Fatal(diagString(diags))
			}
			got := cfg.Telemetry
			got.DeclRange = hcl.Range{}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Telemetry = %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestTelemetryErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, want string
	}{
		{"no scheme", "telemetry {\n  otlp_endpoint = \"127.0.0.1:4318\"\n}\n", "proxy.hcl:2:19: Error: Invalid otlp_endpoint"},
		{"grpc scheme", "telemetry {\n  otlp_endpoint = \"grpc://collector:4317\"\n}\n", "proxy.hcl:2:19: Error: Invalid otlp_endpoint"},
		{"no host", "telemetry {\n  otlp_endpoint = \"http://\"\n}\n", "proxy.hcl:2:19: Error: Invalid otlp_endpoint"},
		{"query", "telemetry {\n  otlp_endpoint = \"http://c:4318/?a=b\"\n}\n", "proxy.hcl:2:19: Error: Invalid otlp_endpoint"},
		{"missing endpoint", "telemetry {\n}\n", `proxy.hcl:1:11: Error: Missing required argument`},
		{"headers not a map", "telemetry {\n  otlp_endpoint = \"http://c:4318\"\n  headers = [\"a\"]\n}\n", "proxy.hcl:3:13: Error: Incorrect attribute value type"},
		{"empty service name", "telemetry {\n  otlp_endpoint = \"http://c:4318\"\n  service_name = \"\"\n}\n", "proxy.hcl:3:18: Error: Invalid service_name"},
		{"duplicate", "telemetry {\n  otlp_endpoint = \"http://c:4318\"\n}\ntelemetry {\n  otlp_endpoint = \"http://c:4318\"\n}\n", "proxy.hcl:4:1: Error: Duplicate telemetry block"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, diags := Parse([]byte(tc.src), "proxy.hcl", LoadOptions{LookupEnv: noEnv})
			if got := diagString(diags); !strings.Contains(got, tc.want) {
				t.Errorf("diagnostics = %q\nwant one containing %q", got, tc.want)
			}
		})
	}
}

func TestTelemetryHeadersRedacted(t *testing.T) {
	t.Parallel()
	src := "telemetry {\n  otlp_endpoint = \"http://c:4318\"\n  headers = { \"x-api-key\" = \"s3cret\" }\n}\n"
	cfg, diags := Parse([]byte(src), "proxy.hcl", LoadOptions{LookupEnv: noEnv})
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	red := cfg.Redacted()
	if got := red.Telemetry.Headers["x-api-key"]; got != RedactedValue {
		t.Errorf("redacted header = %q, want %q", got, RedactedValue)
	}
	if got := cfg.Telemetry.Headers["x-api-key"]; got != "s3cret" {
		t.Errorf("Redacted changed the original: header = %q", got)
	}
	if got := cfg.Telemetry.HeaderNames(); !reflect.DeepEqual(got, []string{"x-api-key"}) {
		t.Errorf("HeaderNames = %v", got)
	}
}
