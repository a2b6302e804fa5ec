package sdk

import (
	"github.com/hashicorp/go-plugin"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/tracing"
	"github.com/mcphost/mcphost/sdk/translator"
	"github.com/mcphost/mcphost/sdk/transport"
	"github.com/mcphost/mcphost/sdk/weighting"
)

// Kind is one kind of plugin: what Serve, the host's plugin manager and its
// built-in registry need to know about it. Kinds lists them all, so adding
// a kind is one entry there (and its field in ServeConfig).
type Kind struct {
	// Name is the kind's name (base.Kind*), which is also its go-plugin
	// plugin name.
	Name string
	// Implements reports whether p implements the kind's Go interface.
	Implements func(p base.Plugin) bool
	// GRPCPlugin is the kind's go-plugin plugin serving impl; with a nil
	// impl, the host's side, which dispenses a client.
	GRPCPlugin func(impl base.Plugin) plugin.Plugin

	field string                        // the ServeConfig field that sets the kind
	impl  func(ServeConfig) base.Plugin // that field's value, or nil
	set   func(*ServeConfig, base.Plugin)
}

// Kinds is every kind of plugin, in the order Serve checks ServeConfig.
var Kinds = []Kind{
	newKind(base.KindTransport, "Transport",
		func(c *ServeConfig) *transport.Transport { return &c.Transport },
		func(impl transport.Transport) plugin.Plugin { return &transport.GRPCPlugin{Impl: impl} }),
	newKind(base.KindTranslator, "Translator",
		func(c *ServeConfig) *translator.Translator { return &c.Translator },
		func(impl translator.Translator) plugin.Plugin { return &translator.GRPCPlugin{Impl: impl} }),
	newKind(base.KindWeighting, "Weighting",
		func(c *ServeConfig) *weighting.Weighting { return &c.Weighting },
		func(impl weighting.Weighting) plugin.Plugin { return &weighting.GRPCPlugin{Impl: impl} }),
	newKind(base.KindTracing, "Tracing",
		func(c *ServeConfig) *tracing.Tracing { return &c.Tracing },
		func(impl tracing.Tracing) plugin.Plugin { return &tracing.GRPCPlugin{Impl: impl} }),
}

// newKind builds a Kind from the kind's Go interface P: field points at
// ServeConfig's field of type P, grpcPlugin wraps an implementation.
func newKind[P base.Plugin](name, fieldName string, field func(*ServeConfig) *P, grpcPlugin func(P) plugin.Plugin) Kind {
	return Kind{
		Name: name,
		Implements: func(p base.Plugin) bool {
			_, ok := p.(P)
			return ok
		},
		GRPCPlugin: func(impl base.Plugin) plugin.Plugin {
			typed, _ := impl.(P) // the zero P for the host's side
			return grpcPlugin(typed)
		},
		field: fieldName,
		impl:  func(c ServeConfig) base.Plugin { return *field(&c) },
		set:   func(c *ServeConfig, p base.Plugin) { *field(c) = p.(P) },
	}
}

// KindNamed returns the kind called name.
func KindNamed(name string) (Kind, bool) {
	for _, k := range Kinds {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

// ServeConfig returns the config that serves p as a plugin of kind k, or
// false if p does not implement k.
func (k Kind) ServeConfig(p base.Plugin) (ServeConfig, bool) {
	var cfg ServeConfig
	if !k.Implements(p) {
		return cfg, false
	}
	k.set(&cfg, p)
	return cfg, true
}
