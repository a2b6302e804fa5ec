package config

import (
	"net"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

var listenSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "address"},
		{Name: "path"},
		{Name: "sse_path"},
		{Name: "message_path"},
		{Name: "websocket_path"},
		{Name: "metrics_path"},
		{Name: "allowed_origins"},
		{Name: "auth_token"},
		{Name: "allow_unauthenticated"},
		{Name: "max_sessions"},
		{Name: "resume_buffer_bytes"},
		{Name: "resume_total_bytes"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "oauth"}},
}

func (d *decoder) decodeListener(b *hcl.Block) (Listener, bool) {
	kind := b.Labels[0]
	if !contains(listenerKinds, kind) {
		d.errorf(b.LabelRanges[0], "Unsupported listener kind",
			"Listener kind %q is not supported. Known kinds: %s.", kind, quoteList(listenerKinds))
		return Listener{}, false
	}
	l := DefaultListener()
	l.Kind = kind
	l.DeclRange = b.DefRange
	content, diags := b.Body.Content(listenSchema)
	d.add(diags...)
	attrs := content.Attributes
	if attr, ok := attrs["address"]; ok {
		if s, ok := d.evalString(attr); ok {
			if _, _, err := net.SplitHostPort(s); err != nil {
				d.errorf(attr.Expr.Range(), "Invalid listen address",
					"address must be host:port, such as %q: %s.", DefaultListenAddress, err)
			} else {
				l.Address = s
			}
		}
	}
	if attr, ok := attrs["path"]; ok {
		if s, ok := d.evalString(attr); ok {
			if !strings.HasPrefix(s, "/") {
				d.errorf(attr.Expr.Range(), "Invalid listen path",
					"path must start with \"/\", such as %q.", DefaultListenPath)
			} else {
				l.Path = s
			}
		}
	}
	d.decodeEndpointPaths(b, attrs, &l)
	if attr, ok := attrs["allowed_origins"]; ok {
		if v, ok := d.eval(attr, cty.List(cty.String)); ok && !v.IsNull() {
			for it := v.ElementIterator(); it.Next(); {
				_, e := it.Element()
				if e.IsNull() {
					d.errorf(attr.Expr.Range(), "Invalid allowed_origins", "allowed_origins must not contain null.")
					continue
				}
				l.AllowedOrigins = append(l.AllowedOrigins, e.AsString())
			}
		}
	}
	decodeAttr(attrs, "auth_token", d.evalString, &l.AuthToken)
	if attr, ok := attrs["allow_unauthenticated"]; ok {
		if v, ok := d.eval(attr, cty.Bool); ok && !v.IsNull() {
			l.AllowUnauthenticated = v.True()
		}
	}
	if attr, ok := attrs["max_sessions"]; ok {
		if n, ok := d.evalInt(attr); ok {
			if n < 0 || n > maxMaxSessions {
				d.errorf(attr.Expr.Range(), "Invalid max_sessions",
					"max_sessions must be between 0 (no bound) and %d; got %d.", maxMaxSessions, n)
			} else {
				l.MaxSessions = int(n)
			}
		}
	}
	if attr, ok := attrs["resume_buffer_bytes"]; ok {
		if n, ok := d.evalInt(attr); ok {
			if n < 0 || n > maxResumeBytes {
				d.errorf(attr.Expr.Range(), "Invalid resume_buffer_bytes",
					"resume_buffer_bytes must be between 0 (no resumption) and %d; got %d.", int64(maxResumeBytes), n)
			} else if n == 0 {
				l.ResumeBufferBytes = -1
			} else {
				l.ResumeBufferBytes = int(n)
			}
		}
	}
	if attr, ok := attrs["resume_total_bytes"]; ok {
		if n, ok := d.evalInt(attr); ok {
			if n < 1 || n > maxResumeBytes {
				d.errorf(attr.Expr.Range(), "Invalid resume_total_bytes",
					"resume_total_bytes must be between 1 and %d; got %d.", int64(maxResumeBytes), n)
			} else {
				l.ResumeTotalBytes = int(n)
			}
		}
	}
	l.OAuth = d.decodeListenOAuth(content.Blocks.OfType("oauth"))
	if l.AuthToken == "" && l.OAuth == nil && !l.AllowUnauthenticated && !loopbackAddress(l.Address) {
		subject := b.DefRange
		if attr, ok := attrs["address"]; ok {
			subject = attr.Expr.Range()
		}
		d.errorf(subject, "Listener open beyond loopback without auth",
			"%s accepts connections from other machines, and anyone who reaches it controls every backend. "+
				"Add an oauth block, set auth_token (e.g. env(\"MCPHOST_TOKEN\")), listen on 127.0.0.1, or set allow_unauthenticated = true.", l.Address)
	}
	return l, true
}

// decodeEndpointPaths reads the paths of the transports served beside the
// streamable HTTP endpoint, and checks that every endpoint has a path of
// its own.
func (d *decoder) decodeEndpointPaths(b *hcl.Block, attrs hcl.Attributes, l *Listener) {
	endpoints := []struct {
		name, example string
		value         *string
	}{
		{"sse_path", DefaultSSEPath, &l.SSEPath},
		{"message_path", DefaultMessagePath, &l.MessagePath},
		{"websocket_path", DefaultWebSocketPath, &l.WebSocketPath},
		{"metrics_path", DefaultMetricsPath, &l.MetricsPath},
	}
	disabler := map[string]string{"sse_path": "sse_path", "message_path": "sse_path", "websocket_path": "websocket_path", "metrics_path": "metrics_path"}
	for _, e := range endpoints {
		attr, ok := attrs[e.name]
		if !ok {
			continue
		}
		s, ok := d.evalString(attr)
		if !ok {
			continue
		}
		if s != "" && !strings.HasPrefix(s, "/") {
			d.errorf(attr.Expr.Range(), "Invalid listen path",
				"%s must start with \"/\", such as %q. To disable that endpoint, set %s = \"\".", e.name, e.example, disabler[e.name])
			continue
		}
		*e.value = s
	}
	if l.SSEPath != "" && l.MessagePath == "" {
		d.errorf(attrs["message_path"].Expr.Range(), "Missing message_path",
			"The HTTP+SSE transport at sse_path %q needs a message_path for clients to POST to. "+
				"Set sse_path = \"\" as well to disable HTTP+SSE.", l.SSEPath)
	}
	// Each endpoint needs its own path; a clash is reported at whichever of
	// the two was written in the file (the later one when both were).
	type endpoint struct {
		name string
		attr *hcl.Attribute
	}
	seen := map[string]endpoint{}
	for _, e := range []struct {
		name, value string
	}{
		{"path", l.Path}, {"sse_path", l.SSEPath}, {"message_path", l.MessagePath}, {"websocket_path", l.WebSocketPath},
		{"metrics_path", l.MetricsPath},
	} {
		if e.value == "" || (e.name == "message_path" && l.SSEPath == "") {
			continue
		}
		cur := endpoint{name: e.name, attr: attrs[e.name]}
		first, clash := seen[e.value]
		if !clash {
			seen[e.value] = cur
			continue
		}
		subject := b.DefRange
		switch {
		case cur.attr != nil:
			subject = cur.attr.Expr.Range()
		case first.attr != nil:
			subject = first.attr.Expr.Range()
		}
		// The later of the two is never path, which cannot be disabled.
		d.errorf(subject, "Duplicate listen path",
			"%s and %s are both %q; each endpoint needs a path of its own. Choose another, or set %s = \"\" to disable that endpoint.",
			first.name, e.name, e.value, disabler[e.name])
	}
}

// loopbackAddress says whether host:port can only be reached from this machine.
func loopbackAddress(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
