// Package oauthtest helps run an OAuth client built on package oauth
// against the official MCP conformance suite's auth scenarios, where the
// suite's authorization server approves every request without a person:
// the client follows the authorization URL itself (Follow, used as
// $BROWSER) and takes its settings from the scenario (ScenarioSettings).
package oauthtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/mcphost/mcphost/sdk/oauth"
)

// Environment variables the suite sets for its client command.
const (
	// ScenarioEnv names the scenario being run.
	ScenarioEnv = "MCP_CONFORMANCE_SCENARIO"
	// ContextEnv holds the scenario's context, JSON: the client
	// credentials of the pre-registration and client-credentials
	// scenarios.
	ContextEnv = "MCP_CONFORMANCE_CONTEXT"
)

// ClientMetadataURL is the Client ID Metadata Document URL the suite's
// auth/basic-cimd scenario expects as client_id.
const ClientMetadataURL = "https://conformance-test.local/client-metadata.json"

// Context is the part of MCP_CONFORMANCE_CONTEXT a client uses.
type Context struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	// PrivateKeyPEM is the client's key for private_key_jwt (PKCS #8).
	PrivateKeyPEM string `json:"private_key_pem"`
}

// ParseContext reads MCP_CONFORMANCE_CONTEXT; "" is an empty Context.
func ParseContext(raw string) (Context, error) {
	var c Context
	if strings.TrimSpace(raw) == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return c, fmt.Errorf("%s: %w", ContextEnv, err)
	}
	return c, nil
}

// ScenarioSettings are the oauth settings a client uses in scenario:
// signing in by itself (SignIn "browser", with $BROWSER a program that
// calls Follow), the context's client credentials (its private key
// written to a file in dir), the client-credentials grant in the
// auth/client-credentials-* scenarios, and the suite's Client ID Metadata
// Document URL.
func ScenarioSettings(scenario string, c Context, dir string) (oauth.Settings, error) {
	s := oauth.Settings{
		OAuth:             "auto",
		ClientID:          c.ClientID,
		ClientSecret:      c.ClientSecret,
		ClientMetadataURL: ClientMetadataURL,
		Grant:             oauth.GrantAuthorizationCode,
		SignIn:            oauth.SignInBrowser,
	}
	if strings.HasPrefix(scenario, "auth/client-credentials-") {
		s.Grant = oauth.GrantClientCredentials
	}
	if c.PrivateKeyPEM != "" {
		s.ClientAssertionKeyFile = filepath.Join(dir, "client-key.pem")
		if err := os.WriteFile(s.ClientAssertionKeyFile, []byte(c.PrivateKeyPEM), 0o600); err != nil {
			return s, err
		}
	}
	return s, nil
}

// Follow plays the person in the browser: it GETs the authorization URL
// and follows the redirects to the client's loopback redirect URI, and
// fails unless the last page is a success.
func Follow(ctx context.Context, authURL string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		// Not the query: at the redirect URI it holds the code.
		end := resp.Request.URL
		return fmt.Errorf("the sign-in ended at %s://%s%s with %s: %s", end.Scheme, end.Host, end.Path, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
