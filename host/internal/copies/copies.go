// Package copies keeps the registry of the mcphost processes ("copies")
// running from one config file: Claude Code and Claude Desktop start a
// `mcphost run --stdio` per window, and a developer may run `mcphost run`
// besides. Each copy writes one JSON file, <config dir>/.mcphost/copies/<pid>.json,
// saying how to reach it (its admin endpoint), what it serves and how many
// clients it has; `mcphost ctl status` lists them, `ctl -copy PID` picks
// one, and a copy that cannot bind a port names the copy that holds it.
//
// Files are written atomically (a temporary file renamed over the old one),
// so a reader never sees a partial entry, and removed when the copy exits.
// A copy killed without a chance to clean up leaves its file behind: every
// read prunes entries whose process is gone, or whose pid now belongs to
// another process (told by the process's start time).
package copies

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Modes of a copy.
const (
	ModeStdio = "stdio" // `mcphost run --stdio`: one client on stdin/stdout
	ModeHTTP  = "http"  // `mcphost run`: the configured HTTP listeners
)

// Entry describes one running copy. It holds no secret: the admin token is
// never written here.
type Entry struct {
	PID int `json:"pid"`
	// StartTicks is when the process started (clock ticks since boot, from
	// /proc/<pid>/stat), to tell a reused pid from the copy; 0 where the
	// platform does not say.
	StartTicks uint64    `json:"start_ticks,omitempty"`
	Mode       string    `json:"mode"`
	Config     string    `json:"config"` // absolute path of the config file
	Started    time.Time `json:"started"`
	Version    string    `json:"version,omitempty"`
	// AdminURL is the admin API on the configured TCP address, when this
	// copy holds it; AdminSocket the copy's own Unix socket (every copy
	// has one).
	AdminURL    string `json:"admin_url,omitempty"`
	AdminSocket string `json:"admin_socket,omitempty"`
	// Listeners are the MCP endpoints this copy serves over HTTP.
	Listeners []string `json:"listeners,omitempty"`
	// Clients is the number of client sessions open, as of UpdatedAt.
	Clients   int       `json:"clients"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Dir is the registry directory of the config file at configPath:
// .mcphost/copies beside it (next to the default log and trace
// directories).
func Dir(configPath string) (string, error) {
	abs, err := filepath.Abs(configPath)
	if err != nil {
		return "", fmt.Errorf("copies: %w", err)
	}
	return filepath.Join(filepath.Dir(abs), ".mcphost", "copies"), nil
}

// Registry is one registry directory.
type Registry struct {
	dir string
}

// New is the registry in dir (created on the first Register).
func New(dir string) *Registry { return &Registry{dir: dir} }

// Dir is the registry's directory.
func (r *Registry) Dir() string { return r.dir }

func (r *Registry) path(pid int) string {
	return filepath.Join(r.dir, strconv.Itoa(pid)+".json")
}

// Registration is this process's entry; Update rewrites it and Remove takes
// it away. Safe for concurrent use.
type Registration struct {
	r *Registry

	mu      sync.Mutex
	e       Entry
	removed bool
}

// Register writes e as this process's entry (PID and StartTicks are filled
// in, Started and UpdatedAt too when zero).
func (r *Registry) Register(e Entry) (*Registration, error) {
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return nil, fmt.Errorf("copies: %w", err)
	}
	e.PID = os.Getpid()
	e.StartTicks, _ = startTicks(e.PID)
	now := time.Now().UTC()
	if e.Started.IsZero() {
		e.Started = now
	}
	e.UpdatedAt = now
	g := &Registration{r: r, e: e}
	if err := r.write(e); err != nil {
		return nil, err
	}
	return g, nil
}

// Entry is what the registration says now.
func (g *Registration) Entry() Entry {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.e
}

// Update changes the entry with fn and rewrites it (after Remove, it does
// nothing).
func (g *Registration) Update(fn func(*Entry)) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.removed {
		return nil
	}
	fn(&g.e)
	g.e.UpdatedAt = time.Now().UTC()
	return g.r.write(g.e)
}

// Remove deletes the entry; later calls do nothing.
func (g *Registration) Remove() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.removed {
		return nil
	}
	g.removed = true
	if err := os.Remove(g.r.path(g.e.PID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("copies: %w", err)
	}
	return nil
}

// write stores e atomically: a temporary file, then a rename over the old
// entry, so a reader sees the old entry or the new one, whole.
func (r *Registry) write(e Entry) error {
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return fmt.Errorf("copies: %w", err)
	}
	f, err := os.CreateTemp(r.dir, "."+strconv.Itoa(e.PID)+"-*.tmp")
	if err != nil {
		return fmt.Errorf("copies: %w", err)
	}
	tmp := f.Name()
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(append(b, '\n'))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, r.path(e.PID))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("copies: write the entry: %w", err)
	}
	return nil
}

// ListRequest selects entries.
type ListRequest struct {
	// Config, when set, keeps only the copies of this config file (an
	// absolute path; several configs may share a directory).
	Config string
}

// ListResponse holds the live entries, oldest copy first.
type ListResponse struct {
	Copies []Entry
	// Pruned counts the entries of processes that were gone (removed).
	Pruned int
}

// List reads the registry, removing the entries of processes that are gone
// or whose pid was reused. A missing directory holds no copies.
func (r *Registry) List(ctx context.Context, req ListRequest) (ListResponse, error) {
	var res ListResponse
	dirents, err := os.ReadDir(r.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("copies: %w", err)
	}
	for _, d := range dirents {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		name := d.Name()
		pid, err := strconv.Atoi(strings.TrimSuffix(name, ".json"))
		if err != nil || !strings.HasSuffix(name, ".json") || pid <= 0 {
			continue
		}
		path := filepath.Join(r.dir, name)
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed meanwhile
		}
		if err != nil {
			return res, fmt.Errorf("copies: %w", err)
		}
		var e Entry
		if json.Unmarshal(b, &e) != nil || e.PID != pid || !running(e.PID, e.StartTicks) {
			// Gone, reused, or not an entry we can read: a live copy
			// rewrites its entry whole, so a bad one is a dead copy's.
			if err := os.Remove(path); err == nil {
				res.Pruned++
			}
			continue
		}
		if req.Config != "" && e.Config != req.Config {
			continue
		}
		res.Copies = append(res.Copies, e)
	}
	slices.SortFunc(res.Copies, func(a, b Entry) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		return a.PID - b.PID
	})
	return res, nil
}

// Lookup is the live entry of pid, if any.
func (r *Registry) Lookup(ctx context.Context, pid int) (Entry, bool, error) {
	res, err := r.List(ctx, ListRequest{})
	if err != nil {
		return Entry{}, false, err
	}
	for _, e := range res.Copies {
		if e.PID == pid {
			return e, true, nil
		}
	}
	return Entry{}, false, nil
}

// HolderOf is the live copy (other than this process) serving on addr
// (host:port), as an MCP listener or as its admin API.
func (r *Registry) HolderOf(ctx context.Context, addr string) (Entry, bool, error) {
	res, err := r.List(ctx, ListRequest{})
	if err != nil {
		return Entry{}, false, err
	}
	for _, e := range res.Copies {
		if e.PID == os.Getpid() {
			continue
		}
		for _, u := range append(slices.Clone(e.Listeners), e.AdminURL) {
			if sameAddr(hostOf(u), addr) {
				return e, true, nil
			}
		}
	}
	return Entry{}, false, nil
}

// hostOf is the host:port of a URL ("" when it has none).
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

// sameAddr says whether two host:port addresses are one listening address:
// the same port and the same host, or a wildcard host on either side.
func sameAddr(a, b string) bool {
	ah, ap, err1 := net.SplitHostPort(a)
	bh, bp, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil || ap != bp {
		return false
	}
	wild := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	norm := func(h string) string {
		if h == "localhost" {
			return "127.0.0.1"
		}
		return h
	}
	return wild(ah) || wild(bh) || norm(ah) == norm(bh)
}
