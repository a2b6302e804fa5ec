package httptransport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mcphost/mcphost/sdk/transport"
)

// openLegacy opens a legacy HTTP+SSE connection: it GETs the event stream
// and waits, for at most connect_timeout or until ctx ends, for the
// endpoint event naming the URL to POST to. The stream itself lives with
// the connection. On error the caller ends the connection.
func (c *conn) openLegacy(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(c.ctx, http.MethodGet, c.o.url.String(), nil)
	c.setHeaders(req)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	ready := make(chan error, 1)
	if !c.goAsync(func() { c.legacyStream(req, ready) }) {
		return c.closedErr()
	}
	timer := time.NewTimer(c.o.connectTimeout)
	defer timer.Stop()
	select {
	case err := <-ready:
		return err
	case <-timer.C:
		return fmt.Errorf("no endpoint event within connect_timeout (%s)", c.o.connectTimeout)
	case <-ctx.Done():
		return fmt.Errorf("waiting for the endpoint event: %w", ctx.Err())
	case <-c.done:
		return c.closedErr()
	}
}

// legacyStream reads a legacy server's event stream: first the endpoint,
// reported on ready, then messages, until the stream ends the connection.
func (c *conn) legacyStream(req *http.Request, ready chan<- error) {
	resp, err := c.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		ready <- fmt.Errorf("GET event stream: %w", err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, errorBodyLimit))
		ready <- fmt.Errorf("GET event stream: HTTP %s", resp.Status)
		return
	}
	if mt := mediaType(resp.Header); mt != "text/event-stream" {
		ready <- fmt.Errorf("GET event stream: got content type %q, not text/event-stream", mt)
		return
	}
	r := newSSEReader(resp.Body, c.limit)
	gotEndpoint := false
	for {
		ev, err := r.Next()
		if err != nil {
			if !gotEndpoint {
				ready <- fmt.Errorf("event stream ended before the endpoint event (%v)", err)
				return
			}
			if c.ctx.Err() == nil {
				c.logger.Info("event stream ended; ending the connection", "error", err)
			}
			c.end(fmt.Errorf("%w: event stream ended (%v)", transport.ErrClosed, err))
			return
		}
		switch ev.Type {
		case "endpoint":
			if gotEndpoint || ev.TooLarge {
				continue
			}
			u, err := c.resolveEndpoint(string(ev.Data))
			if err != nil {
				ready <- err
				return
			}
			c.mu.Lock()
			c.endpoint = u
			c.mu.Unlock()
			gotEndpoint = true
			ready <- nil
		case "message":
			if ev.TooLarge {
				c.logger.Warn("discarded oversized message from backend", "bytes", ev.Size, "limit", c.limit)
				continue
			}
			c.deliverBody(ev.Data, nil)
		}
	}
}

// resolveEndpoint resolves the endpoint event's URL against the stream's.
// It must stay on the same origin: the configured headers, which may carry
// credentials, go with every POST.
func (c *conn) resolveEndpoint(data string) (*url.URL, error) {
	ref, err := url.Parse(strings.TrimSpace(data))
	if err != nil {
		return nil, fmt.Errorf("endpoint event: invalid URL: %w", err)
	}
	u := c.o.url.ResolveReference(ref)
	if u.Scheme != c.o.url.Scheme || u.Host != c.o.url.Host {
		return nil, fmt.Errorf("endpoint event: %s is not on the server's origin %s://%s", safeURL(u), c.o.url.Scheme, c.o.url.Host)
	}
	return u, nil
}

// handleLegacy checks that a legacy server accepted a POST; its answer
// comes on the event stream.
func (c *conn) handleLegacy(s sent, resp *http.Response, err error) {
	if err != nil {
		c.requestFailed(s, err)
		return
	}
	if resp.StatusCode/100 != 2 {
		c.httpError(s, resp)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, errorBodyLimit))
}
