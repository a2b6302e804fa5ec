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

// TestToolOverrides: tool blocks rename, redescribe, annotate and hide a
// server's tools as clients see them; a block for a tool the server does not
// list is a warning; a reload that changes only the blocks applies them
// without restarting the server. With client_prefix the names that would
// pass the name budget are shortened, and validate --probe, ctl status and
// the admin API list them.
func TestToolOverrides(t *testing.T) {
	t.Parallel()
	addr, adminAddr, token := freeAddr(t), freeAddr(t), "overrides-token"
	marker := uniqueMarker("overridesex")
	longServer := "a_rather_long_server_name_xy"
	config := func(blocks string) string {
		return listenAndAdmin(addr, adminAddr, token) + "proxy {\n  client_prefix = \"mcp__my_gateway__\"\n}\n" +
			filteredExample(marker, blocks) + exampleServer(longServer)
	}
	blocks := "  tool \"echo\" {\n    expose_as   = \"say\"\n    description = \"Says the text back.\"\n" +
		"    annotations = { readOnlyHint = true, title = \"Say\" }\n  }\n" +
		"  tool \"crash\" {\n    hidden = true\n  }\n  tool \"ghost\" {\n    description = \"x\"\n  }\n"
	src := config(blocks)
	ghostLine := strings.Count(src[:strings.Index(src, `tool "ghost"`)], "\n") + 1
	path := writeConfig(t, src)

	// validate --probe starts the servers and reports the warning and the
	// shortened names, without serving anything.
	probe := runCLI(t, 2*time.Minute, "validate", "--probe", path)
	wantWarning := fmt.Sprintf(`tool "ghost" in %s:%d is not among the`, path, ghostLine)
	if probe.code != 0 || !strings.Contains(probe.stdout, wantWarning) ||
		!strings.Contains(probe.stdout, "name(s) shortened to fit name_budget") ||
		!strings.Contains(probe.stdout, "mcp__proxy__"+longServer+"__describe") {
		t.Fatalf("validate --probe: exit %d\nstdout:\n%s\nstderr:\n%s", probe.code, probe.stdout, probe.stderr)
	}

	p := startProxyAt(t, path, "http://"+addr+"/mcp")
	base := "http://" + adminAddr
	waitAdmin(t, base, token, p.Stderr)
	rec := &notifRecorder{}
	c := httpClient(t, p.URL, clientOptions{notifications: rec.handle})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var say *mcp.Tool
	for i, tool := range list.Tools {
		if len("mcp__my_gateway__"+tool.Name) > 64 {
			t.Errorf("%q is longer than the budget with the client's prefix", tool.Name)
		}
		switch tool.Name {
		case "say":
			say = &list.Tools[i]
		case "mcp__proxy__example__echo", "mcp__proxy__example__crash":
			t.Errorf("tools/list has %s", tool.Name)
		}
	}
	if say == nil || say.Description != "Says the text back." || say.Annotations.ReadOnlyHint == nil ||
		!*say.Annotations.ReadOnlyHint || say.Annotations.Title != "Say" {
		t.Fatalf("say = %+v", say)
	}
	if text, err := tryCall(ctx, c, "say", map[string]any{"text": "hi"}); err != nil || text != "hi" {
		t.Fatalf("calling say: %q, %v", text, err)
	}
	_, hiddenErr := tryCall(ctx, c, "mcp__proxy__example__crash", nil)
	_, unknownErr := tryCall(ctx, c, "mcp__proxy__example__never", nil)
	if hiddenErr == nil || unknownErr == nil || hiddenErr.Error() != strings.ReplaceAll(unknownErr.Error(), "never", "crash") {
		t.Fatalf("calling the hidden tool: %v; an unknown one: %v", hiddenErr, unknownErr)
	}

	var tools struct {
		Tools []struct {
			Name       string   `json:"name"`
			Original   string   `json:"original_name"`
			State      string   `json:"state"`
			Overridden []string `json:"overridden"`
			Shortened  bool     `json:"shortened"`
		} `json:"tools"`
		LeftOut []struct {
			Server   string `json:"server"`
			Original string `json:"original_name"`
			State    string `json:"state"`
		} `json:"left_out"`
	}
	adminGet(t, base, token, "/api/v1/tools", &tools)
	shortened := 0
	for _, tool := range tools.Tools {
		if tool.Name == "say" && (tool.Original != "echo" || !slices.Equal(tool.Overridden, []string{"name", "description", "annotations"})) {
			t.Errorf("admin say = %+v", tool)
		}
		if tool.Shortened {
			shortened++
		}
	}
	if shortened == 0 || len(tools.LeftOut) != 1 || tools.LeftOut[0].Original != "crash" || tools.LeftOut[0].State != "hidden" {
		t.Fatalf("admin tools: %d shortened, left out %+v", shortened, tools.LeftOut)
	}
	var st struct {
		Restarts  int      `json:"restarts"`
		Warnings  []string `json:"warnings"`
		Shortened []struct {
			Kind, Full, Exposed string
		} `json:"shortened_names"`
	}
	adminGet(t, base, token, "/api/v1/servers/example", &st)
	if len(st.Warnings) != 1 || !strings.HasPrefix(st.Warnings[0], wantWarning) || len(st.Shortened) != 0 {
		t.Fatalf("admin example %+v, want the ghost warning", st)
	}
	adminGet(t, base, token, "/api/v1/servers/"+longServer, &st)
	shortenedTools := 0
	for _, n := range st.Shortened {
		if n.Kind == "tool" {
			shortenedTools++
		}
	}
	if shortenedTools != shortened || len(st.Shortened) == shortened {
		t.Fatalf("admin %s lists %d shortened names, %d tools; /tools marks %d (the prompt summarise is shortened too)",
			longServer, len(st.Shortened), shortenedTools, shortened)
	}
	status := runCLI(t, time.Minute, "ctl", "-admin", base, "-token", token, "status")
	if status.code != 0 || !strings.Contains(status.stdout, st.Shortened[0].Full) || !strings.Contains(status.stdout, st.Shortened[0].Exposed) {
		t.Fatalf("ctl status does not list %+v:\n%s%s", st.Shortened[0], status.stdout, status.stderr)
	}

	// Only the blocks change: applied live to the running process, and
	// clients are told.
	before := testenv.FindProcesses(t, marker)
	if err := os.WriteFile(path, []byte(config("  tool \"echo\" {\n    hidden = true\n  }\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(ctx, 1, func(n mcp.JSONRPCNotification) bool { return n.Method == "notifications/tools/list_changed" })
	waitTools(ctx, t, c, "crash back and echo hidden", func(names []string) bool {
		return slices.Contains(names, "mcp__proxy__example__crash") && !slices.Contains(names, "say") &&
			!slices.Contains(names, "mcp__proxy__example__echo")
	})
	poll.Within(t, 30*time.Second, "the ghost warning gone", func() error {
		st.Warnings = nil
		adminGet(t, base, token, "/api/v1/servers/example", &st)
		if len(st.Warnings) != 0 {
			return fmt.Errorf("warnings %q", st.Warnings)
		}
		return nil
	})
	if now := testenv.FindProcesses(t, marker); st.Restarts != 0 || !slices.Equal(now, before) {
		t.Fatalf("an override-only reload restarted the server: restarts %d, processes %v (before %v)", st.Restarts, now, before)
	}
}
