package oauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/oauth"
	"github.com/mcphost/mcphost/sdk/oauth/oauthtest"
)

// world is an MCP server and its authorization server, in one httptest
// server, written for these tests: the MCP endpoint is /mcp; the
// authorization server's issuer is base+issuerPath, its endpoints under
// it. It records every request it gets other than the MCP ones.
type world struct {
	t   testing.TB
	srv *httptest.Server
	cfg worldConfig

	mu       sync.Mutex
	requests []seen
	codes    map[string]grant // authorization code → what it grants
	access   map[string][]string
	refresh  map[string][]string
	nextID   int
	// scopeDemands counts the 403s of cfg.escalate.
	scopeDemands int
	// tokenDown closes token endpoint connections without an answer.
	tokenDown atomic.Bool
}

type worldConfig struct {
	// prmPath is where the protected resource metadata is ("" for none,
	// a 2025-03-26 server); prmInHeader puts its URL in the challenge.
	prmPath     string
	prmInHeader bool
	// prmResource overrides the metadata's resource.
	prmResource string
	prmScopes   []string
	// issuerPath is the issuer's path ("" for the origin);
	// asMetadataPath is where its metadata is ("" for none).
	issuerPath     string
	asMetadataPath string
	// asMetadata adds to or changes the metadata.
	asMetadata map[string]any
	// challengeScope goes in the 401's scope.
	challengeScope string
	// required are the scopes every MCP call needs; toolScopes more for
	// tools/call (a 403 insufficient_scope names required+toolScopes).
	required, toolScopes []string
	// escalate: every tools/call gets a 403 asking for a new scope.
	escalate bool
	// alwaysForbid: every tools/call gets a 403 asking for the scopes
	// it needs, whatever the token holds.
	alwaysForbid bool
	// expiresIn is the tokens' life in seconds (0: 3600).
	expiresIn int
	// refreshRefused answers every refresh with invalid_grant.
	refreshRefused bool
	// refreshGate, when set, holds refresh answers until closed.
	refreshGate chan struct{}
	// dcr answers registration with these (nil: no registration
	// endpoint).
	dcr map[string]any
	// tamperState and iss change the authorization redirect.
	tamperState bool
	iss         string
	// echoSecrets makes token errors echo the request form, as a
	// careless server might.
	echoSecrets bool
}

// seen is one request the world got.
type seen struct {
	method, path string
	query        url.Values
	form         url.Values
	auth         string
	body         map[string]any
}

// grant is what an authorization code stands for.
type grant struct {
	challenge, clientID, redirect, resource string
	scopes                                  []string
}

func newWorld(t testing.TB, cfg worldConfig) *world {
	t.Helper()
	w := &world{t: t, cfg: cfg, codes: map[string]grant{}, access: map[string][]string{}, refresh: map[string][]string{}}
	w.srv = httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *world) mcpURL() string { return w.srv.URL + "/mcp" }
func (w *world) issuer() string { return w.srv.URL + w.cfg.issuerPath }

func (w *world) id(prefix string) string {
	w.nextID++
	return fmt.Sprintf("%s-%d", prefix, w.nextID)
}

// seenAt returns the recorded requests to path.
func (w *world) seenAt(path string) []seen {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []seen
	for _, s := range w.requests {
		if s.path == path {
			out = append(out, s)
		}
	}
	return out
}

// paths lists the recorded requests' paths, in order.
func (w *world) paths() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, s := range w.requests {
		out = append(out, s.path)
	}
	return out
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(v)
}

func (w *world) serve(rw http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/mcp" {
		w.serveMCP(rw, r)
		return
	}
	s := seen{method: r.Method, path: r.URL.Path, query: r.URL.Query(), auth: r.Header.Get("Authorization")}
	if r.Method == http.MethodPost {
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			_ = json.NewDecoder(r.Body).Decode(&s.body)
		} else {
			_ = r.ParseForm()
			s.form = r.PostForm
		}
	}
	w.mu.Lock()
	w.requests = append(w.requests, s)
	w.mu.Unlock()

	iss := w.cfg.issuerPath
	switch {
	case w.cfg.prmPath != "" && r.URL.Path == w.cfg.prmPath:
		doc := map[string]any{"resource": w.mcpURL(), "authorization_servers": []string{w.issuer()}}
		if w.cfg.prmResource != "" {
			doc["resource"] = w.cfg.prmResource
		}
		if w.cfg.prmScopes != nil {
			doc["scopes_supported"] = w.cfg.prmScopes
		}
		writeJSON(rw, 200, doc)
	case w.cfg.asMetadataPath != "" && r.URL.Path == w.cfg.asMetadataPath:
		doc := map[string]any{
			"issuer":                           w.issuer(),
			"authorization_endpoint":           w.issuer() + "/authorize",
			"token_endpoint":                   w.issuer() + "/token",
			"revocation_endpoint":              w.issuer() + "/revoke",
			"response_types_supported":         []string{"code"},
			"code_challenge_methods_supported": []string{"S256"},
		}
		if w.cfg.dcr != nil {
			doc["registration_endpoint"] = w.issuer() + "/register"
		}
		for k, v := range w.cfg.asMetadata {
			doc[k] = v
		}
		writeJSON(rw, 200, doc)
	case r.URL.Path == iss+"/authorize":
		w.authorize(rw, r)
	case r.URL.Path == iss+"/token":
		w.token(rw, r, s.form)
	case r.URL.Path == iss+"/register" && w.cfg.dcr != nil:
		writeJSON(rw, 201, w.cfg.dcr)
	case r.URL.Path == iss+"/revoke":
		w.mu.Lock()
		delete(w.access, s.form.Get("token"))
		delete(w.refresh, s.form.Get("token"))
		w.mu.Unlock()
		rw.WriteHeader(200)
	default:
		http.NotFound(rw, r)
	}
}

func (w *world) authorize(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	w.mu.Lock()
	code := w.id("code")
	w.codes[code] = grant{challenge: q.Get("code_challenge"), clientID: q.Get("client_id"), redirect: q.Get("redirect_uri"), resource: q.Get("resource"), scopes: strings.Fields(q.Get("scope"))}
	w.mu.Unlock()
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		http.Error(rw, "bad redirect_uri", 400)
		return
	}
	v := back.Query()
	v.Set("code", code)
	v.Set("state", q.Get("state"))
	if w.cfg.tamperState {
		v.Set("state", "forged")
	}
	if w.cfg.iss != "" {
		v.Set("iss", w.cfg.iss)
	}
	back.RawQuery = v.Encode()
	http.Redirect(rw, r, back.String(), http.StatusFound)
}

func (w *world) token(rw http.ResponseWriter, r *http.Request, form url.Values) {
	if w.tokenDown.Load() {
		conn, _, err := rw.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	fail := func(code string) {
		body := map[string]any{"error": code, "error_description": "refused by the test"}
		if w.cfg.echoSecrets {
			body["request"] = form.Encode()
			body["authorization"] = r.Header.Get("Authorization")
		}
		writeJSON(rw, 400, body)
	}
	var scopes []string
	switch form.Get("grant_type") {
	case "authorization_code":
		w.mu.Lock()
		g, ok := w.codes[form.Get("code")]
		delete(w.codes, form.Get("code"))
		w.mu.Unlock()
		sum := sha256.Sum256([]byte(form.Get("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge || form.Get("redirect_uri") != g.redirect || w.cfg.echoSecrets {
			fail("invalid_grant")
			return
		}
		scopes = g.scopes
	case "refresh_token":
		if w.cfg.refreshGate != nil {
			<-w.cfg.refreshGate
		}
		w.mu.Lock()
		s, ok := w.refresh[form.Get("refresh_token")]
		w.mu.Unlock()
		if !ok || w.cfg.refreshRefused {
			fail("invalid_grant")
			return
		}
		scopes = s
	case "client_credentials":
		if w.cfg.echoSecrets {
			fail("invalid_client")
			return
		}
		scopes = strings.Fields(form.Get("scope"))
	default:
		fail("unsupported_grant_type")
		return
	}
	life := w.cfg.expiresIn
	if life == 0 {
		life = 3600
	}
	w.mu.Lock()
	at, rt := w.id("access"), w.id("refresh")
	w.access[at] = scopes
	w.refresh[rt] = scopes
	w.mu.Unlock()
	writeJSON(rw, 200, map[string]any{"access_token": at, "refresh_token": rt, "token_type": "Bearer", "expires_in": life, "scope": strings.Join(scopes, " ")})
}

// serveMCP answers any JSON-RPC request with an empty result, once the
// bearer token has the scopes the method needs.
func (w *world) serveMCP(rw http.ResponseWriter, r *http.Request) {
	var msg struct {
		ID     any    `json:"id"`
		Method string `json:"method"`
	}
	_ = json.NewDecoder(r.Body).Decode(&msg)
	challenge := "Bearer"
	var params []string
	if w.cfg.prmInHeader {
		params = append(params, fmt.Sprintf(`resource_metadata="%s%s"`, w.srv.URL, w.cfg.prmPath))
	}
	if w.cfg.challengeScope != "" {
		params = append(params, fmt.Sprintf(`scope="%s"`, w.cfg.challengeScope))
	}
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	w.mu.Lock()
	held, ok := w.access[token]
	w.mu.Unlock()
	if !ok {
		if len(params) > 0 {
			challenge += " " + strings.Join(params, ", ")
		}
		rw.Header().Set("WWW-Authenticate", challenge)
		writeJSON(rw, 401, map[string]any{"error": "invalid_token"})
		return
	}
	need := w.cfg.required
	if msg.Method == "tools/call" {
		need = append(slices.Clone(need), w.cfg.toolScopes...)
		if w.cfg.escalate {
			w.mu.Lock()
			w.scopeDemands++
			need = append(need, fmt.Sprintf("extra%d", w.scopeDemands))
			w.mu.Unlock()
		}
	}
	for _, s := range need {
		if !slices.Contains(held, s) || (w.cfg.alwaysForbid && msg.Method == "tools/call") {
			rw.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="insufficient_scope", scope="%s", resource_metadata="%s%s"`, strings.Join(need, " "), w.srv.URL, w.cfg.prmPath))
			writeJSON(rw, 403, map[string]any{"error": "insufficient_scope"})
			return
		}
	}
	writeJSON(rw, 200, map[string]any{"jsonrpc": "2.0", "id": msg.ID, "result": map[string]any{}})
}

// clock is a settable clock for Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// approve is an Options.Open that plays the person in the browser, who
// approves whatever is asked.
func approve(ctx context.Context, authURL string) error {
	_ = oauthtest.Follow(ctx, authURL) // a browser reports nothing back: the redirect does
	return nil
}

// newClient returns a client of w's MCP server with s, storing in a
// fresh directory.
func newClient(t *testing.T, w *world, s oauth.Settings, now func() time.Time) (*oauth.Client, oauth.FileStore) {
	t.Helper()
	store := oauth.FileStore{Dir: t.TempDir()}
	c, err := oauth.New(s, oauth.Options{Server: "srv", URL: w.mcpURL(), Store: store, Open: approve, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return c, store
}

// browser are the settings of a client that signs in by itself.
func browser() oauth.Settings {
	return oauth.Settings{OAuth: "auto", SignIn: oauth.SignInBrowser, Grant: oauth.GrantAuthorizationCode}
}

// call sends one JSON-RPC request through an oauth.Transport of c.
func call(ctx context.Context, c *oauth.Client, rawURL, method string) (*http.Response, error) {
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":%q}`, method)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: &oauth.Transport{Client: c}}).Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

// mustCall is call that must get a 200.
func mustCall(t *testing.T, c *oauth.Client, rawURL, method string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := call(ctx, c, rawURL, method)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %s", method, resp.Status)
	}
}

// standard is a 2025-11-25 server: resource metadata at the path-inserted
// well-known URL named in the challenge, RFC 8414 metadata for an issuer
// with a path, Dynamic Client Registration.
func standard() worldConfig {
	return worldConfig{
		prmPath:        "/.well-known/oauth-protected-resource/mcp",
		prmInHeader:    true,
		issuerPath:     "/as",
		asMetadataPath: "/.well-known/oauth-authorization-server/as",
		dcr:            map[string]any{"client_id": "dcr-client"},
	}
}

// signedIn returns a world and a client of it, signed in, on a clock the
// test moves.
func signedIn(t *testing.T, cfg worldConfig, s oauth.Settings) (*world, *clock, *oauth.Client, oauth.FileStore) {
	t.Helper()
	w := newWorld(t, cfg)
	clk := &clock{now: time.Now()}
	c, store := newClient(t, w, s, clk.Now)
	login(t, c)
	return w, clk, c, store
}

func login(t *testing.T, c *oauth.Client) {
	t.Helper()
	if err := c.Login(context.Background(), oauth.LoginOptions{}); err != nil {
		t.Fatal(err)
	}
}

// worldAndClient returns a world made from cfg and a client of it (on the
// wall clock) that has not signed in.
func worldAndClient(t *testing.T, cfg worldConfig, s oauth.Settings) (*world, *oauth.Client) {
	t.Helper()
	w := newWorld(t, cfg)
	c, _ := newClient(t, w, s, nil)
	return w, c
}

// getAndRenew makes a world from cfg with 100-second tokens, and a client
// with s that calls it, then calls again when the token is about to
// expire; it returns the world and its two token requests (getting the
// token, renewing it).
func getAndRenew(t *testing.T, cfg worldConfig, s oauth.Settings) (*world, []seen) {
	t.Helper()
	cfg.expiresIn = 100
	w := newWorld(t, cfg)
	clk := &clock{now: time.Now()}
	c, _ := newClient(t, w, s, clk.Now)
	mustCall(t, c, w.mcpURL(), "initialize")
	clk.Add(95 * time.Second)
	mustCall(t, c, w.mcpURL(), "tools/list")
	reqs := w.seenAt(cfg.issuerPath + "/token")
	if len(reqs) != 2 {
		t.Fatalf("%d token requests; want one to get the token, one to renew it", len(reqs))
	}
	return w, reqs
}
