package config

import (
	"net/url"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/mcphost/mcphost/sdk/base"
)

func defaultProxy() Proxy {
	return Proxy{
		ToolNameTemplate:    DefaultToolNameTemplate,
		PromptNameTemplate:  DefaultPromptNameTemplate,
		ResourceURITemplate: DefaultResourceURITemplate,
		NameBudget:          DefaultNameBudget,
		MaxMessageBytes:     DefaultMaxMessageBytes,
		SessionOutboxBytes:  DefaultMaxMessageBytes + SessionOutboxSlack,
		OutboxBytes:         DefaultOutboxBytes,
		SessionMaxInFlight:  DefaultSessionMaxInFlight,
		MaxNestingDepth:     DefaultMaxNestingDepth,
		RequestTimeout:      DefaultRequestTimeout,
		ShutdownTimeout:     DefaultShutdownTimeout,
		StartupWait:         DefaultStartupWait,
		LogLevel:            DefaultLogLevel,
		LogFormat:           DefaultLogFormat,
		Restart:             DefaultRestart(),
		Health:              DefaultHealth(),
		Translators:         []string{DefaultTranslator},
		LogMaxBytes:         DefaultLogMaxBytes,
		LogMaxFiles:         DefaultLogMaxFiles,
		LogMaxAge:           DefaultLogMaxAge,
		ToolMode:            DefaultToolMode,
	}
}

var proxySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "tool_name_template"},
		{Name: "prompt_name_template"},
		{Name: "resource_uri_template"},
		{Name: "name_budget"},
		{Name: "client_prefix"},
		{Name: "max_message_bytes"},
		{Name: "session_outbox_bytes"},
		{Name: "outbox_bytes"},
		{Name: "session_max_in_flight"},
		{Name: "max_nesting_depth"},
		{Name: "request_timeout"},
		{Name: "shutdown_timeout"},
		{Name: "drain_delay"},
		{Name: "instance_id"},
		{Name: "request_state_key"},
		{Name: "peers"},
		{Name: "startup_wait"},
		{Name: "log_level"},
		{Name: "log_format"},
		{Name: "translators"},
		{Name: "watch_config"},
		{Name: "log_dir"},
		{Name: "log_max_bytes"},
		{Name: "log_max_files"},
		{Name: "log_max_age"},
		{Name: "tool_mode"},
		{Name: "pinned_tools"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "restart"}, {Type: "health"}},
}

func (d *decoder) decodeProxy(b *hcl.Block, p *Proxy) {
	p.DeclRange = b.DefRange
	start := len(d.diags)
	defer func() { hideSecretSources(d.diags[start:], b.Body, proxySecrets) }()
	content, diags := b.Body.Content(proxySchema)
	d.add(diags...)
	attrs := content.Attributes
	d.decodePolicyBlocks(content.Blocks, &p.Restart, &p.Health)

	templates := []struct {
		name, placeholder string
		dst               *string
	}{
		{"tool_name_template", "tool", &p.ToolNameTemplate},
		{"prompt_name_template", "prompt", &p.PromptNameTemplate},
		{"resource_uri_template", "uri", &p.ResourceURITemplate},
	}
	for _, t := range templates {
		if attr, ok := attrs[t.name]; ok {
			if s, ok := d.evalString(attr); ok && d.checkTemplate(attr, s, t.placeholder) {
				*t.dst = s
			}
		}
	}

	d.decodeNameBudget(attrs, p)

	if attr, ok := attrs["max_message_bytes"]; ok {
		if n, ok := d.evalInt(attr); ok {
			if n < MinMaxMessageBytes {
				d.errorf(attr.Expr.Range(), "Invalid max_message_bytes",
					"max_message_bytes must be at least %d (1 MiB); got %d.", MinMaxMessageBytes, n)
			} else {
				p.MaxMessageBytes = uint64(n)
			}
		}
	}
	d.decodeOutboxes(attrs, p)
	decodeAttr(attrs, "request_timeout", d.evalDuration, &p.RequestTimeout)
	decodeAttr(attrs, "shutdown_timeout", d.evalDuration, &p.ShutdownTimeout)
	decodeAttr(attrs, "drain_delay", d.evalDurationOrZero, &p.DrainDelay)
	if attr, ok := attrs["instance_id"]; ok {
		if s, ok := d.evalString(attr); ok {
			if instanceIDRE.MatchString(s) {
				p.InstanceID = s
			} else {
				d.errorf(attr.Expr.Range(), "Invalid instance_id",
					"instance_id must be 1 to 32 characters of a-z, 0-9 and \"-\" (it starts every session id); got %q.", s)
			}
		}
	}
	d.decodeScaleOut(attrs, p)
	d.decodeToolSearch(attrs, p)
	decodeAttr(attrs, "startup_wait", d.evalDurationOrZero, &p.StartupWait)
	decodeAttr(attrs, "log_level", d.enum(logLevels), &p.LogLevel)
	decodeAttr(attrs, "log_format", d.enum(logFormats), &p.LogFormat)
	if attr, ok := attrs["log_dir"]; ok {
		if s, ok := d.evalString(attr); ok {
			p.LogDir, p.logDirSet = s, true
			if s != "" && !filepath.IsAbs(s) {
				p.LogDir = filepath.Join(d.dir, s)
			}
		}
	}
	decodeAttr(attrs, "log_max_bytes", d.atLeast(4096), &p.LogMaxBytes)
	decodeAttr(attrs, "log_max_files", d.evalCount, &p.LogMaxFiles)
	decodeAttr(attrs, "log_max_age", d.evalDurationOrZero, &p.LogMaxAge)
	if attr, ok := attrs["watch_config"]; ok {
		if v, ok := d.eval(attr, cty.Bool); ok && !v.IsNull() {
			p.WatchConfig = v.True()
		}
	}
	if attr, ok := attrs["translators"]; ok {
		p.TranslatorsRange = attr.Expr.Range()
		if v, ok := d.eval(attr, cty.List(cty.String)); ok && !v.IsNull() {
			p.Translators = []string{}
			for it := v.ElementIterator(); it.Next(); {
				_, e := it.Element()
				if e.IsNull() || e.AsString() == "" {
					d.errorf(attr.Expr.Range(), "Invalid translators", "translators must list plugin names.")
					continue
				}
				p.Translators = append(p.Translators, e.AsString())
			}
		}
	}
}

// decodeOutboxes reads the fairness bounds. A session's outbox must hold
// at least one message of max_message_bytes, and the total one session's.
func (d *decoder) decodeOutboxes(attrs hcl.Attributes, p *Proxy) {
	p.SessionOutboxBytes = int64(p.MaxMessageBytes) + SessionOutboxSlack
	if attr, ok := attrs["session_outbox_bytes"]; ok {
		if n, ok := d.evalInt(attr); ok {
			if n < int64(p.MaxMessageBytes) {
				d.errorf(attr.Expr.Range(), "Invalid session_outbox_bytes",
					"session_outbox_bytes must hold at least one message of max_message_bytes (%d); got %d.", p.MaxMessageBytes, n)
			} else {
				p.SessionOutboxBytes = n
			}
		}
	}
	p.OutboxBytes = max(DefaultOutboxBytes, p.SessionOutboxBytes)
	if attr, ok := attrs["outbox_bytes"]; ok {
		if n, ok := d.evalInt(attr); ok {
			if n < p.SessionOutboxBytes {
				d.errorf(attr.Expr.Range(), "Invalid outbox_bytes",
					"outbox_bytes must be at least session_outbox_bytes (%d); got %d.", p.SessionOutboxBytes, n)
			} else {
				p.OutboxBytes = n
			}
		}
	}
	if attr, ok := attrs["max_nesting_depth"]; ok {
		if n, ok := d.evalInt(attr); ok {
			if n < 0 || n > 1<<20 {
				d.errorf(attr.Expr.Range(), "Invalid max_nesting_depth",
					"max_nesting_depth must be between 0 (no bound) and %d; got %d.", 1<<20, n)
			} else {
				p.MaxNestingDepth = int(n)
			}
		}
	}
	if attr, ok := attrs["session_max_in_flight"]; ok {
		if n, ok := d.evalInt(attr); ok {
			if n < 0 || n > 1<<20 {
				d.errorf(attr.Expr.Range(), "Invalid session_max_in_flight",
					"session_max_in_flight must be between 0 (no bound) and %d; got %d.", 1<<20, n)
			} else {
				p.SessionMaxInFlight = int(n)
			}
		}
	}
}

// proxySecrets marks the proxy attributes whose values diagnostics never
// quote.
var proxySecrets = base.Schema{Attributes: []base.Attribute{{Name: "request_state_key", Sensitive: true}}}

// MinRequestStateKeyBytes is the shortest request_state_key: an HMAC-SHA256
// key shorter than its output weakens it.
const MinRequestStateKeyBytes = 32

// decodeScaleOut reads what instances behind one load balancer share: the
// key that authenticates requestState tokens and peer calls, and the
// peers' MCP endpoints by instance id.
func (d *decoder) decodeScaleOut(attrs hcl.Attributes, p *Proxy) {
	if attr, ok := attrs["request_state_key"]; ok {
		if s, ok := d.evalString(attr); ok {
			if len(s) < MinRequestStateKeyBytes {
				d.errorf(attr.Expr.Range(), "Invalid request_state_key",
					"request_state_key must be at least %d bytes (it authenticates requestState tokens and peer calls); generate one with `openssl rand -base64 32`.",
					MinRequestStateKeyBytes)
			} else {
				p.RequestStateKey = s
			}
		}
	}
	attr, ok := attrs["peers"]
	if !ok {
		return
	}
	v, ok := d.eval(attr, cty.Map(cty.String))
	if !ok || v.IsNull() {
		return
	}
	p.Peers = map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		id := k.AsString()
		if !instanceIDRE.MatchString(id) {
			d.errorf(attr.Expr.Range(), "Invalid peers",
				"peers are keyed by instance id: 1 to 32 characters of a-z, 0-9 and \"-\"; got %q.", id)
			continue
		}
		raw := ""
		if !e.IsNull() {
			raw = e.AsString()
		}
		if u, err := url.Parse(raw); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			d.errorf(attr.Expr.Range(), "Invalid peers",
				"peer %q must be the http(s) URL of that instance's MCP endpoint, such as \"http://10.0.0.1:8080/mcp\"; got %q.", id, raw)
			continue
		}
		p.Peers[id] = raw
	}
}

// instanceIDRE is the form of proxy.instance_id (router.ValidInstanceID).
var instanceIDRE = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

var placeholderRE = regexp.MustCompile(`\{[^{}]*\}`)

func (d *decoder) checkTemplate(attr *hcl.Attribute, s, placeholder string) bool {
	want := "{" + placeholder + "}"
	if !strings.Contains(s, want) {
		d.errorf(attr.Expr.Range(), "Invalid name template",
			"%s must contain %s, which is replaced by the backend's own name; {server} is optional.", attr.Name, want)
		return false
	}
	for _, m := range placeholderRE.FindAllString(s, -1) {
		if m != want && m != "{server}" {
			d.errorf(attr.Expr.Range(), "Invalid name template",
				"%s contains the unknown placeholder %s; only %s and {server} are replaced.", attr.Name, m, want)
			return false
		}
	}
	return true
}
