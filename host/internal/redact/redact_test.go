package redact

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/transport"
)

func TestConfig(t *testing.T) {
	t.Parallel()
	schema := base.Schema{Attributes: []base.Attribute{
		{Name: "address"}, {Name: "private_key", Sensitive: true}, {Name: "conn", Sensitive: true},
		{Name: "env"}, {Name: "headers"}, {Name: "args"}, {Name: "opts", Sensitive: true},
	}}
	tests := []struct {
		name        string
		schema      base.Schema
		cfg         string
		want        string
		wantSecrets []string
	}{
		{name: "sensitive by schema", schema: schema,
			cfg:  `{"address":"127.0.0.1:9","conn":"postgres://u:pw@db/x"}`,
			want: `{"address":"127.0.0.1:9","conn":"(redacted)"}`, wantSecrets: []string{"postgres://u:pw@db/x"}},
		{name: "sensitive map keeps its keys", schema: schema,
			cfg:  `{"opts":{"a":"xyzw","n":12}}`,
			want: `{"opts":{"a":"(redacted)","n":"(redacted)"}}`, wantSecrets: []string{"xyzw", "12"}},
		{name: "env and headers by key name", schema: schema,
			cfg:  `{"env":{"HOME":"/h"},"headers":{"X-A":"v1"},"args":["--token","t0k3n"]}`,
			want: `{"args":["--token","t0k3n"],"env":{"HOME":"(redacted)"},"headers":{"X-A":"(redacted)"}}`, wantSecrets: []string{"/h", "v1"}},
		{name: "no schema: key names", schema: base.Schema{},
			cfg:         `{"private_key":"k-e-y","dsn":"mysql://a","nested":{"api_key":"abcd","plain":"x"}}`,
			want:        `{"dsn":"(redacted)","nested":{"api_key":"(redacted)","plain":"x"},"private_key":"(redacted)"}`,
			wantSecrets: []string{"k-e-y", "mysql://a", "abcd"}},
		{name: "nothing secret", schema: schema, cfg: `{"address":"a"}`, want: `{"address":"a"}`},
		{name: "empty", schema: schema, cfg: ``, want: ``},
		{name: "not an object", schema: schema, cfg: `"oops"`, want: `"(redacted)"`, wantSecrets: []string{`"oops"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, sec := Config(tt.schema, json.RawMessage(tt.cfg))
			if string(got) != tt.want {
				t.Errorf("Config = %s, want %s", got, tt.want)
			}
			slices.Sort(sec)
			want := slices.Clone(tt.wantSecrets)
			slices.Sort(want)
			if !slices.Equal(sec, want) {
				t.Errorf("secrets = %q, want %q", sec, want)
			}
		})
	}
}

func TestSecretsText(t *testing.T) {
	t.Parallel()
	sec := Secrets{"hunter2-long", "hunter2", "ab"}
	tests := []struct{ in, want string }{
		{"dial with hunter2-long failed", "dial with (redacted) failed"},
		{"bad key hunter2", "bad key (redacted)"},
		{"ab is too short to hide", "ab is too short to hide"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := sec.Text(tt.in); got != tt.want {
				t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSecretsError(t *testing.T) {
	t.Parallel()
	sec := Secrets{"s3cr3t"}
	base := &fs.PathError{Op: "open", Path: "/x/s3cr3t", Err: fs.ErrNotExist}
	err := sec.Error(base)
	if strings.Contains(err.Error(), "s3cr3t") || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Error = %v (is ErrNotExist: %v)", err, errors.Is(err, fs.ErrNotExist))
	}
	// The operator's reason of a plugin error stays redacted too.
	pe := fmt.Errorf("open: %w", &transport.PluginError{Msg: "cannot log in as s3cr3t"})
	if r := transport.Reason(sec.Error(pe)); r != "cannot log in as (redacted)" {
		t.Errorf("Reason = %q", r)
	}
	plain := errors.New("nothing to hide")
	if sec.Error(plain) != plain || sec.Error(nil) != nil {
		t.Error("an error quoting no secret changed")
	}
}

func TestSensitive(t *testing.T) {
	t.Parallel()
	schema := base.Schema{Attributes: []base.Attribute{{Name: "conn", Sensitive: true}, {Name: "address"}}}
	tests := []struct {
		name string
		want bool
	}{{"conn", true}, {"address", false}, {"auth_token", true}, {"PASSWORD", true}, {"command", false}}
	for _, tt := range tests {
		if got := Sensitive(schema, tt.name); got != tt.want {
			t.Errorf("Sensitive(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
