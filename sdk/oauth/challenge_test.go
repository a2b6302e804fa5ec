package oauth

import (
	"net/http"
	"reflect"
	"testing"
)

func TestParseChallenges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header string
		want   []challenge
	}{
		{"bearer with quoted params", `Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource", scope="files:read files:write"`,
			[]challenge{{"Bearer", map[string]string{"resource_metadata": "https://mcp.example.com/.well-known/oauth-protected-resource", "scope": "files:read files:write"}}}},
		{"token values and odd spacing", `Bearer   error=insufficient_scope ,scope = "a"`,
			[]challenge{{"Bearer", map[string]string{"error": "insufficient_scope", "scope": "a"}}}},
		{"commas and escapes inside quotes", `Bearer realm="a, \"b\"", error_description="x=y, z"`,
			[]challenge{{"Bearer", map[string]string{"realm": `a, "b"`, "error_description": "x=y, z"}}}},
		{"several challenges", `Basic realm="r", Bearer scope="s", resource_metadata="https://x/y"`,
			[]challenge{{"Basic", map[string]string{"realm": "r"}}, {"Bearer", map[string]string{"scope": "s", "resource_metadata": "https://x/y"}}}},
		{"token68 then another", `Negotiate abc/def==, Bearer error="invalid_token"`,
			[]challenge{{"Negotiate", map[string]string{"": "abc/def=="}}, {"Bearer", map[string]string{"error": "invalid_token"}}}},
		{"bare scheme", `Bearer`, []challenge{{"Bearer", map[string]string{}}}},
		{"names are case-insensitive", `bearer Scope="s"`, []challenge{{"bearer", map[string]string{"scope": "s"}}}},
		{"unterminated quote", `Bearer scope="a b`, []challenge{{"Bearer", map[string]string{"scope": "a b"}}}},
		{"empty", ``, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := parseChallenges(tt.header); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseChallenges(%q)\n got %#v\nwant %#v", tt.header, got, tt.want)
			}
		})
	}
}

func TestBearerChallengeAcrossHeaderLines(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Add("WWW-Authenticate", `Basic realm="x"`)
	h.Add("WWW-Authenticate", `Bearer scope="a b"`)
	ch, ok := bearerChallenge(h)
	if !ok || !reflect.DeepEqual(ch.scopes(), []string{"a", "b"}) {
		t.Fatalf("bearerChallenge = %#v, %v; want the second line's Bearer challenge", ch, ok)
	}
	if _, ok := bearerChallenge(http.Header{"Www-Authenticate": {`Basic realm="x"`}}); ok {
		t.Fatal("found a Bearer challenge in a Basic one")
	}
}
