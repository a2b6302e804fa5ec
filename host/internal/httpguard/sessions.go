package httpguard

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Default lifetimes of sessions and login codes.
const (
	DefaultSessionTTL = 12 * time.Hour
	DefaultCodeTTL    = 60 * time.Second
	// maxCodes bounds the login codes waiting to be redeemed (minting one
	// needs authentication, so this only guards against a runaway client).
	maxCodes = 1024
)

// SessionOptions configure Sessions.
type SessionOptions struct {
	// TTL is a session's lifetime from login; default DefaultSessionTTL.
	TTL time.Duration
	// CodeTTL is how long a login code can be redeemed; default
	// DefaultCodeTTL.
	CodeTTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// SweepEvery is the interval at which expired sessions and codes are
	// forgotten; default a minute. (An expired one is refused at once all
	// the same: the sweep only frees memory.)
	SweepEvery time.Duration
}

// Sessions is an in-memory store of browser sessions and single-use login
// codes, both random 256-bit values. Only their SHA-256 digests are kept,
// so a lookup's timing says nothing about the secrets. From the first
// session or code on, a goroutine forgets expired entries, until Close.
type Sessions struct {
	ttl, codeTTL time.Duration
	now          func() time.Time

	mu       sync.Mutex
	sessions map[[32]byte]time.Time // digest → expiry
	codes    map[[32]byte]time.Time
	sweeping bool // the sweeper was started
	closed   bool

	every time.Duration
	stop  chan struct{}
	done  chan struct{}
}

// NewSessions makes a store; Close stops its sweeper.
func NewSessions(opts SessionOptions) *Sessions {
	if opts.TTL <= 0 {
		opts.TTL = DefaultSessionTTL
	}
	if opts.CodeTTL <= 0 {
		opts.CodeTTL = DefaultCodeTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SweepEvery <= 0 {
		opts.SweepEvery = time.Minute
	}
	s := &Sessions{
		ttl: opts.TTL, codeTTL: opts.CodeTTL, now: opts.Now,
		sessions: map[[32]byte]time.Time{}, codes: map[[32]byte]time.Time{},
		every: opts.SweepEvery, stop: make(chan struct{}), done: make(chan struct{}),
	}
	return s
}

// Close stops the sweeper and waits for it to end; the store keeps
// answering (without sweeping).
func (s *Sessions) Close() {
	s.mu.Lock()
	first, sweeping := !s.closed, s.sweeping
	s.closed = true
	s.mu.Unlock()
	if first {
		close(s.stop)
	}
	if sweeping {
		<-s.done
	}
}

// startSweeperLocked starts the sweeper unless it runs or the store is
// closed; s.mu is held.
func (s *Sessions) startSweeperLocked() {
	if s.sweeping || s.closed {
		return
	}
	s.sweeping = true
	go s.sweep()
}

func (s *Sessions) sweep() {
	defer close(s.done)
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.Sweep()
		}
	}
}

// Sweep forgets every expired session and code now.
func (s *Sessions) Sweep() {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, exp := range s.sessions {
		if !now.Before(exp) {
			delete(s.sessions, k)
		}
	}
	for k, exp := range s.codes {
		if !now.Before(exp) {
			delete(s.codes, k)
		}
	}
}

// Len is the number of sessions and codes held (expired ones included
// until swept).
func (s *Sessions) Len() (sessions, codes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions), len(s.codes)
}

// Create starts a session and returns its id (for the cookie) and expiry.
func (s *Sessions) Create() (id string, expires time.Time, err error) {
	id, sum, err := secret()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("new session: %w", err)
	}
	expires = s.now().Add(s.ttl)
	s.mu.Lock()
	s.sessions[sum] = expires
	s.startSweeperLocked()
	s.mu.Unlock()
	return id, expires, nil
}

// Valid says whether id names a session that has not expired.
func (s *Sessions) Valid(id string) bool {
	if id == "" {
		return false
	}
	sum := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.sessions[sum]
	return ok && s.now().Before(exp)
}

// Revoke ends the session id (logout); an unknown id is ignored.
func (s *Sessions) Revoke(id string) {
	sum := sha256.Sum256([]byte(id))
	s.mu.Lock()
	delete(s.sessions, sum)
	s.mu.Unlock()
}

// NewCode makes a login code that Redeem accepts once, until it expires.
func (s *Sessions) NewCode() (code string, expires time.Time, err error) {
	code, sum, err := secret()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("new login code: %w", err)
	}
	now := s.now()
	expires = now.Add(s.codeTTL)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.codes) >= maxCodes {
		for k, exp := range s.codes {
			if !now.Before(exp) {
				delete(s.codes, k)
			}
		}
		if len(s.codes) >= maxCodes {
			return "", time.Time{}, fmt.Errorf("new login code: %d codes are waiting to be used", maxCodes)
		}
	}
	s.codes[sum] = expires
	s.startSweeperLocked()
	return code, expires, nil
}

// Redeem uses up code: true the first time, before it expires; false for an
// unknown, used or expired code.
func (s *Sessions) Redeem(code string) bool {
	if code == "" {
		return false
	}
	sum := sha256.Sum256([]byte(code))
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.codes[sum]
	if !ok {
		return false
	}
	delete(s.codes, sum)
	return s.now().Before(exp)
}

// secret is a random 256-bit value, base64url without padding, and its
// SHA-256 digest.
func secret() (string, [32]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", [32]byte{}, err
	}
	v := base64.RawURLEncoding.EncodeToString(b)
	return v, sha256.Sum256([]byte(v)), nil
}

// CookieName is the session cookie's name for the listener r was sent to.
// Browsers share cookies between the ports of one host, so the port is part
// of the name: two admin listeners on one machine keep their own sessions.
func CookieName(r *http.Request) string {
	port := "80"
	if r.TLS != nil {
		port = "443"
	}
	if _, p, err := net.SplitHostPort(r.Host); err == nil && p != "" {
		port = p
	}
	return "mcphost_session_" + port
}

// SessionCookie is the cookie that carries session id to the API paths
// only, out of reach of scripts and of requests from other sites.
func (s *Sessions) SessionCookie(r *http.Request, id string, expires time.Time) *http.Cookie {
	return &http.Cookie{
		Name:     CookieName(r),
		Value:    id,
		Path:     "/api/",
		Expires:  expires.UTC(),
		MaxAge:   max(int(expires.Sub(s.now()).Round(time.Second).Seconds()), 1),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	}
}

// ClearCookie tells the browser to drop the session cookie.
func ClearCookie(r *http.Request) *http.Cookie {
	return &http.Cookie{
		Name:     CookieName(r),
		Value:    "",
		Path:     "/api/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	}
}
