package versions

import (
	"github.com/tidwall/gjson"
)

// emptyForm is the requestedSchema of a form that asks for nothing.
var emptyForm = []byte(`{"type":"object","properties":{}}`)

// downgradeElicitation rewrites a 2025-11-25 elicitation/create request for
// an older client. URL mode has no older form, so it becomes a form with
// no fields whose message carries the URL: the user can still open it and
// accept. A form request keeps its fields, with 2025-11-25 schema features
// turned into their 2025-06-18 equivalents. Multi-select enums (type
// array) have no 2025-06-18 form: such a request is dropped, and the host
// answers the server with a decline, as the client would have had to.
func downgradeElicitation(e *edit) error {
	params := view(e.msg, "params")
	if !params.IsObject() {
		return nil
	}
	multi := false
	params.Get("requestedSchema.properties").ForEach(func(_, p gjson.Result) bool {
		multi = p.Get("type").Str == "array"
		return !multi
	})
	if multi {
		e.drop = true
		return nil
	}
	if params.Get("mode").Str == "url" {
		fn, extra := urlAsForm(params)
		return e.update(rewriteAt(e.msg, "params", fn, extra))
	}
	return e.update(rewriteAt(e.msg, "params", formMembers, nil))
}

// urlAsForm turns URL-mode params into form params: mode, url and
// elicitationId go, the URL joins the message, and the schema is empty.
func urlAsForm(params gjson.Result) (memberFunc, []byte) {
	url := params.Get("url").Str
	message := "Open this URL to continue: " + url
	if m := params.Get("message").Str; m != "" {
		message = m + "\n\n" + message
	}
	fn := func(key, _ gjson.Result) ([]byte, bool, error) {
		switch key.Str {
		case "mode", "url", "elicitationId":
			return nil, true, nil
		case "message":
			return member(key.Raw, str(message)), false, nil
		case "requestedSchema":
			return member(key.Raw, emptyForm), false, nil
		}
		return nil, false, nil
	}
	var extra []byte
	if !params.Get("message").Exists() {
		extra = member(`"message"`, str(message))
	}
	if !params.Get("requestedSchema").Exists() {
		if extra != nil {
			extra = append(extra, ',')
		}
		extra = append(extra, member(`"requestedSchema"`, emptyForm)...)
	}
	return fn, extra
}

// formMembers rewrites form-mode params: the explicit mode:"form" (new in
// 2025-11-25) goes, and each property of requestedSchema is downgraded.
func formMembers(key, value gjson.Result) ([]byte, bool, error) {
	switch key.Str {
	case "mode":
		return nil, value.Str == "form", nil
	case "requestedSchema":
		return rewriteMember(key, value, func(k, v gjson.Result) ([]byte, bool, error) {
			if k.Str != "properties" {
				return nil, false, nil
			}
			return rewriteMember(k, v, propertyMember)
		})
	}
	return nil, false, nil
}

// rewriteMember rewrites the object value of one member with fn.
func rewriteMember(key, value gjson.Result, fn memberFunc) ([]byte, bool, error) {
	if !value.IsObject() {
		return nil, false, nil
	}
	raw, err := rewriteObject(value, fn, nil)
	if err != nil || raw == nil {
		return nil, false, err
	}
	return member(key.Raw, raw), false, nil
}

// propertyMember downgrades one property schema of a form: a titled
// single-select enum (oneOf of {const,title}) becomes enum + enumNames,
// and default goes, except on booleans, which had it in 2025-06-18.
func propertyMember(key, prop gjson.Result) ([]byte, bool, error) {
	if !prop.IsObject() {
		return nil, false, nil
	}
	typ := prop.Get("type").Str
	hasEnum := prop.Get("enum").Exists()
	return rewriteMember(key, prop, func(k, v gjson.Result) ([]byte, bool, error) {
		switch k.Str {
		case "default":
			return nil, typ != "boolean", nil
		case "oneOf":
			if typ != "string" {
				return nil, false, nil
			}
			if hasEnum {
				return nil, true, nil // enum already says it
			}
			members, ok := titledEnum(v)
			if !ok {
				return nil, false, nil
			}
			return members, false, nil
		}
		return nil, false, nil
	})
}

// titledEnum turns oneOf:[{const,title}] into `"enum":[...],"enumNames":[...]`;
// ok is false when an option has no string const. An option without a
// title is named by its value.
func titledEnum(oneOf gjson.Result) ([]byte, bool) {
	if !oneOf.IsArray() {
		return nil, false
	}
	values := []byte(`"enum":[`)
	names := []byte(`"enumNames":[`)
	ok, n := true, 0
	oneOf.ForEach(func(_, opt gjson.Result) bool {
		c := opt.Get("const")
		if c.Type != gjson.String {
			ok = false
			return false
		}
		title := opt.Get("title")
		if title.Type != gjson.String {
			title = c
		}
		if n > 0 {
			values, names = append(values, ','), append(names, ',')
		}
		values, names = append(values, c.Raw...), append(names, title.Raw...)
		n++
		return true
	})
	if !ok || n == 0 {
		return nil, false
	}
	values = append(values, "],"...)
	return append(append(values, names...), ']'), true
}

// downgradeSampling rewrites a sampling/createMessage request for another
// legacy client. includeContext "thisServer"/"allServers" means nothing
// behind an aggregator (and is deprecated), so it becomes "none"; tools
// and toolChoice (2025-11-25) go for older clients; message content is
// downgraded like any content. tool_use/tool_result content has no older
// form and passes unchanged.
func downgradeSampling(e *edit) error {
	to := e.to
	messageFn := contentMembers(to)
	fn := func(key, value gjson.Result) ([]byte, bool, error) {
		switch key.Str {
		case "includeContext":
			if value.Str == "thisServer" || value.Str == "allServers" {
				return member(key.Raw, []byte(`"none"`)), false, nil
			}
		case "tools", "toolChoice":
			return nil, before(to, V20251125), nil
		case "messages":
			if !value.IsArray() {
				return nil, false, nil
			}
			raw, err := rewriteArray(value, eachObject(messageFn), nil)
			if err != nil || raw == nil {
				return nil, false, err
			}
			return member(key.Raw, raw), false, nil
		}
		return nil, false, nil
	}
	return e.update(rewriteAt(e.msg, "params", fn, nil))
}

// downgradeSamplingResult rewrites a client's sampling result for an older
// backend: a 2025-03-26 client may answer with audio, which a 2024-11-05
// backend cannot read, and annotations.lastModified is 2025-06-18.
func downgradeSamplingResult(e *edit) error {
	return e.update(rewriteAt(e.msg, "result", contentMembers(e.to), nil))
}
