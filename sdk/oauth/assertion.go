package oauth

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
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"
)

// authPrivateKeyJWT authenticates the client with a JWT it signs
// (RFC 7523 §2.2, OpenID Connect Core §9).
const authPrivateKeyJWT = "private_key_jwt"

// clientAssertionType is the client_assertion_type of a JWT assertion.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLife is how long a client assertion is valid.
const assertionLife = 5 * time.Minute

// assertionKey is a private key the client signs its assertions with.
type assertionKey struct {
	signer crypto.Signer
	alg    string // the JWS algorithm: ES256 or RS256
}

// loadAssertionKey reads a PEM private key (PKCS #8, SEC 1 EC or PKCS #1
// RSA). Errors name the file, never its content.
func loadAssertionKey(path string) (*assertionKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("oauth_client_assertion_key_file: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("oauth_client_assertion_key_file %s: no PEM block", path)
	}
	var key any
	switch block.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("oauth_client_assertion_key_file %s: not a private key (%s)", path, block.Type)
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("oauth_client_assertion_key_file %s: an EC key must be on P-256 (ES256)", path)
		}
		return &assertionKey{signer: k, alg: "ES256"}, nil
	case *rsa.PrivateKey:
		return &assertionKey{signer: k, alg: "RS256"}, nil
	}
	return nil, fmt.Errorf("oauth_client_assertion_key_file %s: a %T is not supported; use EC P-256 or RSA", path, key)
}

// assertion returns a signed JWT that authenticates clientID to the
// authorization server audience.
func (k *assertionKey) assertion(clientID, audience string, now time.Time) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": k.alg, "typ": "JWT"})
	if err != nil {
		return "", err
	}
	claims, err := json.Marshal(map[string]any{
		"iss": clientID,
		"sub": clientID,
		"aud": audience,
		"iat": now.Unix(),
		"exp": now.Add(assertionLife).Unix(),
		"jti": randomString(),
	})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	switch key := k.signer.(type) {
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
		if err != nil {
			return "", fmt.Errorf("sign the client assertion: %w", err)
		}
		// JWS wants R and S as fixed-width big-endian (RFC 7518 §3.4).
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	case *rsa.PrivateKey:
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
		if err != nil {
			return "", fmt.Errorf("sign the client assertion: %w", err)
		}
	default:
		return "", errors.New("sign the client assertion: unsupported key")
	}
	return input + "." + enc.EncodeToString(sig), nil
}

// assertionParams are the form parameters that authenticate rec's client
// with a fresh assertion, or nil when it authenticates otherwise.
func (c *Client) assertionParams(rec *Record) (url.Values, error) {
	if rec.TokenAuthMethod != authPrivateKeyJWT {
		return nil, nil
	}
	if c.assertionKey == nil {
		return nil, errors.New("token endpoint auth method private_key_jwt needs oauth_client_assertion_key_file")
	}
	// The audience is the authorization server's issuer (RFC 7523 §3;
	// MCP SEP-1046).
	jwt, err := c.assertionKey.assertion(rec.ClientID, rec.Issuer, c.now())
	if err != nil {
		return nil, err
	}
	return url.Values{"client_assertion_type": {clientAssertionType}, "client_assertion": {jwt}}, nil
}
