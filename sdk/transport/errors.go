package transport

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mcphost/mcphost/sdk/oauth"
)

// PluginError is an error a transport plugin returned (from Open, say),
// decoded by the gRPC client: the plugin's own words, without gRPC's
// wording around them.
type PluginError struct {
	Msg string
	// cause is what Msg was recognised as (a *oauth.NeedsLoginError),
	// or nil.
	cause error
}

func (e *PluginError) Error() string { return e.Msg }

// Unwrap lets errors.As find what the message was recognised as.
func (e *PluginError) Unwrap() error { return e.cause }

// fromStatus turns a gRPC call's error into the plugin's own error: a
// PluginError with the status message, or the context's error when the
// call was cancelled or timed out. Other errors are returned as they are.
func fromStatus(err error) error {
	s, ok := status.FromError(err)
	if !ok || err == nil {
		return err
	}
	switch s.Code() {
	case codes.Canceled:
		return fmt.Errorf("%w: %s", context.Canceled, s.Message())
	case codes.DeadlineExceeded:
		return fmt.Errorf("%w: %s", context.DeadlineExceeded, s.Message())
	case codes.Unavailable:
		return fmt.Errorf("the transport plugin is unavailable: %s", s.Message())
	}
	pe := &PluginError{Msg: s.Message()}
	if nle := parseNeedsLogin(s.Message()); nle != nil {
		pe.cause = nle
	}
	return pe
}

// loginCommand ends a NeedsLoginError's text, before the server's name.
const loginCommand = "; run: mcphost auth login "

// parseNeedsLogin recognises the text of an *oauth.NeedsLoginError, at the
// start of msg or after a wrapper's "…: ", and parses it back (without its
// scopes, which the text does not carry); nil when msg is not one.
func parseNeedsLogin(msg string) *oauth.NeedsLoginError {
	i := strings.Index(msg, oauth.NeedsLoginPrefix)
	if i < 0 || (i > 0 && !strings.HasSuffix(msg[:i], ": ")) {
		return nil
	}
	rest := msg[i+len(oauth.NeedsLoginPrefix):]
	j := strings.LastIndex(rest, loginCommand)
	if j < 0 {
		return nil
	}
	return &oauth.NeedsLoginError{Reason: rest[:j], Server: rest[j+len(loginCommand):]}
}

// ExitError is how a backend process ended, as a transport that runs one
// (stdio) reports it when the connection ends: its Status in words
// ("exited with status 3", "killed by signal 9") and the last lines it
// wrote to stderr. It crosses from the plugin to the host as the close
// detail's text and is parsed back on the host's side.
type ExitError struct {
	Status string
	Stderr string // the last lines, joined with " | "; may be empty
}

const lastStderr = "; last stderr: "

func (e *ExitError) Error() string {
	if e.Stderr == "" {
		return e.Status
	}
	return e.Status + lastStderr + e.Stderr
}

// exitPrefixes start every ExitError's Status.
var exitPrefixes = []string{"exited with status ", "killed by signal "}

// closedError is the error of a connection the plugin ended with detail:
// ErrClosed, wrapping an ExitError or an *oauth.NeedsLoginError when detail
// is one.
func closedError(detail string) error {
	if nle := parseNeedsLogin(detail); nle != nil {
		return fmt.Errorf("%w: %w", ErrClosed, nle)
	}
	for _, p := range exitPrefixes {
		if strings.HasPrefix(detail, p) {
			status, stderr, _ := strings.Cut(detail, lastStderr)
			return fmt.Errorf("%w: %w", ErrClosed, &ExitError{Status: status, Stderr: stderr})
		}
	}
	return fmt.Errorf("%w: %s", ErrClosed, detail)
}

// reasoner is an error that gives its own Reason.
type reasoner interface {
	error
	Reason() string
}

// Reason is err as an operator reads it: the plugin's or the backend's own
// words, without the chain of wrappers around them ("open: …", "send:
// backend connection closed: …").
func Reason(err error) string {
	if err == nil {
		return ""
	}
	// An error that knows its own reason (one with secrets taken out, one
	// that adds when it happened) is taken at its word.
	var r reasoner
	if errors.As(err, &r) {
		return r.Reason()
	}
	var pe *PluginError
	if errors.As(err, &pe) {
		return pe.Msg
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Error()
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ErrClosed.Error()+": "); i >= 0 {
		return msg[i+len(ErrClosed.Error())+2:]
	}
	return msg
}
