package router

import (
	"github.com/tidwall/gjson"
)

// maxElicitations bounds how many open URL-mode elicitations a session
// remembers; the oldest are forgotten first.
const maxElicitations = 256

// urlElicitationRequired is the code of the error (-32042) a server answers
// with when the client must first complete URL-mode elicitations; checked
// as bytes before any parse.
var urlElicitationRequired = []byte(`-32042`)

type elicitKey struct {
	backend *backend
	id      string
}

// rememberElicitation notes that this session got the URL-mode elicitation
// a backend named id, so that its completion comes back here.
func (s *Session) rememberElicitation(b *backend, id string) {
	k := elicitKey{b, id}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.elicits[k] {
		return
	}
	s.elicits[k] = true
	s.elicitOrder = append(s.elicitOrder, k)
	for len(s.elicitOrder) > maxElicitations {
		delete(s.elicits, s.elicitOrder[0])
		s.elicitOrder = s.elicitOrder[1:]
	}
}

// takeElicitation forgets and reports an elicitation of this session.
func (s *Session) takeElicitation(b *backend, id string) bool {
	k := elicitKey{b, id}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.elicits[k] {
		return false
	}
	delete(s.elicits, k)
	for i, o := range s.elicitOrder {
		if o == k {
			s.elicitOrder = append(s.elicitOrder[:i], s.elicitOrder[i+1:]...)
			break
		}
	}
	return true
}

// rememberRequiredElicitations notes the elicitations a URL_ELICITATION_REQUIRED
// error asked this session to complete.
func (s *Session) rememberRequiredElicitations(b *backend, msg []byte) {
	if gjson.GetBytes(msg, "error.code").Int() != -32042 {
		return
	}
	gjson.GetBytes(msg, "error.data.elicitations").ForEach(func(_, v gjson.Result) bool {
		if id := v.Get("elicitationId"); id.Type == gjson.String {
			s.rememberElicitation(b, id.Str)
		}
		return true
	})
}
