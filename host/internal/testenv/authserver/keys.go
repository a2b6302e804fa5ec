package authserver

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v3"
	"github.com/ory/fosite/token/jwt"
)

// keyRing holds the one current RS256 signing key. Rotation replaces it:
// the old key is retired, not published alongside.
type keyRing struct {
	mu      sync.RWMutex
	current *jose.JSONWebKey
}

func newKeyRing() (*keyRing, error) {
	k := &keyRing{}
	if err := k.rotate(); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *keyRing) rotate() error {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate signing key: %w", err)
	}
	key := &jose.JSONWebKey{Key: priv, KeyID: randomID(8), Algorithm: string(jose.RS256), Use: "sig"}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.current = key
	return nil
}

// signingKey is fosite's GetPrivateKeyFunc. A *jose.JSONWebKey makes
// go-jose put its kid in the token header.
func (k *keyRing) signingKey(context.Context) (any, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current, nil
}

func (k *keyRing) currentID() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current.KeyID
}

func (k *keyRing) publicSet() jose.JSONWebKeySet {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k.current.Public()}}
}

// stampingSigner signs with fosite's default signer after setting iat to
// now: a refreshed token's session is a copy of the first one's, whose
// iat would otherwise be kept.
type stampingSigner struct {
	jwt.DefaultSigner
}

func (s *stampingSigner) Generate(ctx context.Context, claims jwt.MapClaims, header jwt.Mapper) (string, string, error) {
	claims["iat"] = time.Now().Unix()
	return s.DefaultSigner.Generate(ctx, claims, header)
}
