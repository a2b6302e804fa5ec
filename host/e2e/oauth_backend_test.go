//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcphost/mcphost/host/internal/testenv"
	"github.com/mcphost/mcphost/host/internal/testenv/authserver"
	"github.com/mcphost/mcphost/host/internal/testenv/oauthbackend"
	"github.com/mcphost/mcphost/sdk/oauth/oauthtest"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// runMCPHost runs `mcphost args...` with env added and returns its
// combined output, failing the test when it fails.
func runMCPHost(t *testing.T, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, mcphost(t), args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mcphost %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestOAuthBackend: a hosted server that requires OAuth, over either
// transport, is in state needs_login (with the command to run) until
// `mcphost auth login` signs in, while the other server works; the login
// asks the running mcphost to reconnect it. Over http, its access token,
// which lives a few seconds, is then refreshed as it expires without a
// call failing (a websocket uses its token at the handshake only). No
// token shows in the admin API, the CLI's output or the logs.
func TestOAuthBackend(t *testing.T) {
	t.Parallel()
	tests := []oauthBackendTest{
		{name: "http", transport: "http", start: oauthbackend.Start, refreshes: true, signIn: signInCLI},
		{name: "websocket", transport: "websocket", start: oauthbackend.StartWebSocket, signIn: signInAdminAPI},
		{name: "dashboard", transport: "http", start: oauthbackend.Start, signIn: signInDashboard},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testOAuthBackend(t, tt)
		})
	}
}

// oauthBackendTest is one case of TestOAuthBackend.
type oauthBackendTest struct {
	name, transport string
	start           func(testing.TB, *authserver.Server, string) *oauthbackend.Backend
	// refreshes: calls span the access token's expiry.
	refreshes bool
	signIn    signInWay
}

// signInWay is how a test signs in.
type signInWay int

const (
	// signInCLI runs `mcphost auth login`.
	signInCLI signInWay = iota
	// signInAdminAPI asks the admin API to start the sign-in in mcphost
	// and follows the page it answers.
	signInAdminAPI
	// signInDashboard clicks the dashboard's "Sign in" in Chromium.
	signInDashboard
)

func testOAuthBackend(t *testing.T, tt oauthBackendTest) {
	transport, start, refreshes := tt.transport, tt.start, tt.refreshes
	const tokenLife = 3 * time.Second
	as := authserver.Start(t, authserver.Options{Scopes: []string{"mcp"}, AccessTokenLifetime: tokenLife})
	backend := start(t, as, "hosted")

	dir, listenAddr, adminAddr := t.TempDir(), freeAddr(t), freeAddr(t)
	const adminToken = "admin-token-oauth"
	cfgPath := filepath.Join(dir, "proxy.hcl")
	cfg := listenAndAdmin(listenAddr, adminAddr, adminToken) + fmt.Sprintf(`
server "hosted" {
  transport %q {
    url = %q
  }
}
%s`, transport, backend.URL, exampleServer("ex"))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tokenDir := t.TempDir()
	env := []string{"MCPHOST_OAUTH_DIR=" + tokenDir, oauthbackend.BrowserEnv(t)}

	p := runProxy(t, cfgPath, "http://"+listenAddr+"/mcp", env)
	adminBase := "http://" + adminAddr
	type serverStatus struct {
		State     string `json:"state"`
		Reason    string `json:"reason"`
		LastError string `json:"last_error"`
		Tools     int    `json:"tools"`
	}
	var st serverStatus
	poll.Within(t, 30*time.Second, "hosted to need a sign-in", func() error {
		adminGet(t, adminBase, adminToken, "/api/v1/servers/hosted", &st)
		if st.State != "needs_login" {
			return fmt.Errorf("hosted is %+v", st)
		}
		return nil
	})
	if !strings.Contains(st.Reason, "mcphost auth login hosted") {
		t.Errorf("needs_login reason %q does not name the command", st.Reason)
	}
	if n := scrapeCounter(t, p.Metrics.url, "mcphost_"+transport+"_sign_ins_required_total", map[string]string{"plugin": transport, "server": "hosted"}); n < 1 {
		t.Errorf("mcphost_%s_sign_ins_required_total = %v while hosted needs a sign-in", transport, n)
	}
	if out, err := ctl(t, adminBase, adminToken, "status"); err != nil || !strings.Contains(out, "needs_login") || !strings.Contains(out, "mcphost auth login hosted") {
		t.Errorf("ctl status (%v) does not show hosted needing a sign-in:\n%s", err, out)
	}
	c := httpClient(t, p.URL, clientOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if got := callText(ctx, t, c, "mcp__proxy__ex__echo", map[string]any{"text": "meanwhile"}); !strings.Contains(got, "meanwhile") {
		t.Errorf("the other server answered %q while hosted needs a sign-in", got)
	}
	if status := runMCPHost(t, env, "auth", "status", "-config", cfgPath); !strings.Contains(status, "hosted") || !strings.Contains(status, " no ") {
		t.Errorf("auth status before login:\n%s", status)
	}

	var login string
	switch tt.signIn {
	case signInAdminAPI:
		login = signInViaAdmin(ctx, t, adminBase, adminToken)
	case signInDashboard:
		login = signInViaDashboard(t, adminBase, adminToken)
	default:
		login = runMCPHost(t, env, "auth", "login", "hosted", "-config", cfgPath)
		if !strings.Contains(login, "signed in to hosted") || !strings.Contains(login, fmt.Sprintf("pid %d is reconnecting hosted", p.cmd.Process.Pid)) {
			t.Errorf("auth login said:\n%s", login)
		}
	}
	poll.Within(t, 30*time.Second, "hosted to run once signed in", func() error {
		adminGet(t, adminBase, adminToken, "/api/v1/servers/hosted", &st)
		if st.State != "running" || st.Tools == 0 {
			return fmt.Errorf("hosted is %+v", st)
		}
		return nil
	})

	if got := callText(ctx, t, c, "mcp__proxy__hosted__echo", map[string]any{"text": "signed in"}); !strings.Contains(got, "signed in") {
		t.Errorf("hosted answered %q once signed in", got)
	}
	if refreshes {
		// Calls go on until the access token has been refreshed twice
		// (it lives tokenLife), and every one succeeds.
		refreshesBefore, calls := as.CountGrants("refresh_token"), 0
		poll.Within(t, 10*tokenLife, "two refreshes of the access token", func() error {
			calls++
			text := fmt.Sprintf("call %d", calls)
			if got := callText(ctx, t, c, "mcp__proxy__hosted__echo", map[string]any{"text": text}); !strings.Contains(got, text) {
				t.Fatalf("call %d answered %q", calls, got)
			}
			if n := as.CountGrants("refresh_token") - refreshesBefore; n < 2 {
				return fmt.Errorf("%d refresh_token grants after %d calls (grants: %+v)", n, calls, as.Grants())
			}
			return nil
		})
	}

	status := runMCPHost(t, env, "auth", "status", "hosted", "-config", cfgPath)
	if !strings.Contains(status, "yes") || !strings.Contains(status, as.Issuer()) {
		t.Errorf("auth status after login:\n%s", status)
	}
	var servers json.RawMessage
	adminGet(t, adminBase, adminToken, "/api/v1/servers", &servers)
	secrets := oauthbackend.StoredSecrets(t, tokenDir)
	if len(secrets) == 0 {
		t.Fatalf("no tokens stored in %s", tokenDir)
	}
	for _, secret := range secrets {
		for what, text := range map[string]string{"admin API": string(servers), "sign-in": login, "auth status": status, "log": p.Stderr.String()} {
			if strings.Contains(text, secret) {
				t.Errorf("the %s shows a stored secret", what)
			}
		}
	}

	if out := runMCPHost(t, env, "auth", "logout", "hosted", "-config", cfgPath); !strings.Contains(out, "signed out of hosted") {
		t.Errorf("auth logout said:\n%s", out)
	}
	if status := runMCPHost(t, env, "auth", "status", "hosted", "-config", cfgPath); strings.Contains(status, "yes") {
		t.Errorf("auth status after logout:\n%s", status)
	}
	if transport != "http" {
		return // a websocket's token served its handshake only
	}
	// Signed out while connected: the next request finds no token, the
	// server's 401 cannot be answered without a person, and hosted needs
	// a sign-in again.
	call := mcp.CallToolRequest{}
	call.Params.Name, call.Params.Arguments = "mcp__proxy__hosted__echo", map[string]any{"text": "after logout"}
	if res, err := c.CallTool(ctx, call); err == nil && !res.IsError {
		t.Errorf("a call after logout succeeded: %+v", res.Content)
	}
	poll.Within(t, 30*time.Second, "hosted to need a sign-in after logout", func() error {
		adminGet(t, adminBase, adminToken, "/api/v1/servers/hosted", &st)
		if st.State != "needs_login" {
			return fmt.Errorf("hosted is %+v", st)
		}
		return nil
	})
}

// signInViaAdmin signs in to hosted as the dashboard does: the admin API
// starts the sign-in in mcphost and answers the page to open, which the
// test then follows as the browser would. It returns the API's answers,
// and checks its refusals of servers that do not sign in.
func signInViaAdmin(ctx context.Context, t *testing.T, adminBase, adminToken string) string {
	t.Helper()
	for path, want := range map[string]int{"/api/v1/servers/ex/sign-in": http.StatusConflict, "/api/v1/servers/ghost/sign-in": http.StatusNotFound} {
		if code := adminPost(t, adminBase, adminToken, path, "", nil); code != want {
			t.Errorf("POST %s = %d, want %d", path, code, want)
		}
	}
	var started struct {
		Server           string `json:"server"`
		AuthorizationURL string `json:"authorization_url"`
	}
	if code := adminPost(t, adminBase, adminToken, "/api/v1/servers/hosted/sign-in", "", &started); code != http.StatusOK || started.AuthorizationURL == "" {
		t.Fatalf("POST sign-in = %d, %+v", code, started)
	}
	if err := oauthtest.Follow(ctx, started.AuthorizationURL); err != nil {
		t.Fatalf("following the sign-in page: %v", err)
	}
	return fmt.Sprintf("%+v", started)
}

// signInViaDashboard clicks "Sign in" on hosted's card in the dashboard
// (testdata/dashboard-sign-in.mjs, in headless Chromium) and returns what
// the script printed: the card's reason and where the sign-in page was.
func signInViaDashboard(t *testing.T, adminBase, adminToken string) string {
	t.Helper()
	browser := chromium(t)
	pw := filepath.Dir(testenv.NPMModule(t, "playwright-core/package.json"))
	node := testenv.Node(t)
	link, err := ctl(t, adminBase, adminToken, "ui")
	if err != nil {
		t.Fatalf("ctl ui: %v\n%s", err, link)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "dashboard-sign-in.mjs"))
	cmd.Env = append(os.Environ(), "PLAYWRIGHT_CORE="+pw, "CHROMIUM="+browser,
		"DASH_LINK="+strings.TrimSpace(link), "DASH_SERVER=hosted")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dashboard-sign-in.mjs: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `/authorize"`) || !strings.Contains(string(out), `"redirected_to":"/callback"`) ||
		!strings.Contains(string(out), "mcphost auth login hosted") {
		t.Errorf("dashboard-sign-in.mjs printed:\n%s", out)
	}
	return string(out)
}
