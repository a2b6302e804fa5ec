package listen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// Instances behind one load balancer forward a 2026-07-28 retry to the
// instance that parked its call (router.PeerForwarder). A forwarded POST
// carries PeerHeader, "<sender>.<unix seconds>.<base64url HMAC-SHA256>"
// over the sender, the time and the body, under the shared
// request_state_key: the receiver checks it, and answers the retry from
// its own parked calls only, never forwarding it again.

// PeerHeader authenticates a request forwarded by another instance.
const PeerHeader = "Mcphost-Peer"

// peerMAC separates peer signatures from the other uses of the key.
const peerMAC = "mcphost peer v1\n"

// peerClockSkew bounds how old (or how far ahead) a peer signature may be.
const peerClockSkew = time.Minute

// peerDialTimeout bounds connecting to a peer: one that is down must not
// hold the client's retry for the whole request timeout.
const peerDialTimeout = 5 * time.Second

func peerSignature(key []byte, sender, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(peerMAC))
	m.Write([]byte(sender + "\n" + ts + "\n"))
	m.Write(body)
	return m.Sum(nil)
}

// signPeer is the PeerHeader value for body sent by sender at now.
func signPeer(key []byte, sender string, body []byte, now time.Time) string {
	ts := strconv.FormatInt(now.Unix(), 10)
	return sender + "." + ts + "." + base64.RawURLEncoding.EncodeToString(peerSignature(key, sender, ts, body))
}

// checkPeer verifies a PeerHeader value for body; it says what is wrong,
// or "" when the request comes from a peer holding the key.
func checkPeer(key []byte, header string, body []byte, now time.Time) string {
	if len(key) == 0 {
		return "this instance takes no forwarded requests"
	}
	parts := strings.Split(header, ".")
	if len(parts) != 3 {
		return "malformed peer signature"
	}
	sent, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return "malformed peer signature"
	}
	if d := now.Sub(time.Unix(sent, 0)); d > peerClockSkew || d < -peerClockSkew {
		return "stale peer signature"
	}
	mac, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(mac, peerSignature(key, parts[0], parts[1], body)) {
		return "bad peer signature"
	}
	return ""
}

// PeerOptions configure a PeerForwarder.
type PeerOptions struct {
	// Self is this instance's id, sent with each forwarded request.
	Self string
	// Peers are the other instances' MCP endpoint URLs by instance id.
	Peers map[string]string
	// Key is the shared request_state_key.
	Key []byte
	// MaxBytes bounds a peer's answer (default 64 MiB).
	MaxBytes int
}

// PeerForwarder forwards retries to their owners over HTTP.
type PeerForwarder struct {
	opts   PeerOptions
	client *http.Client
}

// NewPeerForwarder returns a forwarder to opts.Peers.
func NewPeerForwarder(opts PeerOptions) *PeerForwarder {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 64 << 20
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil // peers are reached directly, as the load balancer reaches them
	transport.DialContext = (&net.Dialer{Timeout: peerDialTimeout}).DialContext
	return &PeerForwarder{opts: opts, client: &http.Client{Transport: transport}}
}

// Close releases idle connections to the peers.
func (f *PeerForwarder) Close() { f.client.CloseIdleConnections() }

// Forward implements router.PeerForwarder.
func (f *PeerForwarder) Forward(ctx context.Context, req router.ForwardRequest) (router.ForwardResponse, error) {
	url, ok := f.opts.Peers[req.Owner]
	if !ok {
		return router.ForwardResponse{}, router.ErrUnknownPeer
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(req.Message))
	if err != nil {
		return router.ForwardResponse{}, fmt.Errorf("peer %q: %w", req.Owner, err)
	}
	method, _ := jsonrpc.GetString(req.Message, "method")
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json, text/event-stream")
	hr.Header.Set("MCP-Protocol-Version", router.ModernVersion)
	hr.Header.Set("Mcp-Method", method)
	if path, ok := nameParam[method]; ok {
		hr.Header.Set("Mcp-Name", encodeNameHeader(gjson.GetBytes(req.Message, path).Str))
	}
	if req.Authorization != "" {
		hr.Header.Set("Authorization", req.Authorization)
	}
	hr.Header.Set(PeerHeader, signPeer(f.opts.Key, f.opts.Self, req.Message, time.Now()))
	resp, err := f.client.Do(hr)
	if err != nil {
		return router.ForwardResponse{}, fmt.Errorf("peer %q did not answer: %w", req.Owner, err)
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, int64(f.opts.MaxBytes)+1)
	if resp.StatusCode != http.StatusOK {
		return router.ForwardResponse{}, fmt.Errorf("peer %q answered HTTP %d", req.Owner, resp.StatusCode)
	}
	id := jsonrpc.Get(req.Message, "id")
	var msg []byte
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct == "text/event-stream" {
		msg, err = finalSSEResponse(body, id, f.opts.MaxBytes)
	} else {
		msg, err = io.ReadAll(body)
	}
	if err == nil && len(msg) > f.opts.MaxBytes {
		err = errors.New("the answer is too large")
	}
	if err == nil && !bytes.Equal(jsonrpc.Get(msg, "id"), id) {
		err = errors.New("the answer is not a response to the request")
	}
	if err != nil {
		return router.ForwardResponse{}, fmt.Errorf("peer %q: %w", req.Owner, err)
	}
	return router.ForwardResponse{Message: msg}, nil
}

// finalSSEResponse reads an SSE stream up to the response with the given
// id; what comes before it (progress, logs) is not relayed.
func finalSSEResponse(r io.Reader, id []byte, maxBytes int) ([]byte, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxBytes+1)
	var data bytes.Buffer
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			if data.Len() > 0 && bytes.Equal(jsonrpc.Get(data.Bytes(), "id"), id) && jsonrpc.Get(data.Bytes(), "method") == nil {
				return data.Bytes(), nil
			}
			data.Reset()
			continue
		}
		if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.Write(bytes.TrimPrefix(v, []byte(" ")))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, errors.New("the stream ended without a response")
}

// encodeNameHeader puts a name that is not plain printable ASCII into the
// =?base64?...?= form Mcp-Name uses for it (decodeHeaderValue undoes it).
func encodeNameHeader(v string) string {
	plain := !strings.HasPrefix(v, "=?base64?")
	for i := 0; plain && i < len(v); i++ {
		plain = v[i] > ' ' && v[i] <= '~'
	}
	if plain {
		return v
	}
	return "=?base64?" + base64.StdEncoding.EncodeToString([]byte(v)) + "?="
}
