package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcphost/mcphost/host/internal/admin"
	"github.com/mcphost/mcphost/host/internal/config"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// TestActivityReload: calls through the router are recorded in the
// activity file; a reload that names another file moves the records there,
// one whose file cannot be opened is applied in part (the old file stays),
// and GET /api/v1/config shows the block.
func TestActivityReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "proxy.hcl")
	write := func(file string) {
		t.Helper()
		src := "proxy {\n  translators = []\n}\nactivity {\n  file = " + fmt.Sprintf("%q", file) + "\n  recent = 10\n}\n"
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("a/first.log")
	cfg, diags := config.Load(path, config.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	ctx := context.Background()
	p, diags := Build(ctx, cfg, Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if err := p.Start(ctx, StartOptions{SkipListeners: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(ctx) })
	ctl := p.Control()
	call := func(name string) {
		t.Helper()
		op := ctl.(admin.Operator)
		if _, err := op.Operate(ctx, admin.OperateRequest{Method: "tools/call", Params: json.RawMessage(`{"name":"` + name + `","arguments":{}}`)}); err != nil {
			t.Fatal(err)
		}
		poll.Until(t, "the record of "+name, func() bool {
			recs := ctl.(admin.ActivityLog).Activity(admin.ActivityQuery{Tool: name, Limit: 1}).Records
			return len(recs) == 1 && recs[0].Outcome == "error" && recs[0].Code == -32602 && recs[0].ClientName == "mcphost-admin"
		})
	}
	lines := func(file string) string {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var r admin.ActivityRecord
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				t.Fatalf("%s: %q: %v", file, l, err)
			}
			names = append(names, r.ExposedName)
		}
		return strings.Join(names, " ")
	}

	call("one")
	write("b/second.log")
	res, err := p.Reload(ctx)
	if err != nil || !res.Applied || len(res.Partial) != 0 {
		t.Fatalf("reload: %+v, %v", res, err)
	}
	call("two")
	if got := lines("a/first.log"); got != "one" {
		t.Errorf("first file: %q", got)
	}
	if got := lines("b/second.log"); got != "two" {
		t.Errorf("second file: %q", got)
	}
	if v := ctl.Config().(admin.ConfigView); v.Activity.File != filepath.Join(dir, "b/second.log") || v.Activity.Recent != 10 {
		t.Errorf("config view: %+v", v.Activity)
	}

	// A file under a regular file cannot be opened.
	if err := os.WriteFile(filepath.Join(dir, "plain"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	write("plain/third.log")
	res, err = p.Reload(ctx)
	if err != nil || !res.Applied || len(res.Partial) != 1 || res.Partial[0].Kind != admin.PartialActivity {
		t.Fatalf("reload with a bad file: %+v, %v", res, err)
	}
	call("three")
	if got := lines("b/second.log"); got != "two three" {
		t.Errorf("second file after the refused change: %q", got)
	}
}
