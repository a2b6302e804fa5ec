package translator

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/tidwall/gjson"
)

// RuleSet is a translator's rules compiled for the host: it hands out the
// Plan for each kind of message and caches it, so that the rules are
// scanned once per kind of message rather than once per message. It is
// safe for concurrent use.
type RuleSet struct {
	rules []*compiledRule
	// plans is copied on write, so that a lookup takes no lock and
	// allocates nothing.
	plans   atomic.Pointer[map[planKey]*Plan]
	storeMu sync.Mutex
}

// maxCachedPlans bounds the plan cache: methods come from peers, and a
// peer inventing method names must not grow it without end. Plans beyond
// it are built on every lookup.
const maxCachedPlans = 1024

type planKey struct {
	from, to, method, kind string
	dir                    Direction
}

// Compile compiles rules for Plan. The RuleSet it returns is always usable:
// a rule it cannot compile (an unknown kind, type, operation or session
// field, a condition without Contains or Path, an invalid path or value)
// is kept as a host of API minor 1 would read it, its Kinds, When, Edits
// and HostOnly ignored, so that Translate is called for every message it
// matches. The error names each such rule.
func Compile(rules []Rule) (*RuleSet, error) {
	rs := &RuleSet{rules: make([]*compiledRule, len(rules))}
	var errs []error
	for i, r := range rules {
		c, err := compileRule(i, r)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %d (%s→%s %s %v): %w", i, r.From, r.To, r.Direction, r.Methods, err))
			c = &compiledRule{index: i, rule: r}
		}
		rs.rules[i] = c
	}
	return rs, errors.Join(errs...)
}

// Plan returns what the rules do with a message of method and kind going in
// dir from version from to version to, or nil when no rule matches it. A
// nil RuleSet has no rules.
func (rs *RuleSet) Plan(from, to string, dir Direction, method, kind string) *Plan {
	if rs == nil {
		return nil
	}
	key := planKey{from: from, to: to, method: method, kind: kind, dir: dir}
	if m := rs.plans.Load(); m != nil {
		if p, ok := (*m)[key]; ok {
			return p
		}
	}
	p := rs.build(key)
	rs.store(key, p)
	return p
}

func (rs *RuleSet) build(k planKey) *Plan {
	var covered []*compiledRule
	for _, r := range rs.rules {
		if r.rule.Matches(k.from, k.to, k.dir, k.method) && r.matchesKind(k.kind) {
			covered = append(covered, r)
		}
	}
	if len(covered) == 0 {
		return nil
	}
	p := &Plan{rules: covered, editsFrom: make([]bool, len(covered)+1)}
	for i := len(covered) - 1; i >= 0; i-- {
		r := covered[i]
		p.editsFrom[i] = p.editsFrom[i+1] || len(r.edits) > 0
		if !r.hostOnly && len(r.when) == 0 {
			p.translateAlways = true
		}
	}
	// A rule that calls Translate for every message makes the conditions
	// moot, unless some rule still has edits to make.
	p.translateAlways = p.translateAlways && !p.editsFrom[0]
	return p
}

func (rs *RuleSet) store(k planKey, p *Plan) {
	rs.storeMu.Lock()
	defer rs.storeMu.Unlock()
	old := rs.plans.Load()
	if old != nil && len(*old) >= maxCachedPlans {
		return
	}
	next := make(map[planKey]*Plan, 1+lenOf(old))
	if old != nil {
		for key, v := range *old {
			next[key] = v
		}
	}
	next[k] = p
	rs.plans.Store(&next)
}

func lenOf(m *map[planKey]*Plan) int {
	if m == nil {
		return 0
	}
	return len(*m)
}

// Plan is what a RuleSet does with one kind of message (versions,
// direction, method and kind): the rules that match it, in order. A nil
// *Plan matches nothing; its Apply returns the message unchanged.
type Plan struct {
	rules []*compiledRule
	// editsFrom[i] reports whether rules[i:] have any edits.
	editsFrom []bool
	// translateAlways: a rule calls Translate for every message and no
	// rule edits, so Apply need not look at the message.
	translateAlways bool
}

// Outcome is what Plan.Apply decided for one message.
type Outcome struct {
	// Message is the message after the edits: the very slice given to
	// Apply when no edit changed it. The given slice is never written to.
	Message []byte
	// Drop: an EditDrop covered the message. Send nothing in its place and
	// do not call Translate.
	Drop bool
	// Translate: a covered rule is not HostOnly. Call Translate once, with
	// Message.
	Translate bool
}

// Apply tests the plan's rules on msg and applies the edits of those that
// cover it, as described on Rule. session is called, at most once, only
// when an edit takes a value from the session; nil stands for a session
// without data. An error (session data that is not JSON) leaves the
// message as it was given.
func (p *Plan) Apply(msg []byte, session func() Session) (Outcome, error) {
	out := Outcome{Message: msg}
	if p == nil {
		return out, nil
	}
	if p.translateAlways {
		out.Translate = true
		return out, nil
	}
	sess := sessionOnce{get: session}
	buf := buffer{b: msg}
	for i, r := range p.rules {
		if out.Translate && !p.editsFrom[i] {
			break // only more reasons to call Translate are left
		}
		if len(r.edits) == 0 && (r.hostOnly || out.Translate) {
			continue // covering the message would change nothing
		}
		if !r.holds(buf.b) {
			continue
		}
		for j := range r.edits {
			e := &r.edits[j]
			if e.op == EditDrop {
				return Outcome{Drop: true}, nil
			}
			if err := e.apply(&buf, &sess); err != nil {
				return Outcome{Message: msg}, fmt.Errorf("rule %d, %s %s: %w", r.index, e.op, e.path.raw, err)
			}
		}
		if !r.hostOnly {
			out.Translate = true
		}
	}
	out.Message = buf.b
	return out, nil
}

// sessionOnce fetches the session on first use: the host takes a lock to
// read it.
type sessionOnce struct {
	get    func() Session
	s      Session
	loaded bool
}

func (o *sessionOnce) session() Session {
	if !o.loaded {
		o.loaded = true
		if o.get != nil {
			o.s = o.get()
		}
	}
	return o.s
}

type compiledRule struct {
	index    int
	rule     Rule // From, To, Direction and Methods, for Matches
	kinds    kindSet
	when     []condition
	edits    []edit
	hostOnly bool
}

// kindSet is a set of message kinds; 0 is every kind.
type kindSet uint8

const (
	kindRequestBit kindSet = 1 << iota
	kindNotificationBit
	kindResponseBit
)

func kindBit(kind string) kindSet {
	switch kind {
	case KindRequest:
		return kindRequestBit
	case KindNotification:
		return kindNotificationBit
	case KindResponse:
		return kindResponseBit
	}
	return 0
}

func (r *compiledRule) matchesKind(kind string) bool {
	return r.kinds == 0 || r.kinds&kindBit(kind) != 0
}

func (r *compiledRule) holds(msg []byte) bool {
	if len(r.when) == 0 {
		return true
	}
	for i := range r.when {
		if r.when[i].holds(msg) {
			return true
		}
	}
	return false
}

func compileRule(i int, r Rule) (*compiledRule, error) {
	c := &compiledRule{index: i, rule: r, hostOnly: r.HostOnly}
	switch r.Direction {
	case AnyDirection, ToBackend, ToClient:
	default:
		return nil, fmt.Errorf("unknown direction %d", r.Direction)
	}
	for _, k := range r.Kinds {
		bit := kindBit(k)
		if bit == 0 {
			return nil, fmt.Errorf("unknown kind %q", k)
		}
		c.kinds |= bit
	}
	for j, cond := range r.When {
		cc, err := compileCondition(cond)
		if err != nil {
			return nil, fmt.Errorf("condition %d: %w", j, err)
		}
		c.when = append(c.when, cc)
	}
	for j, e := range r.Edits {
		ce, err := compileEdit(e)
		if err != nil {
			return nil, fmt.Errorf("edit %d (%s %s): %w", j, e.Op, e.Path, err)
		}
		c.edits = append(c.edits, ce)
	}
	return c, nil
}

// typeSet is a set of JSON types.
type typeSet uint8

var typeBits = map[string]typeSet{
	TypeObject: 1 << 0, TypeArray: 1 << 1, TypeString: 1 << 2,
	TypeNumber: 1 << 3, TypeBoolean: 1 << 4, TypeNull: 1 << 5,
}

// typeOfRaw is the type of raw, a JSON value, by its first byte.
func typeOfRaw(raw string) typeSet {
	switch raw[0] {
	case '{':
		return typeBits[TypeObject]
	case '[':
		return typeBits[TypeArray]
	case '"':
		return typeBits[TypeString]
	case 't', 'f':
		return typeBits[TypeBoolean]
	case 'n':
		return typeBits[TypeNull]
	}
	return typeBits[TypeNumber]
}

func compileTypes(names []string) (typeSet, error) {
	var set typeSet
	for _, n := range names {
		bit, ok := typeBits[n]
		if !ok {
			return 0, fmt.Errorf("unknown JSON type %q", n)
		}
		set |= bit
	}
	return set, nil
}

type condition struct {
	contains needle
	path     string
	// member is path when it is a plain member path gjson would follow
	// through objects only (no name of digits, which gjson takes as an
	// array index): such a path is looked up by the edits' own reader.
	member    *memberPath
	is, isNot typeSet
	equals    *jsonValue
}

func compileCondition(c Condition) (condition, error) {
	out := condition{path: c.Path}
	if c.Contains == "" && c.Path == "" {
		return out, errors.New("neither Contains nor Path")
	}
	if c.Path == "" && (len(c.Is) > 0 || len(c.IsNot) > 0 || c.Equals != "") {
		return out, errors.New("a condition with Is, IsNot or Equals needs a Path")
	}
	out.contains = newNeedle(c.Contains)
	if p, err := parseMemberPath(c.Path); c.Path != "" && err == nil && !slices.ContainsFunc(p.keys, allDigits) {
		out.member = &p
	}
	var err error
	if out.is, err = compileTypes(c.Is); err != nil {
		return out, err
	}
	if out.isNot, err = compileTypes(c.IsNot); err != nil {
		return out, err
	}
	if c.Equals != "" {
		if out.equals, err = compileValue(c.Equals); err != nil {
			return out, fmt.Errorf("equals: %w", err)
		}
	}
	return out, nil
}

func (c *condition) holds(msg []byte) bool {
	if !c.contains.in(msg) {
		return false
	}
	if c.path == "" {
		return true
	}
	raw, ok := c.member.find(msg)
	if !ok {
		v := gjson.Get(view(msg), c.path)
		if !v.Exists() {
			return false
		}
		raw = v.Raw
	}
	if raw == "" {
		return false
	}
	t := typeOfRaw(raw)
	if c.is != 0 && c.is&t == 0 || c.isNot&t != 0 {
		return false
	}
	return c.equals == nil || c.equals.matches(raw)
}

// find looks p up in msg with the edits' reader: the member's raw JSON,
// "" when absent; ok is false when p is nil or msg could not be read, for
// gjson to look instead.
func (p *memberPath) find(msg []byte) (raw string, ok bool) {
	if p == nil {
		return "", false
	}
	at, err := locate(msg, p, nil)
	if err != nil {
		return "", false
	}
	if !at.found {
		return "", true
	}
	return view(msg[at.value.start:at.value.end]), true
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// jsonValue is a JSON value to compare members with.
type jsonValue struct {
	isString bool
	text     string // a string's text, or the compact raw JSON of anything else
}

func compileValue(raw string) (*jsonValue, error) {
	compact, err := compactJSON([]byte(raw))
	if err != nil {
		return nil, err
	}
	v := gjson.ParseBytes(compact)
	if v.Type == gjson.String {
		return &jsonValue{isString: true, text: v.Str}, nil
	}
	return &jsonValue{text: string(compact)}, nil
}

// matches reports whether raw, a JSON value, is j.
func (j *jsonValue) matches(raw string) bool {
	if !j.isString {
		return raw == j.text
	}
	if len(raw) < 2 || raw[0] != '"' {
		return false
	}
	if strings.IndexByte(raw, '\\') < 0 {
		return raw[1:len(raw)-1] == j.text
	}
	return gjson.Parse(raw).Str == j.text
}

// view is msg as a string without a copy: gjson results then alias msg,
// which is never modified in place.
func view(msg []byte) string {
	return unsafe.String(unsafe.SliceData(msg), len(msg))
}
