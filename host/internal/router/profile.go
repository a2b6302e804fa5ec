package router

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// Profile is a named subset of the proxy (a `profile` block): a session
// opened for it sees, and may reach, only these servers' entries, and of
// their tools only those whose exposed names match Tools.
type Profile struct {
	Name string
	// Servers are the servers the profile reaches; empty is every server.
	Servers []string
	// Tools are path.Match globs on exposed tool names; empty is every
	// tool of Servers.
	Tools []string
}

// profileView is a Profile compiled for the message path. A reload that
// changes the profile gives its sessions a new view (a new key, so that
// lists translated for the old one are not reused).
type profileView struct {
	Profile
	servers map[string]bool
	// key tells views apart in the translated-list cache.
	key string
}

var profileGeneration atomic.Int64

func compileProfile(p Profile) *profileView {
	v := &profileView{Profile: p, key: "p:" + p.Name + "#" + strconv.FormatInt(profileGeneration.Add(1), 10)}
	if len(p.Servers) > 0 {
		v.servers = map[string]bool{}
		for _, s := range p.Servers {
			v.servers[s] = true
		}
	}
	return v
}

func (v *profileView) sameAs(p Profile) bool {
	return slices.Equal(v.Servers, p.Servers) && slices.Equal(v.Tools, p.Tools)
}

// seesServer says whether the profile reaches server.
func (v *profileView) seesServer(server string) bool {
	return v.servers == nil || v.servers[server]
}

// seesTool says whether the profile shows the tool exposed as name.
func (v *profileView) seesTool(name string) bool {
	if len(v.Tools) == 0 {
		return true
	}
	for _, g := range v.Tools {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

// sees says whether the profile shows the entry of list k named name
// (exposed) that server owns.
func (v *profileView) sees(k listKind, server, name string) bool {
	return v.seesServer(server) && (k != listTools || v.seesTool(name))
}

// SetProfiles replaces the profiles sessions may be opened for. Sessions
// of a profile that is gone are closed; those of a changed one see the new
// subset at once and are sent list_changed.
func (r *Router) SetProfiles(profiles []Profile) {
	next := map[string]*profileView{}
	old := r.profiles.Load()
	for _, p := range profiles {
		if prev, ok := (*old)[p.Name]; ok && prev.sameAs(p) {
			next[p.Name] = prev
			continue
		}
		next[p.Name] = compileProfile(p)
	}
	r.profiles.Store(&next)
	for _, s := range r.sessions.live() {
		cur := s.profile.Load()
		if cur == nil {
			continue
		}
		nv, ok := next[cur.Name]
		switch {
		case !ok:
			r.log.Info("closing a session of a removed profile", "session", s.ID(), "profile", cur.Name)
			s.Close()
		case nv != cur:
			s.profile.Store(nv)
			for _, k := range []listKind{listTools, listPrompts, listResources} {
				s.version.era().notify(s, nil, listChanged[k], "", jsonrpc.Notification(listChanged[k], nil))
			}
		}
	}
}

// HasProfile says whether a profile named name is configured.
func (r *Router) HasProfile(name string) bool {
	_, ok := (*r.profiles.Load())[name]
	return ok
}

// SetProfile limits the session to profile name: its lists show, and its
// requests reach, only what the profile grants; anything else is answered
// as if it did not exist. Call it before the session handles a message.
func (s *Session) SetProfile(name string) error {
	v, ok := (*s.router.profiles.Load())[name]
	if !ok {
		return fmt.Errorf("no profile named %q", name)
	}
	s.profile.Store(v)
	if t := s.router.opts.Tracer; t != nil {
		t.SessionProfile(s.id, name)
	}
	return nil
}

// Profile is the name of the session's profile; "" for the main endpoint.
func (s *Session) Profile() string {
	if v := s.profile.Load(); v != nil {
		return v.Name
	}
	return ""
}

// reaches says whether the session's profile lets it reach the entry of
// list k named name that rt routes to; always true without a profile.
func (s *Session) reaches(k listKind, name string, rt route) bool {
	v := s.profile.Load()
	return v == nil || v.sees(k, rt.backend.spec.Name, name)
}

// profileShowsTool says whether the session's profile shows the tool
// exposed as name (its globs; servers are reachable's).
func (s *Session) profileShowsTool(name string) bool {
	v := s.profile.Load()
	return v == nil || v.seesTool(name)
}

// mayResume says whether a retry carrying a requestState may resume its
// call: not when the session's profile hides what it names (dispatch then
// answers it as unknown), whatever call the state stands for.
func (s *Session) mayResume(method string, params []byte) bool {
	if s.profile.Load() == nil {
		return true
	}
	_, ok := s.TargetServer(method, params)
	return ok
}
