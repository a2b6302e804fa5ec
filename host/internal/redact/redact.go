// Package redact decides which configuration values are secrets and hides
// them, in one place, for everything an operator reads: the admin API's
// configuration, log lines, error messages (a server's reason and last
// error) and configuration diagnostics.
//
// A plugin says which of its attributes are secrets with
// base.Attribute.Sensitive in the schema it reports; such a value is
// replaced whole (a map keeps its keys, so one can see which headers are
// set). Values no schema describes (the members of a map attribute such as
// a stdio server's env or an http server's headers, or a plugin that marks
// nothing) fall back to a list of key names that usually hold secrets
// (token, password, api_key, headers, env, …).
package redact

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/transport"
)

// Value replaces every secret.
const Value = "(redacted)"

// minSecret is the shortest value Secrets.Text replaces in free text;
// shorter ones ("1", "on") would mangle messages and are not secrets
// anyone relies on.
const minSecret = 4

// secretKeys are key names (matched case-insensitively, as substrings)
// whose values are taken for secrets when no schema says so; headers and
// env hold credentials as often as not.
var secretKeys = []string{
	"headers", "env", "bearer", "token", "secret", "password", "passwd", "authorization", "api_key", "apikey",
	"credential", "private_key", "dsn",
}

// SecretKey reports whether a key name is taken for a secret when no
// schema describes its value (the fallback).
func SecretKey(key string) bool {
	key = strings.ToLower(key)
	for _, s := range secretKeys {
		if strings.Contains(key, s) {
			return true
		}
	}
	return false
}

// Sensitive reports whether the value of attribute name of a block with
// this schema is hidden: the plugin marked it Sensitive, or its name is a
// secret's (SecretKey).
func Sensitive(schema base.Schema, name string) bool {
	for _, a := range schema.Attributes {
		if a.Name == name && a.Sensitive {
			return true
		}
	}
	return SecretKey(name)
}

// Secrets are the string values a Config call hid, to be removed from free
// text (errors, diagnostics, log lines) that may quote them.
type Secrets []string

// Text returns s with every secret of at least four characters replaced
// by Value.
func (sec Secrets) Text(s string) string {
	for _, v := range sec {
		if len(v) >= minSecret {
			s = strings.ReplaceAll(s, v, Value)
		}
	}
	return s
}

// Error returns err with its message passed through Text; errors.Is and
// errors.As still see err. Nil stays nil, and an error quoting no secret
// is returned as it is.
func (sec Secrets) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := sec.Text(err.Error())
	if msg == err.Error() {
		return err
	}
	return &redacted{msg: msg, err: err, sec: sec}
}

type redacted struct {
	msg string
	err error
	sec Secrets
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

// Reason keeps transport.Reason from reaching past the redaction to the
// wrapped error's words.
func (r *redacted) Reason() string { return r.sec.Text(transport.Reason(r.err)) }

// Config returns a plugin block's decoded configuration (a JSON object, as
// config.DecodeBody makes it) with every secret replaced by Value, and the
// secrets it replaced. A value that is not a JSON object is hidden whole.
func Config(schema base.Schema, cfg json.RawMessage) (json.RawMessage, Secrets) {
	if len(cfg) == 0 {
		return cfg, nil
	}
	var obj map[string]any
	if err := json.Unmarshal(cfg, &obj); err != nil {
		out, _ := json.Marshal(Value)
		return out, Secrets{string(cfg)}
	}
	var sec Secrets
	for k, v := range obj {
		obj[k] = hide(v, Sensitive(schema, k), &sec)
	}
	out, err := json.Marshal(obj)
	if err != nil { // cannot happen: it was just decoded
		out, _ = json.Marshal(Value)
	}
	slices.SortFunc(sec, func(a, b string) int { return len(b) - len(a) }) // longest first
	return out, sec
}

// hide replaces v when secret, and otherwise every value under a key that
// names a secret; a map under a secret keeps its keys.
func hide(v any, secret bool, sec *Secrets) any {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			t[k] = hide(child, secret || SecretKey(k), sec)
		}
		return t
	case []any:
		for i, child := range t {
			t[i] = hide(child, secret, sec)
		}
		return t
	case nil:
		return nil
	default:
		if !secret {
			return t
		}
		if s, ok := t.(string); ok {
			*sec = append(*sec, s)
		} else if b, err := json.Marshal(t); err == nil {
			*sec = append(*sec, string(b))
		}
		return Value
	}
}
