package versions

import (
	"slices"

	"github.com/tidwall/gjson"
)

// toolFieldsUnknownTo lists the Tool members a client on version to does
// not know: annotations came in 2025-03-26, outputSchema and title in
// 2025-06-18, icons and execution (tasks) in 2025-11-25.
func toolFieldsUnknownTo(to string) []string {
	var fields []string
	if before(to, V20250326) {
		fields = append(fields, "annotations")
	}
	if before(to, V20250618) {
		fields = append(fields, "outputSchema", "title")
	}
	if before(to, V20251125) {
		fields = append(fields, "icons", "execution")
	}
	return fields
}

// downgradeTools strips from a tools/list result's tools what the client
// does not know. From a 2026-07-28 backend it also drops an outputSchema
// that does not describe an object, which 2025-06-18 and 2025-11-25
// require it to.
func downgradeTools(e *edit) error {
	unknown := toolFieldsUnknownTo(e.to)
	checkSchema := IsModern(e.from) && !before(e.to, V20250618)
	fn := func(key, value gjson.Result) ([]byte, bool, error) {
		switch {
		case slices.Contains(unknown, key.Str):
			return nil, true, nil
		case key.Str == "outputSchema" && checkSchema && !objectSchema(value):
			return nil, true, nil
		}
		return nil, false, nil
	}
	return e.update(mapArrayAt(e.msg, "result.tools", eachObject(fn)))
}

// objectSchema reports whether schema is a JSON Schema object with
// "type":"object", the only outputSchema legacy revisions allow.
func objectSchema(schema gjson.Result) bool {
	return schema.IsObject() && schema.Get("type").Str == "object"
}

// downgradePrompts strips title (2025-06-18, on prompts and their
// arguments) and icons (2025-11-25) from a prompts/list result.
func downgradePrompts(e *edit) error {
	noTitles := before(e.to, V20250618)
	noIcons := before(e.to, V20251125)
	argFn := dropKeys("title")
	fn := func(key, value gjson.Result) ([]byte, bool, error) {
		switch key.Str {
		case "title":
			return nil, noTitles, nil
		case "icons":
			return nil, noIcons, nil
		case "arguments":
			if !noTitles || !value.IsArray() {
				return nil, false, nil
			}
			raw, err := rewriteArray(value, eachObject(argFn), nil)
			if err != nil || raw == nil {
				return nil, false, err
			}
			return member(key.Raw, raw), false, nil
		}
		return nil, false, nil
	}
	return e.update(mapArrayAt(e.msg, "result.prompts", eachObject(fn)))
}

// downgradeResources strips title and annotations.lastModified
// (2025-06-18) and icons (2025-11-25) from the items of a resources/list
// or resources/templates/list result; list is the member holding them.
func downgradeResources(list string) func(e *edit) error {
	path := "result." + list
	return func(e *edit) error {
		noTitles := before(e.to, V20250618)
		noIcons := before(e.to, V20251125)
		fn := func(key, value gjson.Result) ([]byte, bool, error) {
			switch key.Str {
			case "title":
				return nil, noTitles, nil
			case "icons":
				return nil, noIcons, nil
			case "annotations":
				return downgradeAnnotations(key, value, e.to)
			}
			return nil, false, nil
		}
		return e.update(mapArrayAt(e.msg, path, eachObject(fn)))
	}
}

// stripProgressMessage drops notifications/progress params.message, which
// came in 2025-03-26.
func stripProgressMessage(e *edit) error {
	return e.update(rewriteAt(e.msg, "params", dropKeys("message"), nil))
}

// dropCompletionContext drops completion/complete params.context, which
// came in 2025-06-18.
func dropCompletionContext(e *edit) error {
	return e.update(rewriteAt(e.msg, "params", dropKeys("context"), nil))
}
