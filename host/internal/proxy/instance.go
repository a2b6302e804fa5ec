package proxy

import (
	"crypto/rand"
	"encoding/hex"
	"strings"

	"github.com/mcphost/mcphost/host/internal/router"
)

// instanceSuffixBytes of randomness end a default instance id: instances
// on one machine, and one instance's successive starts, differ by them.
const instanceSuffixBytes = 3

// InstanceID is the id that starts this proxy's client session ids.
func (p *Proxy) InstanceID() string { return p.instanceID }

// defaultInstanceID is host (lowercased, every character outside
// [a-z0-9-] made "-", cut to fit; "mcphost" when nothing is left), "-"
// and a random hex suffix: a valid router instance id.
func defaultInstanceID(host string) string {
	suffix := make([]byte, instanceSuffixBytes)
	_, _ = rand.Read(suffix) // never fails (Go 1.24+: it crashes the program instead)
	name := strings.Map(func(c rune) rune {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' {
			return c
		}
		return '-'
	}, strings.ToLower(host))
	name = name[:min(len(name), router.MaxInstanceIDLen-1-2*instanceSuffixBytes)]
	if name = strings.Trim(name, "-"); name == "" {
		name = "mcphost"
	}
	return name + "-" + hex.EncodeToString(suffix)
}
