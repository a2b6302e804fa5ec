package oauth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcphost/mcphost/sdk/oauth"
)

// TestPrivateKeyJWT: with a key file the client authenticates every token
// request with a JWT signed by it (RFC 7523), never a secret.
func TestPrivateKeyJWT(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		key   func() crypto.Signer
		grant string
	}{
		{"ES256 client credentials", func() crypto.Signer { k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader); return k }, oauth.GrantClientCredentials},
		{"RS256 authorization code and refresh", func() crypto.Signer { k, _ := rsa.GenerateKey(rand.Reader, 2048); return k }, oauth.GrantAuthorizationCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key := tt.key()
			der, err := x509.MarshalPKCS8PrivateKey(key)
			if err != nil {
				t.Fatal(err)
			}
			keyFile := filepath.Join(t.TempDir(), "key.pem")
			if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := standard()
			cfg.asMetadata = map[string]any{"token_endpoint_auth_methods_supported": []string{"private_key_jwt"}}
			s := browser()
			s.Grant, s.ClientID, s.ClientAssertionKeyFile = tt.grant, "jwt-client", keyFile
			w, reqs := getAndRenew(t, cfg, s)
			for _, r := range reqs {
				if r.form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || r.auth != "" || r.form.Has("client_secret") {
					t.Errorf("%s request: assertion type %q, Authorization %q, secret %v", r.form.Get("grant_type"), r.form.Get("client_assertion_type"), r.auth, r.form.Has("client_secret"))
				}
				claims := verifyJWT(t, r.form.Get("client_assertion"), key.Public())
				if claims["iss"] != "jwt-client" || claims["sub"] != "jwt-client" || claims["aud"] != w.issuer() || claims["jti"] == "" {
					t.Errorf("claims %v", claims)
				}
				if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp <= iat || exp-iat > 600 {
					t.Errorf("assertion valid from %v to %v", iat, exp)
				}
			}
		})
	}
}

// verifyJWT checks a JWS compact token's signature with pub and returns
// its claims.
func verifyJWT(t *testing.T, jwt string, pub crypto.PublicKey) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("assertion %q is not a JWS", jwt)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	var header map[string]string
	raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
	_ = json.Unmarshal(raw, &header)
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if header["alg"] != "ES256" || len(sig) != 64 || !ecdsa.Verify(k, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			t.Fatalf("ES256 assertion does not verify (header %v)", header)
		}
	case *rsa.PublicKey:
		if header["alg"] != "RS256" || rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], sig) != nil {
			t.Fatalf("RS256 assertion does not verify (header %v)", header)
		}
	}
	var claims map[string]any
	raw, _ = base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// TestPrivateKeyJWTBadKey: a key file that is not a usable key fails New,
// without its content in the error.
func TestPrivateKeyJWTBadKey(t *testing.T) {
	t.Parallel()
	const content = "not-a-key-but-secret"
	dir := t.TempDir()
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(p384)
	files := map[string][]byte{
		"garbage":   []byte(content),
		"bad block": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte(content)}),
		"P-384":     pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		"missing":   nil,
	}
	for name, data := range files {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".pem")
			if data != nil {
				if err := os.WriteFile(path, data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := oauth.New(oauth.Settings{ClientID: "c", ClientAssertionKeyFile: path}, oauth.Options{URL: "https://x/mcp", Store: oauth.FileStore{Dir: dir}})
			if err == nil || strings.Contains(err.Error(), content) || !strings.Contains(err.Error(), "oauth_client_assertion_key_file") {
				t.Errorf("New: %v; want an error naming the setting, not the content", err)
			}
		})
	}
}
