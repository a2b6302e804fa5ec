package toolsearch

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcphost/mcphost/host/internal/demoserver"
	"github.com/mcphost/mcphost/host/internal/testenv"
)

// updateCatalog rewrites testdata/catalog.json from the servers themselves.
var updateCatalog = flag.Bool("update-catalog", false, "rewrite testdata/catalog.json from the npm reference servers and the example server")

// fixtureServer is one server's tools in the fixed catalog.
type fixtureServer struct {
	Server string            `json:"server"`
	Tools  []json.RawMessage `json:"tools"`
}

// fixtureQuery is a query and the tool ("server/tool") it is after.
type fixtureQuery struct {
	Query  string `json:"query"`
	Target string `json:"target"`
}

func loadFixtureCatalog(t testing.TB) []fixtureServer {
	t.Helper()
	var servers []fixtureServer
	readJSON(t, "testdata/catalog.json", &servers)
	return servers
}

func loadFixtureQueries(t testing.TB) []fixtureQuery {
	t.Helper()
	var queries []fixtureQuery
	readJSON(t, "testdata/queries.json", &queries)
	return queries
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// fixtureExposed is the name the proxy exposes for server's tool with the
// default template.
func fixtureExposed(server, tool string) string { return "mcp__proxy__" + server + "__" + tool }

// nameWordsForRule splits a tool name into lower-case words at '_', '-',
// '.', digits-to-letters and lower-to-upper case changes. It is written
// apart from the ranking's tokenizer on purpose: the rule it checks must
// not lean on the code under test.
func nameWordsForRule(name string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	runes := []rune(name)
	for i, r := range runes {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
			continue
		case i > 0 && unicode.IsUpper(r) && unicode.IsLower(runes[i-1]):
			flush()
		}
		cur = append(cur, r)
	}
	flush()
	return words
}

// sameWordForRule says whether two lower-case words are one word for the
// rule: equal, or equal once a plural or verb ending is taken off (so
// "files" counts as "file" and "listing" as "list").
func sameWordForRule(a, b string) bool {
	forms := func(w string) []string {
		out := []string{w}
		for _, ending := range []struct{ suffix, repl string }{
			{"ies", "y"}, {"es", ""}, {"s", ""}, {"ing", ""}, {"ing", "e"}, {"ed", ""}, {"ed", "e"},
		} {
			if len(w) > len(ending.suffix)+2 && strings.HasSuffix(w, ending.suffix) {
				out = append(out, strings.TrimSuffix(w, ending.suffix)+ending.repl)
			}
		}
		return out
	}
	fb := forms(b)
	for _, x := range forms(a) {
		if slices.Contains(fb, x) {
			return true
		}
	}
	return false
}

// TestQueriesAvoidTargetNames checks the rule the queries were written
// under: no word of a query is a word of its target's exposed name (server
// and prefix included), so that finding the target takes more than
// matching its name.
func TestQueriesAvoidTargetNames(t *testing.T) {
	t.Parallel()
	servers := loadFixtureCatalog(t)
	known := map[string]bool{}
	for _, s := range servers {
		for _, raw := range s.Tools {
			var tool struct{ Name string }
			if err := json.Unmarshal(raw, &tool); err != nil {
				t.Fatal(err)
			}
			known[s.Server+"/"+tool.Name] = true
		}
	}
	queries := loadFixtureQueries(t)
	if len(queries) != 20 {
		t.Fatalf("%d queries, want 20", len(queries))
	}
	for _, q := range queries {
		if !known[q.Target] {
			t.Errorf("query %q: target %q is not in the catalog", q.Query, q.Target)
			continue
		}
		server, tool, _ := strings.Cut(q.Target, "/")
		for _, qw := range strings.FieldsFunc(strings.ToLower(q.Query), func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r)
		}) {
			for _, nw := range nameWordsForRule(fixtureExposed(server, tool)) {
				if sameWordForRule(qw, nw) {
					t.Errorf("query %q holds %q, a word of its target's name %q", q.Query, qw, fixtureExposed(server, tool))
				}
			}
		}
	}
}

func TestNameWordsForRule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"mcp__proxy__filesystem__read_text_file", []string{"mcp", "proxy", "filesystem", "read", "text", "file"}},
		{"getTinyImage", []string{"get", "tiny", "image"}},
		{"trigger-long-running-operation", []string{"trigger", "long", "running", "operation"}},
	} {
		if got := nameWordsForRule(tc.name); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("nameWordsForRule(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	if !sameWordForRule("files", "file") || !sameWordForRule("listing", "list") || !sameWordForRule("creating", "create") ||
		!sameWordForRule("entity", "entities") || sameWordForRule("note", "notes2") {
		t.Error("sameWordForRule: plural or verb ending not taken off, or unlike words matched")
	}
}

// snapshotTools lists the tools a server offers to a client with mcphost's
// capabilities, as raw JSON objects, after the server's first
// tools/list_changed if it sends one soon after the handshake
// (server-everything adds its capability-dependent tools then).
func snapshotTools(t *testing.T, c *client.Client) []json.RawMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	changed := make(chan struct{}, 1)
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == "notifications/tools/list_changed" {
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	})
	if err := c.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = "2025-11-25"
	req.Params.ClientInfo = mcp.Implementation{Name: "toolsearch-snapshot", Version: "1"}
	req.Params.Capabilities.Sampling = &mcp.SamplingCapability{}
	req.Params.Capabilities.Elicitation = &mcp.ElicitationCapability{Form: &struct{}{}, URL: &struct{}{}}
	req.Params.Capabilities.Roots = &struct {
		ListChanged bool `json:"listChanged,omitempty"`
	}{ListChanged: true}
	if _, err := c.Initialize(ctx, req); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	settle := time.NewTimer(2 * time.Second)
	select {
	case <-changed:
	case <-settle.C:
	}
	settle.Stop()
	res, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var out []json.RawMessage
	for _, tool := range res.Tools {
		raw, err := json.Marshal(struct {
			Name        string              `json:"name"`
			Description string              `json:"description,omitempty"`
			InputSchema mcp.ToolInputSchema `json:"inputSchema"`
			Annotations mcp.ToolAnnotation  `json:"annotations"`
		}{tool.Name, tool.Description, tool.InputSchema, tool.Annotations})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, raw)
	}
	return out
}

// TestCatalogSnapshot checks that testdata/catalog.json is still what the
// npm reference servers .ci/install-tools installs and the example server
// list (-update-catalog rewrites it). It skips when the npm servers are
// missing, and fails then under CI.
func TestCatalogSnapshot(t *testing.T) {
	npm := []struct {
		server, bin string
		args        func(t *testing.T) []string
		env         func(t *testing.T) []string
	}{
		{server: "everything", bin: "mcp-server-everything"},
		{server: "filesystem", bin: "mcp-server-filesystem", args: func(t *testing.T) []string { return []string{t.TempDir()} }},
		{server: "memory", bin: "mcp-server-memory", env: func(t *testing.T) []string {
			return []string{"MEMORY_FILE_PATH=" + filepath.Join(t.TempDir(), "memory.jsonl")}
		}},
	}
	var got []fixtureServer
	for _, s := range npm {
		argv := testenv.NPMBin(t, s.bin)
		if s.args != nil {
			argv = append(argv, s.args(t)...)
		}
		var env []string
		if s.env != nil {
			env = s.env(t)
		}
		c := client.NewClient(transport.NewStdio(argv[0], env, argv[1:]...))
		got = append(got, fixtureServer{Server: s.server, Tools: snapshotTools(t, c)})
		if err := c.Close(); err != nil {
			t.Logf("closing %s: %v", s.server, err)
		}
	}
	c, err := client.NewInProcessClient(demoserver.New(""))
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, fixtureServer{Server: "example", Tools: snapshotTools(t, c)})
	if err := c.Close(); err != nil {
		t.Logf("closing example: %v", err)
	}
	data, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, '\n')
	if *updateCatalog {
		if err := os.WriteFile("testdata/catalog.json", data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile("testdata/catalog.json")
	if err != nil {
		t.Fatal(err)
	}
	var wantV, gotV any
	if err := json.Unmarshal(want, &wantV); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &gotV); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(wantV, gotV) {
		t.Errorf("the servers' tools differ from testdata/catalog.json; rerun with -update-catalog, then check the queries still hold")
	}
}
