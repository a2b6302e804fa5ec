package ui

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcphost/mcphost/host/internal/testenv"
)

// TestSchemaJS runs testdata/schema_test.mjs, the node checks of the Try-it
// form's conversion and validation (views/schema.js).
func TestSchemaJS(t *testing.T) {
	t.Parallel()
	node := testenv.Node(t)
	out, err := exec.Command(node, filepath.Join("testdata", "schema_test.mjs")).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ok ") {
		t.Fatalf("schema_test.mjs: %v\n%s", err, out)
	}
	t.Log(strings.TrimSpace(string(out)))
}

// TestActivityJS runs testdata/activity_test.mjs, the node checks of the
// activity view's query, filters and live merging (views/activitymodel.js).
func TestActivityJS(t *testing.T) {
	t.Parallel()
	node := testenv.Node(t)
	out, err := exec.Command(node, filepath.Join("testdata", "activity_test.mjs")).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ok ") {
		t.Fatalf("activity_test.mjs: %v\n%s", err, out)
	}
	t.Log(strings.TrimSpace(string(out)))
}
