package telemetry

import (
	"sync/atomic"

	"github.com/mcphost/mcphost/host/internal/router"
)

// Switch is a router.Spans whose Exporter a reload can replace, or remove
// (nil: requests get no span), while requests flow.
type Switch struct {
	current atomic.Pointer[Exporter]
}

// NewSwitch starts with e.
func NewSwitch(e *Exporter) *Switch {
	s := &Switch{}
	s.current.Store(e)
	return s
}

// Begin starts the span of a request with the current Exporter; nil when
// there is none.
func (s *Switch) Begin(info router.RequestInfo) router.RequestSpan {
	e := s.current.Load()
	if e == nil {
		return nil
	}
	return e.Begin(info)
}

// Swap puts e in place and returns the Exporter it replaced (for its
// owner to shut down; spans it began still end on it).
func (s *Switch) Swap(e *Exporter) *Exporter { return s.current.Swap(e) }

// Current is the Exporter in use, or nil.
func (s *Switch) Current() *Exporter { return s.current.Load() }
