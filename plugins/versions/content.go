package versions

import (
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
)

// resourceLinkFields are the members of a resource_link block that a text
// block does not have.
var resourceLinkFields = []string{"uri", "name", "title", "description", "mimeType", "size", "icons"}

// downgradeBlock rewrites one content block for a client on version to,
// or returns nil when the client understands it as it is.
//
// Audio (2025-03-26) becomes a text block describing it rather than an
// embedded resource: an embedded resource needs a URI the proxy would have
// to invent, and a 2024-11-05 client could not play the audio either. A
// resource_link (2025-06-18) becomes a text block naming the link.
// annotations.lastModified (2025-06-18) and a link's icons (2025-11-25)
// are dropped. Content annotations' audience and priority stay: 2024-11-05
// already had them (its Annotated base).
func downgradeBlock(block gjson.Result, to string) ([]byte, error) {
	if !block.IsObject() {
		return nil, nil
	}
	switch typ := block.Get("type").Str; {
	case typ == "audio" && before(to, V20250326):
		return asText(block, audioText(block), to, "data", "mimeType")
	case typ == "resource_link" && before(to, V20250618):
		return asText(block, linkText(block), to, resourceLinkFields...)
	case typ == "resource_link" && before(to, V20251125):
		return rewriteObject(block, blockMembers(to, "icons"), nil)
	}
	return rewriteObject(block, blockMembers(to), nil)
}

// blockMembers drops the named members and the annotation fields to does
// not know.
func blockMembers(to string, drop ...string) memberFunc {
	dropNamed := dropKeys(drop...)
	return func(key, value gjson.Result) ([]byte, bool, error) {
		if key.Str == "annotations" {
			return downgradeAnnotations(key, value, to)
		}
		return dropNamed(key, value)
	}
}

// asText turns block into a text block carrying text, dropping the named
// members; annotations and _meta stay.
func asText(block gjson.Result, text, to string, drop ...string) ([]byte, error) {
	others := blockMembers(to, drop...)
	fn := func(key, value gjson.Result) ([]byte, bool, error) {
		switch key.Str {
		case "type":
			return member(key.Raw, []byte(`"text"`)), false, nil
		case "text":
			return nil, true, nil // replaced by the extra member below
		}
		return others(key, value)
	}
	return rewriteObject(block, fn, member(`"text"`, str(text)))
}

// downgradeAnnotations drops annotations.lastModified for clients before
// 2025-06-18, and the whole member when nothing else is left in it.
func downgradeAnnotations(key, value gjson.Result, to string) ([]byte, bool, error) {
	if !before(to, V20250618) || !value.IsObject() {
		return nil, false, nil
	}
	raw, err := rewriteObject(value, dropKeys("lastModified"), nil)
	switch {
	case err != nil || raw == nil:
		return nil, false, err
	case string(raw) == "{}":
		return nil, true, nil
	}
	return member(key.Raw, raw), false, nil
}

// audioText describes an audio block whose data is left out.
func audioText(block gjson.Result) string {
	size := decodedLen(block.Get("data").Str)
	if mime := block.Get("mimeType").Str; mime != "" {
		return fmt.Sprintf("[audio content, mimeType %s, %d bytes omitted]", mime, size)
	}
	return fmt.Sprintf("[audio content, %d bytes omitted]", size)
}

// decodedLen is the size of the bytes base64 data stands for.
func decodedLen(data string) int {
	return len(strings.TrimRight(data, "=")) * 3 / 4
}

// linkText names a resource link: "Resource link: Title (name) <uri>
// [mimeType]", then its description on a line of its own.
func linkText(block gjson.Result) string {
	name, title := block.Get("name").Str, block.Get("title").Str
	label := name
	if title != "" && title != name {
		label = title + " (" + name + ")"
	}
	var b strings.Builder
	b.WriteString("Resource link: ")
	b.WriteString(label)
	b.WriteString(" <" + block.Get("uri").Str + ">")
	if mime := block.Get("mimeType").Str; mime != "" {
		b.WriteString(" [" + mime + "]")
	}
	if desc := block.Get("description").Str; desc != "" {
		b.WriteString("\n" + desc)
	}
	return b.String()
}

// downgradeContent rewrites a content member: one block, or (sampling in
// 2025-11-25) an array of them.
func downgradeContent(value gjson.Result, to string) ([]byte, error) {
	if value.IsArray() {
		return rewriteArray(value, blockElem(to), nil)
	}
	return downgradeBlock(value, to)
}

// blockElem is downgradeBlock for the elements of a content array.
func blockElem(to string) elemFunc {
	return func(elem gjson.Result) ([]byte, bool, error) {
		raw, err := downgradeBlock(elem, to)
		return raw, false, err
	}
}

// contentMembers rewrites the "content" member of an object (a prompt or
// sampling message, a sampling result) for a client on version to.
func contentMembers(to string) memberFunc {
	return func(key, value gjson.Result) ([]byte, bool, error) {
		if key.Str != "content" {
			return nil, false, nil
		}
		raw, err := downgradeContent(value, to)
		if err != nil || raw == nil {
			return nil, false, err
		}
		return member(key.Raw, raw), false, nil
	}
}

// downgradeToolResult rewrites a tools/call result for an older client:
// its content blocks, and structuredContent, which the client cannot read
// before 2025-06-18, nor before 2026-07-28 when it is not an object. A
// dropped structuredContent is kept as JSON text, as the spec says a
// server SHOULD do anyway, unless a text block already carries it.
func downgradeToolResult(e *edit) error {
	result := view(e.msg, "result")
	if !result.IsObject() {
		return nil
	}
	structured := result.Get("structuredContent")
	dropStructured := structured.Exists() && (before(e.to, V20250618) || (IsModern(e.from) && !structured.IsObject()))
	content := result.Get("content")
	var textBlock []byte
	if dropStructured && !carriesJSON(content, structured.Raw) {
		textBlock = []byte(`{"type":"text","text":` + string(str(string(compact(structured.Raw)))) + `}`)
	}
	fn := func(key, value gjson.Result) ([]byte, bool, error) {
		switch {
		case key.Str == "structuredContent" && dropStructured:
			return nil, true, nil
		case key.Str == "content" && value.IsArray():
			raw, err := rewriteArray(value, blockElem(e.to), textBlock)
			if err != nil || raw == nil {
				return nil, false, err
			}
			return member(key.Raw, raw), false, nil
		}
		return nil, false, nil
	}
	var extra []byte
	if textBlock != nil && !content.Exists() {
		extra = member(`"content"`, []byte("["+string(textBlock)+"]"))
	}
	return e.update(rewriteAt(e.msg, "result", fn, extra))
}

// carriesJSON reports whether a text block of content holds the JSON
// document raw.
func carriesJSON(content gjson.Result, raw string) bool {
	found := false
	content.ForEach(func(_, block gjson.Result) bool {
		if block.Get("type").Str == "text" && sameJSON(block.Get("text").Str, raw) {
			found = true
		}
		return !found
	})
	return found
}

// downgradePromptMessages rewrites the content of a prompts/get result's
// messages.
func downgradePromptMessages(e *edit) error {
	fn := contentMembers(e.to)
	return e.update(mapArrayAt(e.msg, "result.messages", eachObject(fn)))
}
