package router

import (
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSessionIDWellFormed(t *testing.T) {
	t.Parallel()
	for range 1000 {
		id := NewSessionID()
		if len(id) != SessionIDLen || !ValidSessionID(id) {
			t.Fatalf("malformed session id %q (len %d, want %d)", id, len(id), SessionIDLen)
		}
		if strings.Trim(id, "0123456789abcdefghijklmnopqrstuv") != "" {
			t.Fatalf("session id %q has characters outside lowercase base32hex", id)
		}
	}
}

func TestValidSessionID(t *testing.T) {
	t.Parallel()
	good := NewSessionID()
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{"new", good, true},
		{"empty", "", false},
		{"number", "1", false},
		{"uppercase", strings.ToUpper(good), false},
		{"short", good[:len(good)-1], false},
		{"long", good + "0", false},
		{"outside the alphabet", good[:len(good)-1] + "w", false},
		{"old hex id", "0123456789abcdef0123456789abcdef", false},
		{"instance prefixed", "node-1" + InstanceSeparator + good, true},
		{"longest instance", strings.Repeat("a", MaxInstanceIDLen) + InstanceSeparator + good, true},
		{"instance too long", strings.Repeat("a", MaxInstanceIDLen+1) + InstanceSeparator + good, false},
		{"empty instance", InstanceSeparator + good, false},
		{"uppercase instance", "Node" + InstanceSeparator + good, false},
		{"two instances", "a" + InstanceSeparator + "b" + InstanceSeparator + good, false},
		{"instance without id", "node-1" + InstanceSeparator, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ValidSessionID(tt.id); got != tt.want {
				t.Errorf("ValidSessionID(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

// TestInstanceSessionIDs: a router with an instance id gives its client
// sessions "<instance>.<id>"; one without, bare ids.
func TestInstanceSessionIDs(t *testing.T) {
	t.Parallel()
	tests := []struct{ instance, prefix string }{
		{"node-1", "node-1" + InstanceSeparator},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run("instance "+tt.instance, func(t *testing.T) {
			t.Parallel()
			r := New(Options{InstanceID: tt.instance}, nil)
			t.Cleanup(r.Close)
			s := r.OpenSession("http")
			defer s.Close()
			rest, ok := strings.CutPrefix(s.ID(), tt.prefix)
			if !ok || len(rest) != SessionIDLen || !ValidSessionID(s.ID()) {
				t.Errorf("session id %q, want %q and a new id", s.ID(), tt.prefix)
			}
		})
	}
}

func TestSessionIDUnique(t *testing.T) {
	t.Parallel()
	// Many goroutines at once, as several listeners open sessions: no id
	// may repeat, even within one millisecond.
	const workers, each = 8, 2000
	ids := make(chan string, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				ids <- NewSessionID()
			}
		})
	}
	wg.Wait()
	close(ids)
	seen := make(map[string]bool, workers*each)
	for id := range ids {
		if seen[id] {
			t.Fatalf("session id %q repeated", id)
		}
		seen[id] = true
	}
}

func TestSessionIDSortsByTime(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var ids []string
	for i := range 50 {
		// Across byte and character boundaries of the time prefix.
		ids = append(ids, newSessionIDAt(base.Add(time.Duration(i*i*i)*time.Millisecond*997)))
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatalf("ids made later do not sort later: %q", ids)
	}
	// Same millisecond: the same time prefix, different ids.
	a, b := newSessionIDAt(base), newSessionIDAt(base)
	const prefix = (8*sessionIDTimeBytes - 1) / 5 // characters wholly from the time bytes
	if a[:prefix] != b[:prefix] || a == b {
		t.Fatalf("ids of one millisecond: %q and %q", a, b)
	}
}

func TestRouterSessionsGetIDs(t *testing.T) {
	t.Parallel()
	r := New(Options{}, nil)
	defer r.Close()
	a, b := r.OpenSession("http"), r.OpenSession("sse")
	defer a.Close()
	defer b.Close()
	if !ValidSessionID(a.ID()) || !ValidSessionID(b.ID()) || a.ID() == b.ID() {
		t.Fatalf("session ids %q, %q", a.ID(), b.ID())
	}
	// A second router (a restart, another copy) never reuses an id.
	r2 := New(Options{}, nil)
	defer r2.Close()
	c := r2.OpenSession("http")
	defer c.Close()
	if c.ID() == a.ID() || c.ID() == b.ID() {
		t.Fatalf("another router's session reused id %q", c.ID())
	}
	infos := r.Sessions()
	if len(infos) != 2 || (infos[0].ID != a.ID() && infos[0].ID != b.ID()) {
		t.Fatalf("Sessions() = %+v", infos)
	}
}
