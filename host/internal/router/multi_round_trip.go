package router

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/translator"
)

// Multi round-trip requests (MRTR) replace server→client requests in
// 2026-07-28. The proxy bridges both ways:
//
//   - A 2026-07-28 backend answers a legacy client's call with an
//     input-required result: the proxy asks the client each input request
//     as a real server→client request, then retries the call at the
//     backend with the answers (fulfilInput).
//   - An initialize-era backend sends a server→client request during a
//     2026-07-28 client's call: the proxy answers the call with an
//     input-required result and keeps the backend's call open (parked);
//     the client's retry carries the answer to the backend and takes over
//     the call (resumeParked).

// errNoForm: a request that the client's protocol version cannot express.
var errNoForm = errors.New("no form of the request")

// declined is the elicitation answer of a client that will not fill the form.
const declined = `{"action":"decline"}`

// noFormAnswer is what the proxy answers, in the client's place, to a
// server→client request the client's version cannot express: an
// elicitation is declined, anything else refused.
func noFormAnswer(id []byte, method, version string) []byte {
	if method == "elicitation/create" {
		return jsonrpc.Result(id, []byte(declined))
	}
	return jsonrpc.Error(id, jsonrpc.CodeMethodNotFound, "mcphost: "+method+" has no form in the client's protocol "+version, nil)
}

// maxInputRounds bounds the input-required rounds of one call, as the
// SDKs do.
const maxInputRounds = 10

// isInputRequired says whether a backend response asks for input.
func isInputRequired(msg []byte) bool {
	t, _ := jsonrpc.GetString(msg, "result.resultType")
	return t == "input_required"
}

// fulfilInput asks a legacy client for each input a 2026-07-28 backend
// requested, then retries the call with the answers.
func (b *backend) fulfilInput(p *pending, msg []byte) {
	s := p.session
	fail := func(code int, text string) {
		b.observeFinished(p, OutcomeError, nil, code)
		b.finish(p, nil, code, text)
	}
	if p.rounds >= maxInputRounds {
		fail(jsonrpc.CodeInternalError, fmt.Sprintf("server %q asked for input more than %d times", b.spec.Name, maxInputRounds))
		return
	}
	result := gjson.GetBytes(msg, "result")
	var answers bytes.Buffer
	answers.WriteByte('{')
	var failure error
	result.Get("inputRequests").ForEach(func(key, req gjson.Result) bool {
		method := req.Get("method").Str
		params := []byte(req.Get("params").Raw)
		if len(params) == 0 {
			params = []byte(`{}`)
		}
		if !s.clientSupports(method, jsonrpc.Request(jsonrpc.Int(0), method, params)) {
			failure = fmt.Errorf("server %q needs %s, which the client did not declare", b.spec.Name, method)
			return false
		}
		ctx, cancel := context.WithTimeout(b.router.ctx, b.spec.Timeout)
		answer, err := s.ask(ctx, p.reply, method, params)
		cancel()
		if errors.Is(err, errNoForm) && method == "elicitation/create" {
			answer, err = []byte(declined), nil
		}
		if err != nil {
			failure = fmt.Errorf("%s for server %q: %w", method, b.spec.Name, err)
			return false
		}
		if answers.Len() > 1 {
			answers.WriteByte(',')
		}
		answers.Write(jsonrpc.String(key.Str))
		answers.WriteByte(':')
		answers.Write(answer)
		return true
	})
	if failure != nil {
		fail(jsonrpc.CodeInternalError, failure.Error())
		return
	}
	answers.WriteByte('}')
	retry, err := jsonrpc.Set(p.request, "params.inputResponses", answers.Bytes())
	if err == nil {
		if state := result.Get("requestState"); state.Exists() {
			retry, err = jsonrpc.Set(retry, "params.requestState", []byte(state.Raw))
		} else {
			retry, err = jsonrpc.Delete(retry, "params.requestState")
		}
	}
	if err != nil {
		fail(jsonrpc.CodeInternalError, "mcphost: "+err.Error())
		return
	}
	b.resend(p, retry)
}

// resend sends a retry of p's call under a new id (MRTR requires one).
func (b *backend) resend(p *pending, retry []byte) {
	id := b.conn.nextID.Add(1)
	idRaw := jsonrpc.Int(id)
	np := &pending{
		session: p.session, reply: p.reply, clientID: p.clientID, clientToken: p.clientToken,
		method: p.method, started: id, start: p.start, rounds: p.rounds + 1, activity: p.activity,
	}
	var err error
	if retry, err = jsonrpc.Set(retry, "id", idRaw); err == nil && p.clientToken != nil {
		retry, err = jsonrpc.Set(retry, "params._meta.progressToken", idRaw)
	}
	if err != nil {
		b.observeFinished(np, OutcomeError, nil, jsonrpc.CodeInternalError)
		b.finish(np, nil, jsonrpc.CodeInternalError, "mcphost: "+err.Error())
		return
	}
	np.request = retry
	b.sup.mu.Lock()
	b.conn.mu.Lock()
	if b.sup.state != StateRunning || b.conn.conn == nil {
		b.conn.mu.Unlock()
		b.sup.mu.Unlock()
		b.observeFinished(np, OutcomeUnavailable, nil, jsonrpc.CodeBackendUnavailable)
		b.finish(np, nil, jsonrpc.CodeBackendUnavailable, fmt.Sprintf("server %q is not available", b.spec.Name))
		return
	}
	b.conn.pending[id] = np
	np.timer = time.AfterFunc(b.spec.Timeout, func() { b.timeout(id) })
	b.conn.mu.Unlock()
	b.sup.mu.Unlock()
	np.session.requests.set(np.clientID, b, id)
	ctx, cancel := b.requestContext(time.Now())
	defer cancel()
	if err := b.send(ctx, retry); err != nil {
		if np := b.conn.drop(id); np != nil {
			b.observeFinished(np, OutcomeUnavailable, nil, jsonrpc.CodeBackendUnavailable)
			b.finish(np, nil, jsonrpc.CodeBackendUnavailable, fmt.Sprintf("server %q: %v", b.spec.Name, err))
		}
	}
}

// ask sends the client a server→client request on the proxy's own behalf
// and waits for the result.
func (s *Session) ask(ctx context.Context, reply replyStream, method string, params []byte) ([]byte, error) {
	proxyID := s.nextOut.Add(1)
	answer := make(chan []byte, 1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("the client session closed")
	}
	s.serverReqs[proxyID] = serverRequest{answer: answer, method: method}
	s.mu.Unlock()
	msg := jsonrpc.Request(jsonrpc.Int(proxyID), method, params)
	noForm := make(chan struct{})
	s.deliverIn(ModernVersion, reply, method, translator.KindRequest, msg, func() {
		s.forgetServerRequest(proxyID)
		close(noForm)
	})
	select {
	case <-noForm:
		return nil, fmt.Errorf("%w: %s in protocol %s", errNoForm, method, s.ProtocolVersion())
	case resp := <-answer:
		if e := gjson.GetBytes(resp, "error"); e.Exists() {
			return nil, fmt.Errorf("the client answered with error %d: %s", e.Get("code").Int(), e.Get("message").Str)
		}
		res := jsonrpc.Get(resp, "result")
		if res == nil {
			return nil, errors.New("the client's answer has no result")
		}
		return res, nil
	case <-ctx.Done():
		s.forgetServerRequest(proxyID)
		s.deliver(reply, jsonrpc.Notification("notifications/cancelled",
			[]byte(`{"requestId":`+string(jsonrpc.Int(proxyID))+`,"reason":"timed out"}`)))
		return nil, fmt.Errorf("no answer from the client: %w", ctx.Err())
	}
}

func (s *Session) forgetServerRequest(id int64) {
	s.mu.Lock()
	delete(s.serverReqs, id)
	s.mu.Unlock()
}

// parkedCall is a legacy backend's call whose server→client request went
// to a 2026-07-28 client as an input-required result.
type parkedCall struct {
	backend *backend
	// id is the backend id of the call; serverID the backend's id of its
	// server→client request.
	id       int64
	serverID []byte
	method   string
	at       time.Time
	// final is the call's answer if it came while parked.
	final []byte
}

// parkedCalls are the calls waiting for a client's retry, by the id in
// their requestState.
type parkedCalls struct {
	mu    sync.Mutex
	calls map[string]*parkedCall
}

// parkedExpiry is how long a parked call waits for the client's retry.
const parkedExpiry = 10 * time.Minute

// park answers p's client with an input-required result carrying the
// backend's server→client request, keeping the backend's call open.
func (b *backend) park(p *pending, env jsonrpc.Envelope, msg []byte) {
	s := p.session
	out, _, err := b.router.translate(s, b.protocolVersion(), ModernVersion, translator.ToClient, env.Method, translator.KindRequest, msg)
	if err != nil {
		// Not shown to the client in another revision: the backend's
		// request fails, and its call goes on without the input.
		b.sendAsync(jsonrpc.Error(env.ID, jsonrpc.CodeInternalError, "mcphost: "+err.Error(), nil))
		return
	}
	if out == nil {
		out = msg
	}
	params := jsonrpc.Get(out, "params")
	if params == nil {
		params = []byte(`{}`)
	}
	callID := newParkedCallID()
	now := time.Now()
	b.conn.mu.Lock()
	if b.conn.pending[p.started] != p || p.parked.Load() != nil {
		b.conn.mu.Unlock()
		b.sendAsync(jsonrpc.Error(env.ID, jsonrpc.CodeInternalError, "mcphost: the client's request is not open for input", nil))
		return
	}
	p.parked.Store(&callID)
	reply, clientID := p.reply, p.clientID
	binding := requestBinding(p.method, p.clientParams)
	b.conn.mu.Unlock()
	t := &b.router.parked
	t.mu.Lock()
	for k, c := range t.calls {
		if now.Sub(c.at) > parkedExpiry {
			delete(t.calls, k)
		}
	}
	t.calls[callID] = &parkedCall{backend: b, id: p.started, serverID: env.ID, method: env.Method, at: now}
	t.mu.Unlock()
	token := sealState(b.router.opts.RequestStateKey, b.router.opts.InstanceID,
		stateClaims{Call: callID, Expires: now.Add(parkedExpiry).Unix(), Binding: binding})
	s.requests.end(clientID)
	result := `{"resultType":"input_required","inputRequests":{"input":{"method":` + string(jsonrpc.String(env.Method)) +
		`,"params":` + string(params) + `}},"requestState":` + string(jsonrpc.String(token)) + `}`
	s.respond(reply, jsonrpc.Result(clientID, []byte(result)))
}

// stashParked keeps the answer of a parked call for the client's retry.
// It reports false when p is not parked.
func (b *backend) stashParked(p *pending, msg []byte) bool {
	callID := p.parked.Load()
	if callID == nil {
		return false
	}
	t := &b.router.parked
	t.mu.Lock()
	if c := t.calls[*callID]; c != nil {
		c.final = msg
	}
	t.mu.Unlock()
	return true
}

// resumeParked handles a 2026-07-28 client's retry of this instance's
// parked call: the answer goes to the backend's server→client request and
// the retry takes over the call. It reports false when callID names no
// parked call.
func (s *Session) resumeParked(reply replyStream, id, params []byte, callID string) bool {
	t := &s.router.parked
	t.mu.Lock()
	c := t.calls[callID]
	delete(t.calls, callID)
	t.mu.Unlock()
	if c == nil {
		return false
	}
	b := c.backend
	if c.final != nil {
		out, err := jsonrpc.Set(c.final, "id", id)
		if err != nil {
			out = jsonrpc.Error(id, jsonrpc.CodeInternalError, "mcphost: "+err.Error(), nil)
		}
		s.respond(reply, out)
		return true
	}
	b.conn.mu.Lock()
	p := b.conn.pending[c.id]
	if p != nil {
		p.session, p.reply, p.clientID = s, reply, id
		p.parked.Store(nil)
		if tok := gjson.GetBytes(params, "_meta.progressToken"); tok.Exists() {
			p.clientToken = []byte(tok.Raw)
		}
		if p.timer != nil {
			p.timer.Reset(b.spec.Timeout)
		}
	}
	b.conn.mu.Unlock()
	if p == nil {
		s.respond(reply, jsonrpc.Error(id, jsonrpc.CodeInvalidParams, "mcphost: the request this input was for has ended", nil))
		return true
	}
	s.requests.set(id, b, c.id)
	answer := gjson.GetBytes(params, "inputResponses.input")
	ctx, cancel := b.requestContext(time.Now())
	defer cancel()
	if answer.Exists() {
		_ = b.sendIn(ctx, s, ModernVersion, c.method, translator.KindResponse, jsonrpc.Result(c.serverID, []byte(answer.Raw)))
	} else {
		_ = b.send(ctx, jsonrpc.Error(c.serverID, jsonrpc.CodeInvalidParams, "the client gave no answer", nil))
	}
	return true
}
