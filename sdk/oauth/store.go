package oauth

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Key is the Store key of a server: its name and a hash of its canonical
// URL, so that two configs that give the same name to different servers do
// not share tokens. The key is safe as a file name.
func Key(server, rawURL string) string {
	canonical, err := canonicalResource(rawURL)
	if err != nil {
		canonical = rawURL
	}
	sum := sha256.Sum256([]byte(canonical))
	var b strings.Builder
	for _, r := range server {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := strings.TrimLeft(b.String(), ".")
	if name == "" {
		name = "server"
	}
	return name + "-" + hex.EncodeToString(sum[:6])
}

// FileStore keeps each Record in its own file, Dir/<key>.json, readable by
// the user alone (0600, in a 0700 directory). Save replaces a file
// atomically and Load reads it afresh each time; Version (a stat) tells a
// Client when to, so a sign-in or sign-out by another process (`mcphost
// auth login`, `logout`) is seen by a running proxy's next request.
type FileStore struct {
	Dir string
}

func (s FileStore) path(key string) (string, error) {
	if s.Dir == "" {
		return "", errors.New("oauth: FileStore has no Dir")
	}
	if key == "" || key != filepath.Base(key) || strings.HasPrefix(key, ".") {
		return "", fmt.Errorf("oauth: store key %q is not a file name", key)
	}
	return filepath.Join(s.Dir, key+".json"), nil
}

// Load returns the record, or an error wrapping fs.ErrNotExist.
func (s FileStore) Load(key string) (*Record, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("oauth: load %s: %w", key, err)
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("oauth: load %s: %w", key, err)
	}
	return &r, nil
}

// Save writes the record to a temporary file in Dir and renames it over
// the old one, so that a reader sees the old record or the new, never a
// part.
func (s FileStore) Save(key string, r *Record) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("oauth: save %s: %w", key, err)
	}
	// MkdirAll keeps an existing directory's mode; tokens must not be
	// listable by others either.
	if err := os.Chmod(s.Dir, 0o700); err != nil {
		return fmt.Errorf("oauth: save %s: %w", key, err)
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("oauth: save %s: %w", key, err)
	}
	f, err := os.CreateTemp(s.Dir, "."+key+".*.tmp")
	if err != nil {
		return fmt.Errorf("oauth: save %s: %w", key, err)
	}
	tmp := f.Name()
	committed := false
	defer func() {
		if !committed {
			_ = os.Remove(tmp)
		}
	}()
	// CreateTemp makes the file 0600 already; Chmod states it for
	// platforms and umasks that differ.
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		f.Close()
		return fmt.Errorf("oauth: save %s: %w", key, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("oauth: save %s: %w", key, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("oauth: save %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("oauth: save %s: %w", key, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("oauth: save %s: %w", key, err)
	}
	committed = true
	return nil
}

// Delete removes the record; a missing one is not an error.
func (s FileStore) Delete(key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("oauth: delete %s: %w", key, err)
	}
	return nil
}

// DefaultDir is where mcphost keeps tokens: $MCPHOST_OAUTH_DIR, else
// <user config dir>/mcphost/oauth, the user config dir found as
// os.UserConfigDir does but through getenv (a plugin process does not
// inherit the host's environment).
func DefaultDir(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if d := getenv("MCPHOST_OAUTH_DIR"); d != "" {
		return d, nil
	}
	base, err := userConfigDir(runtime.GOOS, getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(base, "mcphost", "oauth"), nil
}

// userConfigDir mirrors os.UserConfigDir for goos with getenv.
func userConfigDir(goos string, getenv func(string) string) (string, error) {
	switch goos {
	case "windows":
		if d := getenv("AppData"); d != "" {
			return d, nil
		}
		return "", errors.New("oauth: %AppData% is not set")
	case "darwin", "ios":
		if h := getenv("HOME"); h != "" {
			return filepath.Join(h, "Library", "Application Support"), nil
		}
		return "", errors.New("oauth: $HOME is not set")
	case "plan9":
		if h := getenv("home"); h != "" {
			return filepath.Join(h, "lib"), nil
		}
		return "", errors.New("oauth: $home is not set")
	}
	if d := getenv("XDG_CONFIG_HOME"); d != "" {
		if !filepath.IsAbs(d) {
			return "", fmt.Errorf("oauth: $XDG_CONFIG_HOME is relative: %s", d)
		}
		return d, nil
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config"), nil
	}
	return "", errors.New("oauth: neither $XDG_CONFIG_HOME nor $HOME is set")
}
