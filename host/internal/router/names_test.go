package router

import (
	"regexp"
	"strings"
	"testing"
)

var validName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

func TestExposedName(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 80)
	tests := []struct {
		name, template, server, tool string
		want                         string // "" when only the shape is checked
	}{
		{"plain", "mcp__proxy__{server}__{tool}", "srv", "echo", "mcp__proxy__srv__echo"},
		{"dots and spaces", "mcp__proxy__{server}__{tool}", "srv", "a.b c", "mcp__proxy__srv__a_b_c"},
		{"one underscore per unicode character", "mcp__proxy__{server}__{tool}", "srv", "café→x", "mcp__proxy__srv__caf__x"},
		{"server with underscore and dash", "mcp__proxy__{server}__{tool}", "my_srv-2", "t", "mcp__proxy__my_srv-2__t"},
		{"dotted server", "mcp__proxy__{server}__{tool}", "a.b", "t", "mcp__proxy__a_b__t"},
		{"custom template", "{server}__{tool}", "srv", "echo", "srv__echo"},
		{"unprefixed", "{tool}", "srv", "do.it", "do_it"},
		{"unprefixed valid name kept", "{tool}", "srv", "Do-It_2", "Do-It_2"},
		{"empty", "{tool}", "srv", "", "_"},
		{"exactly 64", "{tool}", "srv", strings.Repeat("y", 64), strings.Repeat("y", 64)},
		{"long", "mcp__proxy__{server}__{tool}", "srv", long, ""},
		{"long unicode", "{tool}", "srv", strings.Repeat("é", 70), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := exposedName(tc.template, "{tool}", tc.server, tc.tool, maxNameLen)
			if !validName.MatchString(got) {
				t.Fatalf("exposedName(%q, %q, %q) = %q, not a valid tool name", tc.template, tc.server, tc.tool, got)
			}
			if tc.want != "" && got != tc.want {
				t.Fatalf("exposedName(%q, %q, %q) = %q, want %q", tc.template, tc.server, tc.tool, got, tc.want)
			}
			if again := exposedName(tc.template, "{tool}", tc.server, tc.tool, maxNameLen); again != got {
				t.Fatalf("not stable: %q then %q", got, again)
			}
		})
	}
}

func TestExposedNameLongHash(t *testing.T) {
	t.Parallel()
	prefix := strings.Repeat("p", 60)
	tests := []struct {
		name         string
		a, b         string
		serverA, srB string
	}{
		{"same 55-byte prefix", prefix + "one", prefix + "two", "srv", "srv"},
		{"same name, different servers", prefix + "one", prefix + "one", "s1", "s2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const tmpl = "{server}__{tool}"
			a := exposedName(tmpl, "{tool}", tc.serverA, tc.a, maxNameLen)
			b := exposedName(tmpl, "{tool}", tc.srB, tc.b, maxNameLen)
			if len(a) != maxNameLen || len(b) != maxNameLen {
				t.Fatalf("lengths %d and %d, want %d: %q %q", len(a), len(b), maxNameLen, a, b)
			}
			if a == b {
				t.Fatalf("two different long names both map to %q", a)
			}
			if a[:maxNameLen-9] != b[:maxNameLen-9] && tc.serverA == tc.srB {
				t.Fatalf("cut prefixes differ: %q %q", a, b)
			}
			if exposedName(tmpl, "{tool}", tc.serverA, tc.a, maxNameLen) != a {
				t.Fatalf("hash suffix is not stable for %q", tc.a)
			}
		})
	}
}

func TestURIPrefix(t *testing.T) {
	t.Parallel()
	tests := []struct{ template, server, want string }{
		{"mcp+proxy://{server}/{uri}", "srv", "mcp+proxy://srv/"},
		{"{server}:{uri}", "a-b", "a-b:"},
		{"no-placeholder", "srv", ""},
	}
	for _, tc := range tests {
		t.Run(tc.template, func(t *testing.T) {
			t.Parallel()
			if got := uriPrefix(tc.template, tc.server); got != tc.want {
				t.Fatalf("uriPrefix(%q, %q) = %q, want %q", tc.template, tc.server, got, tc.want)
			}
		})
	}
}
