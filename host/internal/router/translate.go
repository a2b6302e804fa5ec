package router

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/translator"
)

// Protocol revisions the router knows, oldest first. ModernVersion is the
// stateless one: no initialize, per-request _meta, input-required results.
const (
	ModernVersion = "2026-07-28"
	// catalogVersion is the revision the merged lists are kept in; each
	// session gets them translated to its own.
	catalogVersion = "2025-11-25"
)

// SupportedVersions are every revision the proxy serves, newest first.
var SupportedVersions = []string{ModernVersion, "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}

// protoVersion is a protocol version read on every message: atomic, so
// that reading it takes no lock.
type protoVersion struct{ v atomic.Pointer[string] }

func (p *protoVersion) load() string {
	if s := p.v.Load(); s != nil {
		return *s
	}
	return ""
}

func (p *protoVersion) store(s string) { p.v.Store(&s) }

// normalizeVersion maps the TypeScript SDK's pre-release "2024-10-07" to
// the revision it became.
func normalizeVersion(v string) string {
	if v == "2024-10-07" {
		return "2024-11-05"
	}
	return v
}

// TranslatorRef is one configured translator plugin. Get returns it,
// starting its process again if it died.
type TranslatorRef struct {
	Name string
	Get  func(ctx context.Context) (translator.Translator, error)
}

// SetTranslators replaces the translator plugins (a reload); messages
// translated from now on use the new ones.
func (r *Router) SetTranslators(refs []TranslatorRef) {
	r.translators.Store(newTranslators(refs))
	r.rebuild(false) // a fresh catalog: no list translated by the old ones
}

func newTranslators(refs []TranslatorRef) *translators {
	return &translators{refs: refs, loaded: make([]loadedTranslator, len(refs))}
}

// translators applies the configured translator plugins in order. Each
// one's rules are read once per plugin instance; a message is sent to a
// plugin only when one of its rules matches.
type translators struct {
	refs []TranslatorRef

	mu     sync.Mutex
	loaded []loadedTranslator
}

type loadedTranslator struct {
	impl  translator.Translator
	rules []translator.Rule
}

// translateTimeout bounds one call into a translator plugin.
const translateTimeout = 10 * time.Second

// translate puts msg, written in version from, into version to. It returns
// the message to send (nil when a translator dropped it) and any further
// messages to send after it. Same versions, or no translators, cost nothing.
func (r *Router) translate(s *Session, from, to string, dir translator.Direction, method, kind string, msg []byte) ([]byte, [][]byte) {
	t := r.translators.Load()
	if from == to || from == "" || to == "" || len(t.refs) == 0 {
		return msg, nil
	}
	var extra [][]byte
	for i, ref := range t.refs {
		impl, rules, err := t.get(i)
		if err != nil {
			r.log.Warn("translator unavailable; message passed on untranslated", "translator", ref.Name, "error", err)
			continue
		}
		if !anyRuleMatches(rules, from, to, dir, method) {
			continue
		}
		req := translator.TranslateRequest{From: from, To: to, Direction: dir, Method: method, Kind: kind, Message: msg}
		if s != nil {
			req.Session = s.translatorSession()
		}
		ctx, cancel := context.WithTimeout(r.ctx, translateTimeout)
		resp, err := impl.Translate(ctx, req)
		cancel()
		if err != nil {
			r.log.Warn("translation failed; message passed on untranslated", "translator", ref.Name,
				"method", method, "from", from, "to", to, "error", err)
			t.forget(i, impl)
			continue
		}
		extra = append(extra, resp.Extra...)
		if resp.Drop {
			return nil, extra
		}
		if resp.Message != nil {
			msg = resp.Message
		}
	}
	return msg, extra
}

func anyRuleMatches(rules []translator.Rule, from, to string, dir translator.Direction, method string) bool {
	for _, rule := range rules {
		if rule.Matches(from, to, dir, method) {
			return true
		}
	}
	return false
}

// get returns translator i and its rules, loading them on first use or
// after the plugin was restarted.
func (t *translators) get(i int) (translator.Translator, []translator.Rule, error) {
	t.mu.Lock()
	cached := t.loaded[i]
	t.mu.Unlock()
	if cached.impl != nil {
		return cached.impl, cached.rules, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), translateTimeout)
	defer cancel()
	impl, err := t.refs[i].Get(ctx)
	if err != nil {
		return nil, nil, err
	}
	resp, err := impl.Rules(ctx, translator.RulesRequest{})
	if err != nil {
		return nil, nil, err
	}
	t.mu.Lock()
	t.loaded[i] = loadedTranslator{impl: impl, rules: resp.Rules}
	t.mu.Unlock()
	return impl, resp.Rules, nil
}

// forget drops a translator that failed, so that the next message fetches
// it again (and go-plugin restarts a dead process).
func (t *translators) forget(i int, impl translator.Translator) {
	t.mu.Lock()
	if t.loaded[i].impl == impl {
		t.loaded[i] = loadedTranslator{}
	}
	t.mu.Unlock()
}

// translatorSession is what a translator is told about the session.
func (s *Session) translatorSession() translator.Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := translator.Session{ClientCapabilities: s.caps, ClientInfo: s.clientInfo}
	if set := s.logLevel.Load(); set > 0 {
		out.LogLevel = logLevels[set-1]
	}
	return out
}

// localResult translates a result the proxy built itself (in
// catalogVersion) into the session's version, caching it per version in
// the catalog it came from.
func (s *Session) localResult(cat *catalog, method string, id, result []byte) []byte {
	version := s.ProtocolVersion()
	if version == catalogVersion || version == "" || len(s.router.translators.Load().refs) == 0 {
		return jsonrpc.Result(id, result)
	}
	key := method + " " + version
	if cached, ok := cat.translated.Load(key); ok {
		return jsonrpc.Result(id, cached.([]byte))
	}
	// Translate with a fixed id, then cache the bare result.
	msg := jsonrpc.Result([]byte(`0`), result)
	out, _ := s.router.translate(s, catalogVersion, version, translator.ToClient, method, translator.KindResponse, msg)
	if out == nil {
		out = msg
	}
	translated := jsonrpc.Get(out, "result")
	if translated == nil {
		return jsonrpc.Result(id, result)
	}
	cat.translated.Store(key, translated)
	return jsonrpc.Result(id, translated)
}

// inputRequiredMethods may be answered with an input-required result by a
// 2026-07-28 server.
var inputRequiredMethods = map[string]bool{"tools/call": true, "prompts/get": true, "resources/read": true}
