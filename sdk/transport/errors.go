package transport

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// PluginError is an error a transport plugin returned (from Open, say),
// decoded by the gRPC client: the plugin's own words, without gRPC's
// wording around them.
type PluginError struct {
	Msg string
}

func (e *PluginError) Error() string { return e.Msg }

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
	return &PluginError{Msg: s.Message()}
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
// ErrClosed, wrapping an ExitError when detail is one.
func closedError(detail string) error {
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
