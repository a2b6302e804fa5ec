package oauth

import (
	"errors"
	"io"
	"net/http"
)

// maxReplays bounds how often one request is sent again after a
// challenge: once for a new token, once more for a step-up.
const maxReplays = 2

// Transport is an http.RoundTripper that sends the server's access token
// and, on a 401 or 403 challenge, calls Client.Challenged and sends the
// request again (a bounded number of times; requests whose body cannot be
// replayed are not retried). A request that carries its own Authorization
// header is sent as it is.
type Transport struct {
	Base   http.RoundTripper
	Client *Client
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.Client == nil || t.Client.settings.OAuth == Off || req.Header.Get("Authorization") != "" {
		return t.base().RoundTrip(req)
	}
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		out := req.Clone(ctx)
		if attempt > 0 && req.Body != nil && req.Body != http.NoBody {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			out.Body = body
		}
		token, err := t.Client.Token(ctx)
		var nle *NeedsLoginError
		switch {
		case err == nil:
		case errors.As(err, &nle) && t.Client.settings.SignIn == SignInBrowser:
			// Send it without: the server's challenge leads to a sign-in.
		default:
			closeBody(req)
			return nil, err
		}
		if token != "" {
			out.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := t.base().RoundTrip(out)
		if err != nil {
			return nil, err
		}
		if !challenging(resp) || attempt >= maxReplays || (req.Body != nil && req.Body != http.NoBody && req.GetBody == nil) {
			return resp, nil
		}
		cerr := t.Client.Challenged(ctx, resp)
		drain(resp)
		if cerr != nil {
			return nil, cerr
		}
	}
}

// challenging reports whether resp asks for (more) authorization.
func challenging(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return true
	case http.StatusForbidden:
		ch, ok := bearerChallenge(resp.Header)
		return ok && ch.params["error"] == "insufficient_scope"
	}
	return false
}

// drain reads a little of a response that is answered by a replay, so the
// connection can be reused, and closes it.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
