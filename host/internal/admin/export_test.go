package admin

import "net/http"

// What the external tests (package admin_test, which can import
// admintest) need of the package's internals.

type ErrorBody = errorBody

const (
	Realm         = realm
	MaxSocketPath = maxSocketPath
)

var WriteTokenFile = writeTokenFile

func (s *Server) AuthRequired(r *http.Request) bool { return s.authRequired(r) }

// ConfiguredAddr is the address s listens on once started, as configured.
func ConfiguredAddr(s *Server) string { return s.addr }

// SetGetenv replaces how s reads the environment; call it before Start.
func (s *Server) SetGetenv(getenv func(string) string) { s.getenv = getenv }
