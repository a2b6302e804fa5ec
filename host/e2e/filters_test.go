//go:build unix

package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcphost/mcphost/host/internal/testenv"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// filteredExample is the example server "example", run with -name marker
// (to find its process), with the given filter blocks.
func filteredExample(marker, filters string) string {
	s := strings.Replace(exampleServer("example"), `"-name", "example"`, `"-name", "`+marker+`"`, 1)
	return strings.Replace(s, "  transport", filters+"  transport", 1)
}

// TestServerFilters: a server's filters hide its tools from tools/list and
// make them uncallable (answered as an unknown tool); an allow list that
// matches nothing shows in the admin API; a reload that changes only the
// filters applies them without restarting the server, and clients are told.
func TestServerFilters(t *testing.T) {
	t.Parallel()
	addr, adminAddr, token := freeAddr(t), freeAddr(t), "filters-token"
	marker := uniqueMarker("filtersex")
	config := func(filters string) string {
		return listenAndAdmin(addr, adminAddr, token) + filteredExample(marker, filters)
	}
	src := config("  tools {\n    deny = [\"crash\", \"flood\"]\n  }\n  prompts {\n    allow = [\"nope*\"]\n  }\n")
	promptsLine := strings.Count(src[:strings.Index(src, "prompts {")], "\n") + 1
	path := writeConfig(t, src)
	p := startProxyAt(t, path, "http://"+addr+"/mcp")
	base := "http://" + adminAddr
	waitAdmin(t, base, token, p.Stderr)
	rec := &notifRecorder{}
	c := httpClient(t, p.URL, clientOptions{notifications: rec.handle})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	names := toolNameSet(ctx, t, c)
	if slices.Contains(names, "mcp__proxy__example__crash") || slices.Contains(names, "mcp__proxy__example__flood") ||
		!slices.Contains(names, "mcp__proxy__example__echo") {
		t.Fatalf("tools/list with crash and flood denied: %v", names)
	}
	prompts, err := c.ListPrompts(ctx, mcp.ListPromptsRequest{})
	if err != nil || len(prompts.Prompts) != 0 {
		t.Fatalf("prompts/list with allow = [\"nope*\"]: %+v, %v", prompts, err)
	}
	_, filteredErr := tryCall(ctx, c, "mcp__proxy__example__crash", nil)
	_, unknownErr := tryCall(ctx, c, "mcp__proxy__example__never", nil)
	if filteredErr == nil || unknownErr == nil ||
		filteredErr.Error() != strings.ReplaceAll(unknownErr.Error(), "never", "crash") {
		t.Fatalf("calling the denied tool: %v; an unknown one: %v", filteredErr, unknownErr)
	}

	var st struct {
		State    string   `json:"state"`
		Restarts int      `json:"restarts"`
		Prompts  int      `json:"prompts"`
		Warnings []string `json:"warnings"`
	}
	adminGet(t, base, token, "/api/v1/servers/example", &st)
	want := fmt.Sprintf("prompts.allow in %s:%d matches none of the %d prompts server example lists", path, promptsLine, st.Prompts)
	if st.Prompts == 0 || !slices.Equal(st.Warnings, []string{want}) {
		t.Fatalf("admin status %+v, want the warning %q", st, want)
	}
	if !strings.Contains(p.Stderr.String(), want) {
		t.Errorf("the warning is not in the log:\n%s", p.Stderr.String())
	}

	// Only the filters change: the reload applies them live, to the
	// server process that was running.
	before := testenv.FindProcesses(t, marker)
	if len(before) != 1 {
		t.Fatalf("%d processes of the example server, want 1", len(before))
	}
	if err := os.WriteFile(path, []byte(config("  tools {\n    deny = [\"crash\"]\n  }\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitTools(ctx, t, c, "flood back after the reload", func(names []string) bool {
		return slices.Contains(names, "mcp__proxy__example__flood") && !slices.Contains(names, "mcp__proxy__example__crash")
	})
	isChanged := func(method string) func(mcp.JSONRPCNotification) bool {
		return func(n mcp.JSONRPCNotification) bool { return n.Method == method }
	}
	rec.waitFor(ctx, 1, isChanged("notifications/tools/list_changed"))
	rec.waitFor(ctx, 1, isChanged("notifications/prompts/list_changed"))
	poll.Within(t, 30*time.Second, "the prompts warning cleared", func() error {
		st.Warnings = nil
		adminGet(t, base, token, "/api/v1/servers/example", &st)
		if len(st.Warnings) != 0 {
			return fmt.Errorf("warnings %q", st.Warnings)
		}
		return nil
	})
	if now := testenv.FindProcesses(t, marker); st.Restarts != 0 || st.State != "running" || !slices.Equal(now, before) {
		t.Fatalf("a filter-only reload restarted the server: %+v, processes %v (before %v)", st, now, before)
	}
	prompts, err = c.ListPrompts(ctx, mcp.ListPromptsRequest{})
	if err != nil || len(prompts.Prompts) != st.Prompts {
		t.Fatalf("prompts/list after the reload: %+v, %v", prompts, err)
	}
}
