package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	t.Parallel()
	vcs := []debug.BuildSetting{
		{Key: "-buildmode", Value: "exe"},
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "b1aff33f032c6156f24466822c89e578fd18030b"},
		{Key: "vcs.time", Value: "2026-12-07T16:55:30Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	tests := []struct {
		name     string
		version  string
		settings []debug.BuildSetting
		want     Info
		printed  string
	}{
		{
			name:    "a tagged release",
			version: "v1.2.0",
			settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "0123456789abcdef"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
				{Key: "vcs.modified", Value: "false"},
			},
			want: Info{Version: "v1.2.0", Revision: "0123456789abcdef", Time: "2026-12-01T10:00:00Z", GoVersion: "go1.26.0"},
			printed: "mcphost v1.2.0\nrevision  0123456789abcdef\ntime      2026-12-01T10:00:00Z\n" +
				"go        go1.26.0\n",
		},
		{
			name:     "a checkout with changes",
			version:  "v0.0.0-20261207165530-b1aff33f032c+dirty",
			settings: vcs,
			want: Info{Version: "v0.0.0-20261207165530-b1aff33f032c+dirty", Revision: "b1aff33f032c6156f24466822c89e578fd18030b",
				Time: "2026-12-07T16:55:30Z", Modified: true, GoVersion: "go1.26.0"},
			printed: "mcphost v0.0.0-20261207165530-b1aff33f032c+dirty\n" +
				"revision  b1aff33f032c6156f24466822c89e578fd18030b (modified)\ntime      2026-12-07T16:55:30Z\n" +
				"go        go1.26.0\n",
		},
		{
			name:    "a devel build without VCS stamping",
			version: "(devel)",
			want:    Info{Version: DevelVersion, Devel: true, GoVersion: "go1.26.0"},
			printed: "mcphost " + DevelVersion + " (devel)\ngo        go1.26.0\n",
		},
		{
			name:    "no version at all",
			version: "",
			want:    Info{Version: DevelVersion, Devel: true, GoVersion: "go1.26.0"},
			printed: "mcphost " + DevelVersion + " (devel)\ngo        go1.26.0\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bi := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/mcphost/mcphost", Version: tt.version},
				Settings: tt.settings}
			got := FromBuildInfo(bi)
			if got != tt.want {
				t.Errorf("FromBuildInfo = %+v, want %+v", got, tt.want)
			}
			if s := got.String(); s != tt.printed {
				t.Errorf("String() = %q, want %q", s, tt.printed)
			}
		})
	}
}

// TestRead reads the test binary's own build information, which Go always
// records: a version and the Go release are there.
func TestRead(t *testing.T) {
	t.Parallel()
	info := Read()
	if info.Version == "" || info.GoVersion == "" {
		t.Fatalf("Read() = %+v, want a version and a Go version", info)
	}
	if !strings.HasPrefix(info.String(), "mcphost "+info.Version) {
		t.Errorf("String() = %q", info.String())
	}
}
