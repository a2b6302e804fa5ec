package admin_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/host/internal/admin"
	"github.com/mcphost/mcphost/host/internal/admin/admintest"
)

var snakeCase = regexp.MustCompile(`^[a-z0-9_]+$`)

// jsonNameProblems walks t's exported fields (through pointers, slices,
// maps and embedded structs) and reports every one whose JSON name is not
// snake_case, any time.Duration (encoded as a number of nanoseconds: the
// API gives durations as strings) and any field from hcl (source ranges).
func jsonNameProblems(t reflect.Type, path string, seen map[reflect.Type]bool) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t == reflect.TypeFor[time.Duration]() {
		return []string{path + ": a time.Duration (give durations as strings)"}
	}
	if strings.Contains(t.PkgPath(), "hashicorp/hcl") {
		return []string{path + ": an hcl type (" + t.String() + ")"}
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeFor[time.Time]() || seen[t] {
		return nil
	}
	seen[t] = true
	var out []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			out = append(out, jsonNameProblems(f.Type, path+"."+f.Name, seen)...)
			continue
		}
		if !snakeCase.MatchString(name) {
			out = append(out, path+"."+f.Name+": JSON name "+strings.TrimSpace(name+" (tag `"+string(f.Tag)+"`)")+" is not snake_case")
		}
		out = append(out, jsonNameProblems(f.Type, path+"."+f.Name, seen)...)
	}
	return out
}

// TestJSONNames: every field of every response type has a snake_case
// JSON name given by its tag; no duration is a number and no source
// range shows.
func TestJSONNames(t *testing.T) {
	t.Parallel()
	types := []any{
		admin.ServerList{}, admin.ServerStatus{}, admin.ActionResult{}, admin.ToolList{}, admin.SessionList{}, admin.LogLines{},
		admin.MetricsSummary{}, admin.TracingStatus{}, admin.ReloadResponse{}, admin.Event{}, admin.ErrorBody{}, admin.ConfigView{},
		admin.ActivityList{},
	}
	for _, v := range types {
		typ := reflect.TypeOf(v)
		t.Run(typ.Name(), func(t *testing.T) {
			t.Parallel()
			for _, p := range jsonNameProblems(typ, typ.Name(), map[reflect.Type]bool{}) {
				t.Error(p)
			}
		})
	}
}

// TestJSONNamesOnTheWire walks the JSON every GET endpoint answers and
// fails on a member name that is not snake_case, except inside the
// plugin-defined transport_config (its names are the plugin's attributes,
// and env or header names are the user's).
func TestJSONNamesOnTheWire(t *testing.T) {
	t.Parallel()
	_, base := start(t, admin.Options{Token: testToken, Control: admintest.New()})
	paths := []string{
		"/api/v1/servers", "/api/v1/servers/beta", "/api/v1/tools", "/api/v1/sessions", "/api/v1/tracing",
		"/api/v1/logs/alpha", "/api/v1/metrics", "/api/v1/config", "/api/v1/nothing",
	}
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			r := send(t, base, request{method: "GET", path: path})
			var v any
			if err := json.Unmarshal([]byte(r.body), &v); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			var walk func(v any, at string)
			walk = func(v any, at string) {
				switch v := v.(type) {
				case map[string]any:
					for k, child := range v {
						if !snakeCase.MatchString(k) {
							t.Errorf("%s: member %q of %s is not snake_case", path, k, at)
						}
						if k != "transport_config" {
							walk(child, at+"."+k)
						}
					}
				case []any:
					for _, child := range v {
						walk(child, at+"[]")
					}
				}
			}
			walk(v, "$")
		})
	}
}
