package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func writeBinary(t *testing.T, content string) (path, sum string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "plugin")
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte(content))
	return path, hex.EncodeToString(h[:])
}

func TestChecksumState(t *testing.T) {
	t.Parallel()
	path, sum := writeBinary(t, "#!/bin/sh\nexit 0\n")
	wrong := strings.Repeat("0", 64)
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"builtin", Spec{Name: "stdio", Source: SourceBuiltin}, "builtin"},
		{"pinned", Spec{Name: "x", Source: path, SHA256: sum}, "pinned"},
		{"mismatch", Spec{Name: "x", Source: path, SHA256: wrong}, "mismatch"},
		{"missing", Spec{Name: "x", Source: filepath.Join(t.TempDir(), "nope"), SHA256: sum}, "missing"},
		{"invalid", Spec{Name: "x", Source: path, SHA256: "abc"}, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := checksumState(tt.spec); got != tt.want {
				t.Errorf("checksumState = %q, want %q", got, tt.want)
			}
		})
	}
}

// A binary whose sha256 differs from the pinned one is never executed.
func TestMismatchedPluginIsRefused(t *testing.T) {
	t.Parallel()
	marker := filepath.Join(t.TempDir(), "ran")
	path, _ := writeBinary(t, "#!/bin/sh\ntouch "+marker+"\n")
	m := New(Options{}, []Spec{{Name: "evil", Source: path, SHA256: strings.Repeat("ab", 32)}})
	defer m.Close(context.Background())
	_, err := m.Transport(context.Background(), "evil")
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("Transport error = %v, want ErrChecksum", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the binary", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the refused binary ran")
	}
}

func TestInProcessBuiltin(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m := New(Options{}, []Spec{{Name: "stdio", Source: SourceBuiltin, Mode: ModeInProcess}})
	defer m.Close(ctx)
	tr, err := m.Transport(ctx, "stdio")
	if err != nil {
		t.Fatal(err)
	}
	again, err := m.Transport(ctx, "stdio")
	if err != nil || again != tr {
		t.Fatalf("second Transport = %v, %v; want the same running instance", again, err)
	}
	list := m.List(ctx)
	// Every built-in is listed; only stdio was asked for in process.
	i := slices.IndexFunc(list, func(s Status) bool { return s.Name == "stdio" })
	if i < 0 || !list[i].Running || list[i].Kind != "transport" || list[i].Version == "" || list[i].Mode != ModeInProcess {
		t.Errorf("List = %+v", list)
	}
	// In process, a plugin has no process, so no pid, of its own.
	for _, st := range list {
		if st.Pid != 0 {
			t.Errorf("%s has pid %d, want none", st.Name, st.Pid)
		}
	}
}

func TestUnknownPlugin(t *testing.T) {
	t.Parallel()
	m := New(Options{}, nil)
	defer m.Close(context.Background())
	_, err := m.Transport(context.Background(), "nope")
	if err == nil || !strings.Contains(err.Error(), "stdio") {
		t.Fatalf("error = %v, want one listing the built-ins", err)
	}
}

func TestOnlyBuiltinsRunInProcess(t *testing.T) {
	t.Parallel()
	path, sum := writeBinary(t, "#!/bin/sh\nexit 0\n")
	m := New(Options{}, []Spec{{Name: "ext", Source: path, SHA256: sum, Mode: ModeInProcess}})
	defer m.Close(context.Background())
	if _, err := m.Transport(context.Background(), "ext"); err == nil || !strings.Contains(err.Error(), "in-process") {
		t.Fatalf("error = %v", err)
	}
}

func TestUpdateSwapsChangedPluginsOnly(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	specs := []Spec{
		{Name: "stdio", Source: SourceBuiltin, Mode: ModeInProcess},
		{Name: "composite", Source: SourceBuiltin, Mode: ModeInProcess, Config: []byte(`{"recency_half_life":"1m"}`)},
	}
	m := New(Options{}, specs)
	defer m.Close(ctx)
	tr, err := m.Transport(ctx, "stdio")
	if err != nil {
		t.Fatal(err)
	}
	w, err := m.Weighting(ctx, "composite")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Tracing(ctx, "composite"); err == nil {
		t.Fatal("a weighting plugin was handed out as a tracing plugin")
	}
	next := []Spec{specs[0], {Name: "composite", Source: SourceBuiltin, Mode: ModeInProcess, Config: []byte(`{"recency_half_life":"2m"}`)}}
	if changed := m.Update(ctx, next); !slices.Equal(changed, []string{"composite"}) {
		t.Fatalf("Update reported %v changed, want [composite]", changed)
	}
	if again, _ := m.Transport(ctx, "stdio"); again != tr {
		t.Fatal("an unchanged plugin was restarted by Update")
	}
	if again, _ := m.Weighting(ctx, "composite"); again == w {
		t.Fatal("a changed plugin kept its old instance")
	}
	if changed := m.Update(ctx, next); len(changed) != 0 {
		t.Fatalf("an identical Update reported %v changed", changed)
	}
}

// TestHungPluginHoldsUpOnlyItsOwnCallers: a plugin whose process never
// completes the handshake keeps its own callers waiting (each until its
// context ends), while every other plugin is looked up and listed as usual.
func TestHungPluginHoldsUpOnlyItsOwnCallers(t *testing.T) {
	t.Parallel()
	path, sum := writeBinary(t, "#!/bin/sh\nexec sleep 60\n")
	m := New(Options{}, []Spec{
		{Name: "hung", Source: path, SHA256: sum},
		{Name: "stdio", Source: SourceBuiltin, Mode: ModeInProcess},
	})
	defer m.Close(context.Background())

	hungCtx, cancelHung := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := m.Transport(hungCtx, "hung")
		first <- err
	}()
	// Wait until the first caller holds the hung plugin's start.
	for {
		m.mu.Lock()
		lock := m.starting["hung"]
		m.mu.Unlock()
		if len(lock) == 1 {
			break
		}
		runtime.Gosched()
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := m.Transport(ctx, "stdio"); err != nil {
		t.Fatalf("another plugin, while one hangs starting: %v", err)
	}
	if list := m.List(ctx); len(list) == 0 {
		t.Fatal("List returned nothing")
	}
	// A second caller of the hung plugin waits only as long as its ctx.
	short, cancelShort := context.WithCancel(context.Background())
	cancelShort()
	if _, err := m.Transport(short, "hung"); !errors.Is(err, context.Canceled) {
		t.Fatalf("second caller of the hung plugin: %v, want context.Canceled", err)
	}
	// The first caller's start ends with its context, not at StartTimeout.
	cancelHung()
	select {
	case err := <-first:
		if err == nil {
			t.Fatal("the hung plugin started")
		}
	case <-ctx.Done():
		t.Fatal("the hung start did not end with its caller's context")
	}
}

func TestPluginEnv(t *testing.T) {
	t.Parallel()
	host := []string{"PATH=/usr/bin", "HOME=/home/u", "LC_TIME=C", "GITHUB_TOKEN=secret", "AWS_PROFILE=dev",
		"XDG_RUNTIME_DIR=/run/user/1", "NOEQUALS", "PATHX=nope"}
	tests := []struct {
		pass []string
		want []string
	}{
		{nil, []string{"PATH=/usr/bin", "HOME=/home/u", "LC_TIME=C", "XDG_RUNTIME_DIR=/run/user/1"}},
		{[]string{"AWS_PROFILE"}, []string{"PATH=/usr/bin", "HOME=/home/u", "LC_TIME=C", "AWS_PROFILE=dev", "XDG_RUNTIME_DIR=/run/user/1"}},
	}
	for _, tt := range tests {
		if got := pluginEnv(host, tt.pass); !slices.Equal(got, tt.want) {
			t.Errorf("pluginEnv(pass %v) = %v, want %v", tt.pass, got, tt.want)
		}
	}
}
