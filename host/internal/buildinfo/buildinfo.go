// Package buildinfo reads what the Go toolchain recorded in the mcphost
// binary about its own build: the module version and the VCS revision.
package buildinfo

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// DevelVersion stands for the version of a build that recorded none
// (built with -buildvcs=false, or outside a VCS checkout, where Go writes
// "(devel)"), so that the MCP handshake always carries a semver.
const DevelVersion = "0.1.0-dev"

// Info is what a build recorded about itself. Revision, Time and Modified
// are set only when the build stamped VCS information.
type Info struct {
	// Version is the main module's version (a tag such as v1.2.0, or a
	// pseudo-version such as v0.0.0-20261207165530-b1aff33f032c+dirty),
	// or DevelVersion when Devel.
	Version string
	Devel   bool
	// Revision and Time are the commit's, Modified says the work tree
	// had uncommitted changes.
	Revision, Time string
	Modified       bool
	GoVersion      string
}

// Read returns this binary's build information.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: DevelVersion, Devel: true}
	}
	return FromBuildInfo(bi)
}

// FromBuildInfo picks Info out of what runtime/debug reports.
func FromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if info.Version == "" || info.Version == "(devel)" {
		info.Version, info.Devel = DevelVersion, true
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.time":
			info.Time = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// String is what `mcphost version` prints: the version on the first line,
// then one line for each of revision, time and Go version that is known.
func (i Info) String() string {
	var b strings.Builder
	b.WriteString("mcphost " + i.Version)
	if i.Devel {
		b.WriteString(" (devel)")
	}
	b.WriteByte('\n')
	if i.Revision != "" {
		rev := i.Revision
		if i.Modified {
			rev += " (modified)"
		}
		fmt.Fprintf(&b, "revision  %s\n", rev)
	}
	if i.Time != "" {
		fmt.Fprintf(&b, "time      %s\n", i.Time)
	}
	if i.GoVersion != "" {
		fmt.Fprintf(&b, "go        %s\n", i.GoVersion)
	}
	return b.String()
}
