package oauth_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/oauth"
)

// countingStore counts the reads of a FileStore.
type countingStore struct {
	oauth.FileStore
	loads atomic.Int64
}

func (s *countingStore) Load(key string) (*oauth.Record, error) {
	s.loads.Add(1)
	return s.FileStore.Load(key)
}

// TestRequestsReadNoFile: the requests to a server take the token from
// memory, not from the Store, yet a token the server refuses is read
// again at once: one written by another process (mcphost auth login)
// is used by the replay.
func TestRequestsReadNoFile(t *testing.T) {
	t.Parallel()
	w := newWorld(t, standard())
	store := &countingStore{FileStore: oauth.FileStore{Dir: t.TempDir()}}
	c := signedInWith(t, w, store)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	first, err := c.Token(ctx)
	if err != nil || first == "" {
		t.Fatalf("Token: %q, %v", first, err)
	}
	before := store.loads.Load()
	for range 200 {
		mustCall(t, c, w.mcpURL(), "tools/list")
	}
	// The file did not change: it is not read again.
	if n := store.loads.Load() - before; n != 0 {
		t.Fatalf("200 requests read the Store %d times", n)
	}

	// Another process signs in again: its token replaces the stored one.
	other := signedInWith(t, w, store.FileStore)
	fresh, err := other.Token(ctx)
	if err != nil || fresh == first {
		t.Fatalf("the other sign-in's token: %q (was %q), %v", fresh, first, err)
	}
	// The next request sees it: the file changed.
	if got, err := c.Token(ctx); err != nil || got != fresh {
		t.Fatalf("after another process signed in, Token is %q, want its %q (%v)", got, fresh, err)
	}
	mustCall(t, c, w.mcpURL(), "tools/list")
	// And a sign-out by another process: no token is sent any more.
	if err := other.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Token(ctx); err != nil || got != "" {
		t.Fatalf("after another process signed out, Token is %q (%v)", got, err)
	}
}

// TestUnversionedStoreIsReadAgainAfterARefusal: with a Store that cannot
// say whether a record changed, the token read is kept for a while, and a
// token the server refuses makes the client read the Store at once, so the
// replay uses what another process stored.
func TestUnversionedStoreIsReadAgainAfterARefusal(t *testing.T) {
	t.Parallel()
	w := newWorld(t, standard())
	store := unversioned{oauth.FileStore{Dir: t.TempDir()}}
	c := signedInWith(t, w, store)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	first, err := c.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other := signedInWith(t, w, store)
	fresh, err := other.Token(ctx)
	if err != nil || fresh == first {
		t.Fatalf("the other sign-in's token: %q (was %q), %v", fresh, first, err)
	}
	w.revoke(first)
	mustCall(t, c, w.mcpURL(), "tools/list")
	if got, err := c.Token(ctx); err != nil || got != fresh {
		t.Fatalf("after the refusal, Token is %q, want the other sign-in's %q (%v)", got, fresh, err)
	}
}

// unversioned hides FileStore's Version.
type unversioned struct{ fs oauth.FileStore }

func (u unversioned) Load(key string) (*oauth.Record, error) { return u.fs.Load(key) }
func (u unversioned) Save(key string, r *oauth.Record) error { return u.fs.Save(key, r) }
func (u unversioned) Delete(key string) error                { return u.fs.Delete(key) }

// signedInWith returns a client of w's server storing in store, signed in.
func signedInWith(t *testing.T, w *world, store oauth.Store) *oauth.Client {
	t.Helper()
	c, err := oauth.New(browser(), oauth.Options{Server: "srv", URL: w.mcpURL(), Store: store, Open: approve})
	if err != nil {
		t.Fatal(err)
	}
	login(t, c)
	return c
}

// revoke makes the server refuse an access token from now on.
func (w *world) revoke(token string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.access, token)
}

// BenchmarkToken: what a request pays for its token, signed in with a
// FileStore (a stat), against reading the record (what each request paid
// before the cache).
func BenchmarkToken(b *testing.B) {
	w := newWorld(b, standard())
	store := oauth.FileStore{Dir: b.TempDir()}
	c, err := oauth.New(browser(), oauth.Options{Server: "srv", URL: w.mcpURL(), Store: store, Open: approve})
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Login(context.Background(), oauth.LoginOptions{}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("Token", func(b *testing.B) {
		for b.Loop() {
			if tok, err := c.Token(ctx); err != nil || tok == "" {
				b.Fatal(tok, err)
			}
		}
	})
	b.Run("read the record", func(b *testing.B) {
		key := oauth.Key("srv", w.mcpURL())
		for b.Loop() {
			if _, err := store.Load(key); err != nil {
				b.Fatal(err)
			}
		}
	})
}
