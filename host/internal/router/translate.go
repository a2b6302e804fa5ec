package router

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

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

// protoVersion is a protocol version, with its era, read on every
// message: atomic, so that reading it takes no lock.
type protoVersion struct{ v atomic.Pointer[versionEra] }

type versionEra struct {
	version string
	era     protocolEra
}

func (p *protoVersion) load() string {
	if s := p.v.Load(); s != nil {
		return s.version
	}
	return ""
}

// era is the version's era, chosen when it was stored.
func (p *protoVersion) era() protocolEra {
	if s := p.v.Load(); s != nil {
		return s.era
	}
	return sessionEra{}
}

func (p *protoVersion) store(s string) { p.v.Store(&versionEra{version: s, era: eraOf(s)}) }

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
	r.catalog.rebuild(false) // a fresh catalog: no list translated by the old ones
}

func newTranslators(refs []TranslatorRef) *translators {
	return &translators{refs: refs, loaded: make([]atomic.Pointer[loadedTranslator], len(refs))}
}

// translators applies the configured translator plugins in order. Each
// one's rules are read and compiled once per plugin instance; the compiled
// rules hold a plan per kind of message, so a message costs a map lookup
// when no rule matches it, the rules' conditions and edits (run here, on
// the raw bytes) when one does, and a call into the plugin only when a
// rule asks for one.
type translators struct {
	refs []TranslatorRef
	// loaded[i] is translator i with its compiled rules, nil until first
	// used and again after it failed.
	loaded []atomic.Pointer[loadedTranslator]
}

type loadedTranslator struct {
	impl  translator.Translator
	rules *translator.RuleSet
}

// translateTimeout bounds one call into a translator plugin.
const translateTimeout = 10 * time.Second

// ErrTranslation is returned (wrapped) by translate when a translator
// could not be used or failed on a message: the message is not sent, in
// either version, and the caller answers with an error where it can.
var ErrTranslation = errors.New("translation failed")

// translate puts msg, written in version from, into version to. It returns
// the message to send (nil when a translator dropped it) and any further
// messages to send after it. Same versions, or no translators, cost nothing.
// When a translator is unavailable or fails, it returns an ErrTranslation
// and no message: an untranslated one would reach a peer that speaks
// another revision.
func (r *Router) translate(s *Session, from, to string, dir translator.Direction, method, kind string, msg []byte) ([]byte, [][]byte, error) {
	t := r.translators.Load()
	if from == to || from == "" || to == "" || len(t.refs) == 0 {
		return msg, nil, nil
	}
	sess := lazySession{s: s}
	var extra [][]byte
	for i, ref := range t.refs {
		lt, err := t.get(i, r.log)
		if err != nil {
			r.log.Warn("translator unavailable; message not sent", "translator", ref.Name,
				"method", method, "from", from, "to", to, "error", err)
			return nil, nil, fmt.Errorf("%w: translator %q unavailable", ErrTranslation, ref.Name)
		}
		plan := lt.rules.Plan(from, to, dir, method, kind)
		if plan == nil {
			continue
		}
		out, err := plan.Apply(msg, sess.get)
		if err != nil {
			r.log.Warn("translation rules failed; message not sent", "translator", ref.Name,
				"method", method, "from", from, "to", to, "error", err)
			return nil, nil, fmt.Errorf("%w: translator %q: %s", ErrTranslation, ref.Name, err.Error())
		}
		if out.Drop {
			return nil, extra, nil
		}
		if !out.Translate {
			msg = out.Message
			continue
		}
		req := translator.TranslateRequest{From: from, To: to, Direction: dir, Method: method, Kind: kind, Message: out.Message, Session: sess.get()}
		ctx, cancel := context.WithTimeout(r.ctx, translateTimeout)
		resp, err := lt.impl.Translate(ctx, req)
		cancel()
		if err != nil {
			r.log.Warn("translation failed; message not sent", "translator", ref.Name,
				"method", method, "from", from, "to", to, "error", err)
			t.forget(i, lt)
			return nil, nil, fmt.Errorf("%w: translator %q did not answer", ErrTranslation, ref.Name)
		}
		extra = append(extra, resp.Extra...)
		if resp.Drop {
			return nil, extra, nil
		}
		msg = out.Message
		if resp.Message != nil {
			msg = resp.Message
		}
	}
	return msg, extra, nil
}

// lazySession reads the session's data for a translator on first use
// (it takes the session's lock), once per message.
type lazySession struct {
	s      *Session
	data   translator.Session
	loaded bool
}

func (l *lazySession) get() translator.Session {
	if !l.loaded {
		l.loaded = true
		if l.s != nil {
			l.data = l.s.translatorSession()
		}
	}
	return l.data
}

// get returns translator i with its compiled rules, loading them on first
// use or after the plugin failed (and go-plugin restarted it).
func (t *translators) get(i int, log hclog.Logger) (*loadedTranslator, error) {
	if lt := t.loaded[i].Load(); lt != nil {
		return lt, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), translateTimeout)
	defer cancel()
	impl, err := t.refs[i].Get(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := impl.Rules(ctx, translator.RulesRequest{})
	if err != nil {
		return nil, err
	}
	rules, err := translator.Compile(resp.Rules)
	if err != nil {
		// Compile keeps such rules as API minor 1 reads them: the plugin
		// sees every message they match.
		log.Warn("translator rules not understood; the plugin is called for every message they match",
			"translator", t.refs[i].Name, "error", err)
	}
	lt := &loadedTranslator{impl: impl, rules: rules}
	if !t.loaded[i].CompareAndSwap(nil, lt) {
		if other := t.loaded[i].Load(); other != nil {
			return other, nil // loaded meanwhile by another message
		}
	}
	return lt, nil
}

// forget drops a translator that failed, so that the next message fetches
// it again (and go-plugin restarts a dead process).
func (t *translators) forget(i int, lt *loadedTranslator) {
	t.loaded[i].CompareAndSwap(lt, nil)
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
// catalogVersion) into the session's version, caching it per version (and
// servers hidden from it) in the catalog it came from.
func (s *Session) localResult(cat *catalog, method, hidden string, id, result []byte) []byte {
	version := s.ProtocolVersion()
	if version == catalogVersion || version == "" || len(s.router.translators.Load().refs) == 0 {
		return jsonrpc.Result(id, result)
	}
	key := method + " " + version + " " + hidden
	if cached, ok := cat.translated.Load(key); ok {
		return jsonrpc.Result(id, cached.([]byte))
	}
	// Translate with a fixed id, then cache the bare result.
	msg := jsonrpc.Result([]byte(`0`), result)
	out, _, err := s.router.translate(s, catalogVersion, version, translator.ToClient, method, translator.KindResponse, msg)
	if err != nil {
		return jsonrpc.Error(id, jsonrpc.CodeInternalError, "mcphost: "+err.Error(), nil) // not cached: tried again next time
	}
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
