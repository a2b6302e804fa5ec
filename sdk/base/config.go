package base

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
)

// Tag keys read by [SchemaFor] and [DecodeConfig].
const (
	tagFlags   = "config"
	tagDefault = "default"
	tagDoc     = "doc"
)

// Duration is a length of time written in config as a Go duration string
// such as "30s", "1m30s" or "500ms" ("0" is zero); its cty type is string. Config durations are
// timeouts and intervals, so a negative value is an error; a field tagged
// `config:"positive"` also refuses zero.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes d as a duration string, the form UnmarshalJSON reads.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string. Its errors do not name the
// attribute: DecodeConfig does.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errDurationNotString
	}
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return &durationError{fmt.Sprintf(`%q is not a duration such as "30s", "1m30s" or "500ms"`, s)}
	}
	if v < 0 {
		return &durationError{fmt.Sprintf("%q is negative", s)}
	}
	*d = Duration(v)
	return nil
}

// durationError is a Duration that does not parse, reported as "Invalid
// duration" like every other duration problem.
type durationError struct{ msg string }

func (e *durationError) Error() string { return e.msg }

var errDurationNotString = &durationError{`a duration must be a string such as "30s"`}

var durationType = reflect.TypeFor[Duration]()

// configField is one attribute of a config struct.
type configField struct {
	index     []int
	attr      Attribute
	positive  bool
	defaultJS json.RawMessage // nil without a default
}

type configFields struct {
	fields []configField
	byName map[string]int
}

var configTypes sync.Map // reflect.Type -> *configFields

// fieldsOf reads T's tags once. A malformed tag is a programming error,
// found by the plugin's first schema test, so it panics.
func fieldsOf(t reflect.Type) *configFields {
	if f, ok := configTypes.Load(t); ok {
		return f.(*configFields)
	}
	if t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("base: config type %s is not a struct", t))
	}
	cf := &configFields{byName: map[string]int{}}
	cf.add(t, nil)
	actual, _ := configTypes.LoadOrStore(t, cf)
	return actual.(*configFields)
}

// add reads the fields of struct t, found at index path in the config
// struct. An embedded struct without a json name contributes its fields as
// attributes of the block, as encoding/json flattens it, so that settings
// several plugins share (oauth.Settings) are declared once.
func (cf *configFields) add(t reflect.Type, path []int) {
	for i := range t.NumField() {
		sf := t.Field(i)
		index := append(slices.Clip(path), sf.Index...)
		jsonTag := sf.Tag.Get("json")
		if sf.Anonymous && jsonTag == "" && sf.Type.Kind() == reflect.Struct {
			cf.add(sf.Type, index)
			continue
		}
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(jsonTag, ",")
		if name == "-" {
			continue
		}
		if name == "" {
			panic(fmt.Sprintf("base: config field %s.%s has no json name", t, sf.Name))
		}
		if _, dup := cf.byName[name]; dup {
			panic(fmt.Sprintf("base: config type %s declares attribute %q twice", t, name))
		}
		f := configField{index: index, attr: Attribute{Name: name, Type: ctyTypeOf(sf.Type), Description: sf.Tag.Get(tagDoc)}}
		if flags := sf.Tag.Get(tagFlags); flags != "" {
			for flag := range strings.SplitSeq(flags, ",") {
				switch flag {
				case "required":
					f.attr.Required = true
				case "sensitive":
					f.attr.Sensitive = true
				case "positive":
					f.positive = true
				default:
					panic(fmt.Sprintf("base: config field %s.%s has unknown flag %q", t, sf.Name, flag))
				}
			}
		}
		if def, ok := sf.Tag.Lookup(tagDefault); ok {
			f.defaultJS = defaultJSON(sf.Type, def)
			probe := reflect.New(sf.Type)
			if err := json.Unmarshal(f.defaultJS, probe.Interface()); err != nil {
				panic(fmt.Sprintf("base: config field %s.%s: default %s: %v", t, sf.Name, def, err))
			}
			if f.positive && !isPositive(probe.Elem()) {
				panic(fmt.Sprintf("base: config field %s.%s: default %s is not positive", t, sf.Name, def))
			}
			f.attr.Default = f.defaultJS
		}
		cf.byName[name] = len(cf.fields)
		cf.fields = append(cf.fields, f)
	}
}

// defaultJSON turns a default tag into JSON: text for a string or Duration,
// JSON already for anything else.
func defaultJSON(t reflect.Type, def string) json.RawMessage {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == durationType || t.Kind() == reflect.String {
		b, _ := json.Marshal(def)
		return b
	}
	return json.RawMessage(def)
}

// ctyTypeOf is t's cty type in its JSON form; nil (any value) for an
// interface or json.RawMessage.
func ctyTypeOf(t reflect.Type) json.RawMessage {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == durationType {
		return TypeString
	}
	if t == reflect.TypeFor[json.RawMessage]() {
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		return TypeString
	case reflect.Bool:
		return TypeBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return TypeNumber
	case reflect.Interface:
		return nil
	case reflect.Slice, reflect.Array:
		return collectionType("list", t.Elem())
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			panic(fmt.Sprintf("base: config map type %s needs string keys", t))
		}
		return collectionType("map", t.Elem())
	}
	panic(fmt.Sprintf("base: config type %s has no cty equivalent", t))
}

func collectionType(kind string, elem reflect.Type) json.RawMessage {
	et := ctyTypeOf(elem)
	if et == nil {
		et = json.RawMessage(`"dynamic"`)
	}
	return json.RawMessage(`["` + kind + `",` + string(et) + `]`)
}

// SchemaFor returns the schema of config struct T, attributes in field
// order. A plugin declares its config block once, as such a struct, and
// gets both its schema and a strict decoder ([DecodeConfig]) from it:
//
//	type Config struct {
//		URL     string   `json:"url" config:"required" doc:"The server's URL."`
//		Token   string   `json:"token" config:"sensitive" doc:"Sent with every request."`
//		Timeout Duration `json:"timeout" config:"positive" default:"10s" doc:"How long to wait."`
//	}
//
// Each exported field is one attribute, described by its tags. The json
// tag names it (every exported field needs one; "-" skips the field). The
// config tag holds comma-separated flags: "required" (present, not null
// and, for a string, not blank), "sensitive" (redacted by the host) and
// "positive" (a number or Duration above 0). The default tag is the value
// of an absent or null attribute (or, for a string or Duration, of ""):
// the text itself for a string or Duration ("10s"), JSON for any other
// type (true, 0.5, ["a"]). The host fills defaults in before the plugin
// sees the config, and DecodeConfig does too, so that a plugin run
// without a host (a test, Validate) sees the same values. The doc tag is
// the attribute's description.
//
// Go types map to cty types: string and Duration to "string", bool to
// "bool", integers and floats to "number", a slice to a list and a map with
// string keys to a map of the element's type; a pointer is its element.
//
// A malformed tag or a type with no cty equivalent panics: build the
// schema once, in a package variable, so that the plugin's first test
// finds it.
func SchemaFor[T any]() Schema {
	cf := fieldsOf(reflect.TypeFor[T]())
	s := Schema{Attributes: make([]Attribute, 0, len(cf.fields))}
	for _, f := range cf.fields {
		s.Attributes = append(s.Attributes, f.attr)
	}
	return s
}

// DecodeConfig decodes raw (a config block as the host sends it) into a T,
// strictly: an attribute T does not declare, a value of the wrong type, a
// bad Duration, a missing required attribute or a non-positive "positive"
// one is an error diagnostic naming the attribute. Absent and null
// attributes take their defaults, as do string and Duration attributes set
// to ""; empty or null raw is an empty block.
// An attribute whose value is wrong keeps its default, so the plugin can go
// on checking the rest; a raw that is not a JSON object gives a single
// diagnostic on the block and T with every default. Diagnostics never
// contain values, which may be secrets.
func DecodeConfig[T any](raw json.RawMessage) (T, []Diagnostic) {
	var cfg T
	cf := fieldsOf(reflect.TypeFor[T]())
	v := reflect.ValueOf(&cfg).Elem()
	for _, f := range cf.fields {
		if f.defaultJS != nil {
			// Checked by fieldsOf.
			_ = json.Unmarshal(f.defaultJS, v.FieldByIndex(f.index).Addr().Interface())
		}
	}
	var members map[string]json.RawMessage
	if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 && !bytes.Equal(trimmed, []byte("null")) {
		if err := json.Unmarshal(trimmed, &members); err != nil || members == nil {
			return cfg, []Diagnostic{Error("", "Invalid config block", "The config must be a JSON object of attributes.")}
		}
	}

	var diags []Diagnostic
	for _, name := range slices.Sorted(maps.Keys(members)) {
		if _, ok := cf.byName[name]; !ok {
			diags = append(diags, Error(name, "Unsupported attribute",
				fmt.Sprintf("%q is not an attribute of this block; it takes %s.", name, attributeList(cf))))
		}
	}
	for _, f := range cf.fields {
		name := f.attr.Name
		value, present := members[name]
		dst := v.FieldByIndex(f.index)
		if present && isUnset(value, dst.Type()) {
			present = false
		}
		if present {
			decoded := reflect.New(dst.Type())
			if err := json.Unmarshal(value, decoded.Interface()); err != nil {
				diags = append(diags, valueError(name, f.attr.Type, value, err))
				continue
			}
			if f.positive && !isPositive(decoded.Elem()) {
				summary := "Invalid value"
				if dst.Type() == durationType {
					summary = "Invalid duration"
				}
				diags = append(diags, Error(name, summary, name+" must be more than 0."))
				continue
			}
			dst.Set(decoded.Elem())
		}
		if f.attr.Required && (!present || isBlank(dst)) {
			diags = append(diags, Error(name, "Missing required attribute", fmt.Sprintf("%s is required and must not be empty.", name)))
		}
	}
	return cfg, diags
}

// valueError describes a value of the wrong type by its JSON kind, never
// by the value itself.
func valueError(name string, ctyType, value json.RawMessage, err error) Diagnostic {
	if de := (*durationError)(nil); errors.As(err, &de) {
		return Error(name, "Invalid duration", fmt.Sprintf("%s: %s.", name, de.msg))
	}
	want := kindOf(ctyType)
	if want == "a number" && jsonKind(value) == want {
		return Error(name, "Invalid value", fmt.Sprintf("%s must be a whole number in range.", name))
	}
	return Error(name, "Invalid value", fmt.Sprintf("%s must be %s, not %s.", name, want, jsonKind(value)))
}

// kindOf names a cty type (JSON form) the way jsonKind names a value.
func kindOf(ctyType json.RawMessage) string {
	switch t := string(ctyType); {
	case t == string(TypeString):
		return "a string"
	case t == string(TypeBool):
		return "a bool"
	case t == string(TypeNumber):
		return "a number"
	case strings.HasPrefix(t, `["list"`):
		return "a list"
	case strings.HasPrefix(t, `["map"`):
		return "a map"
	}
	return "a value of type " + string(ctyType)
}

func jsonKind(value json.RawMessage) string {
	switch b := bytes.TrimSpace(value); {
	case len(b) == 0:
		return "nothing"
	case b[0] == '"':
		return "a string"
	case b[0] == '{':
		return "an object"
	case b[0] == '[':
		return "a list"
	case b[0] == 't' || b[0] == 'f':
		return "a bool"
	default:
		return "a number"
	}
}

func attributeList(cf *configFields) string {
	if len(cf.fields) == 0 {
		return "no attributes"
	}
	names := make([]string, len(cf.fields))
	for i, f := range cf.fields {
		names[i] = f.attr.Name
	}
	return strings.Join(names, ", ")
}

func isPositive(v reflect.Value) bool {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return false
		}
		v = v.Elem()
	}
	switch {
	case v.CanInt():
		return v.Int() > 0
	case v.CanUint():
		return v.Uint() > 0
	case v.CanFloat():
		return v.Float() > 0
	}
	return !v.IsZero()
}

// isUnset reports whether value leaves an attribute of type t at its
// default: null does, and so does "" for a string or Duration, as plugins
// have always read it.
func isUnset(value json.RawMessage, t reflect.Type) bool {
	switch b := bytes.TrimSpace(value); string(b) {
	case "null":
		return true
	case `""`:
		return t == durationType || t.Kind() == reflect.String
	}
	return false
}

// isBlank reports whether a required value is as good as missing.
func isBlank(v reflect.Value) bool {
	if v.Kind() == reflect.String {
		return strings.TrimSpace(v.String()) == ""
	}
	return false
}
