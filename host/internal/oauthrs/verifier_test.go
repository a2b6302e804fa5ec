package oauthrs_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/host/internal/oauthrs"
	"github.com/mcphost/mcphost/host/internal/oauthrs/oauthtest"
)

const audience = "https://mcp.example.com/mcp"

func newVerifier(t *testing.T, iss *oauthtest.Issuer, edit func(*oauthrs.Options)) *oauthrs.Verifier {
	t.Helper()
	opts := oauthrs.Options{
		Issuer: iss.URL, Audience: audience, Scopes: []string{"mcp"},
		ServerScopes: map[string][]string{"github": {"mcp:github"}},
		ClientID:     iss.ClientID, ClientSecret: iss.ClientSecret, RefetchEvery: time.Hour,
	}
	if edit != nil {
		edit(&opts)
	}
	v, err := oauthrs.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifyJWT(t *testing.T) {
	t.Parallel()
	iss := oauthtest.NewIssuer(t)
	v := newVerifier(t, iss, nil)
	good := oauthtest.Claims{Subject: "alice", Audience: []string{"other", audience}, Scope: "mcp mcp:github", ClientID: "app"}
	tests := []struct {
		name   string
		token  func() string
		reason string // "" for valid
	}{
		{"valid", func() string { return iss.Token(t, good) }, ""},
		{"expired", func() string {
			c := good
			c.Expiry = time.Now().Add(-time.Hour)
			return iss.Token(t, c)
		}, "expired"},
		{"not yet valid", func() string {
			c := good
			c.NotBefore = time.Now().Add(time.Hour)
			return iss.Token(t, c)
		}, "expired"},
		{"wrong audience", func() string {
			c := good
			c.Audience = []string{"https://other.example.com/mcp"}
			return iss.Token(t, c)
		}, "audience"},
		{"wrong issuer", func() string {
			c := good
			c.Issuer = "https://evil.example.com"
			return iss.Token(t, c)
		}, "issuer"},
		{"signed by another key", func() string { return iss.ForeignToken(t, good) }, "signature"},
		{"alg none", func() string { return iss.UnsignedToken(good) }, "malformed"},
		{"garbage", func() string { return "a.b.c" }, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			token := tt.token()
			id, err := v.Verify(context.Background(), token)
			if tt.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				if id.Subject != "alice" || id.ClientID != "app" || !slices.Equal(id.Scopes, []string{"mcp", "mcp:github"}) {
					t.Errorf("identity %+v", id)
				}
				return
			}
			if !errors.Is(err, oauthrs.ErrInvalidToken) || oauthrs.Reason(err) != tt.reason {
				t.Fatalf("err = %v (reason %q), want an invalid token for %q", err, oauthrs.Reason(err), tt.reason)
			}
			if strings.Contains(err.Error(), token) || strings.Contains(v.Challenge(err), token) {
				t.Error("the error or challenge holds the token")
			}
		})
	}
}

// TestKeyRotation: a token under a new key id fetches the JWKS again; a
// made-up key id does not, within RefetchEvery.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	iss := oauthtest.NewIssuer(t)
	now := time.Now()
	clock := func() time.Time { return now }
	v := newVerifier(t, iss, func(o *oauthrs.Options) { o.RefetchEvery = time.Minute; o.Now = clock })
	c := oauthtest.Claims{Subject: "alice", Audience: []string{audience}, Scope: "mcp"}
	if _, err := v.Verify(context.Background(), iss.Token(t, c)); err != nil {
		t.Fatal(err)
	}
	iss.Rotate(t)
	rotated := iss.Token(t, c)
	// Within RefetchEvery of the first fetch, the new key is not fetched.
	if _, err := v.Verify(context.Background(), rotated); oauthrs.Reason(err) != "signature" {
		t.Fatalf("err = %v before the refetch interval", err)
	}
	if n := iss.JWKSFetches(); n != 1 {
		t.Fatalf("%d JWKS fetches, want 1", n)
	}
	now = now.Add(time.Minute)
	if _, err := v.Verify(context.Background(), rotated); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	unknown := oauthtest.Sign(t, oauthtest.NewKey(t), "made-up", map[string]any{"iss": iss.URL, "aud": audience, "exp": now.Add(time.Hour).Unix()})
	for range 3 {
		if _, err := v.Verify(context.Background(), unknown); oauthrs.Reason(err) != "signature" {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if n := iss.JWKSFetches(); n != 2 {
		t.Errorf("%d JWKS fetches, want 2: unknown key ids are rate limited", n)
	}
}

func TestIntrospection(t *testing.T) {
	t.Parallel()
	iss := oauthtest.NewIssuer(t)
	v := newVerifier(t, iss, nil)
	good := oauthtest.Claims{Subject: "bob", Audience: []string{audience}, Scope: "mcp"}
	tests := []struct {
		name     string
		token    func() string
		reason   string
		verifier *oauthrs.Verifier
	}{
		{"active", func() string { return iss.Opaque(good, false) }, "", v},
		{"inactive", func() string { return iss.Opaque(good, true) }, "inactive", v},
		{"unknown", func() string { return "opaque-never-issued" }, "inactive", v},
		{"wrong audience", func() string {
			c := good
			c.Audience = []string{"https://other.example.com"}
			return iss.Opaque(c, false)
		}, "audience", v},
		{"expired", func() string {
			c := good
			c.Expiry = time.Now().Add(-time.Hour)
			return iss.Opaque(c, false)
		}, "expired", v},
		{"wrong client secret", func() string { return iss.Opaque(good, false) }, "unavailable",
			newVerifier(t, iss, func(o *oauthrs.Options) { o.ClientSecret = "wrong" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			token := tt.token()
			id, err := tt.verifier.Verify(context.Background(), token)
			if tt.reason == "" {
				if err != nil || id.Subject != "bob" || !id.HasScopes([]string{"mcp"}) {
					t.Fatalf("identity %+v, err %v", id, err)
				}
				return
			}
			if oauthrs.Reason(err) != tt.reason {
				t.Fatalf("err = %v (reason %q), want %q", err, oauthrs.Reason(err), tt.reason)
			}
			if strings.Contains(err.Error(), token) {
				t.Error("the error holds the token")
			}
		})
	}
}

// TestIntrospectionCached: an active answer is reused, not asked again.
func TestIntrospectionCached(t *testing.T) {
	t.Parallel()
	iss := oauthtest.NewIssuer(t)
	v := newVerifier(t, iss, func(o *oauthrs.Options) { o.IntrospectionURL = iss.IntrospectionURL() })
	token := iss.Opaque(oauthtest.Claims{Subject: "bob", Audience: []string{audience}}, false)
	for range 3 {
		if _, err := v.Verify(context.Background(), token); err != nil {
			t.Fatal(err)
		}
	}
	if n := iss.Introspections(); n != 1 {
		t.Errorf("%d introspections, want 1", n)
	}
}

func TestUnreachableIssuer(t *testing.T) {
	t.Parallel()
	v, err := oauthrs.New(oauthrs.Options{Issuer: "http://127.0.0.1:1", Audience: audience})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(context.Background(), "x.y.z")
	if !errors.Is(err, oauthrs.ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
	if ch := v.Challenge(err); strings.Contains(ch, "invalid_token") {
		t.Errorf("challenge %q blames the token for an unreachable issuer", ch)
	}
}

func TestMetadataAndChallenges(t *testing.T) {
	t.Parallel()
	v, err := oauthrs.New(oauthrs.Options{
		Issuer: "https://auth.example.com", Audience: "https://mcp.example.com/team/mcp", Scopes: []string{"mcp"},
		ServerScopes: map[string][]string{"github": {"mcp:github"}, "files": {"mcp", "mcp:files"}}, ResourceName: "Team MCP",
	})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(v.Metadata(), &doc); err != nil {
		t.Fatal(err)
	}
	want := `{"authorization_servers":["https://auth.example.com"],"bearer_methods_supported":["header"],` +
		`"resource":"https://mcp.example.com/team/mcp","resource_name":"Team MCP","scopes_supported":["mcp","mcp:files","mcp:github"]}`
	if got, _ := json.Marshal(doc); string(got) != want {
		t.Errorf("metadata\n got %s\nwant %s", got, want)
	}
	const mdURL = "https://mcp.example.com/.well-known/oauth-protected-resource/team/mcp"
	if got := v.MetadataURL(); got != mdURL {
		t.Errorf("MetadataURL = %s", got)
	}
	if got := v.MetadataPaths("/mcp"); !slices.Equal(got, []string{oauthrs.WellKnownPath, oauthrs.WellKnownPath + "/mcp", oauthrs.WellKnownPath + "/team/mcp"}) {
		t.Errorf("MetadataPaths = %q", got)
	}
	if got, want := v.Challenge(nil), `Bearer resource_metadata="`+mdURL+`", scope="mcp"`; got != want {
		t.Errorf("Challenge(nil) = %s", got)
	}
	if got := v.InsufficientScope(v.RequiredScopes("github")); got != `Bearer error="insufficient_scope", scope="mcp mcp:github", resource_metadata="`+mdURL+`"` {
		t.Errorf("InsufficientScope = %s", got)
	}
}
