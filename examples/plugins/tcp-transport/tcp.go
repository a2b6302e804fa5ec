package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/mcphost/mcphost/sdk"
	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/transport"
)

// Transport dials one TCP connection per backend. base.Described answers
// Info, Schema and Validate from the info and the config block.
type Transport struct {
	base.Described
}

var _ transport.Transport = (*Transport)(nil)

// New returns the transport.
func New() *Transport {
	return &Transport{Described: base.DescribeInstance(base.InfoResponse{
		Name: "tcp", Kind: base.KindTransport, Version: "0.1.0", APIMinor: transport.APIMinor,
		Description: "Newline-delimited JSON-RPC over a TCP connection.",
	}, instance)}
}

// instance is the `transport "tcp" {}` block: its schema, its checks and
// its decoder, built once.
var instance = base.NewBlock(checkConfig)

// config is one backend's `transport "tcp" {}` block: the tags give its
// schema and the checks of its types; checkConfig adds the rest.
type config struct {
	Address     string        `json:"address" config:"required" doc:"host:port of the MCP server."`
	DialTimeout base.Duration `json:"dial_timeout" config:"positive" default:"5s" doc:"How long to wait for the connection, as a duration such as \"5s\" (default 5s)."`
	// Sensitive: mcphost never shows it (admin API, logs, errors,
	// diagnostics).
	PresharedKey string `json:"preshared_key" config:"sensitive" doc:"A key sent as the connection's first line, before any message, for a server (or a gateway in front of it) that checks one."`
}

func checkConfig(c config) (config, []base.Diagnostic) {
	var diags []base.Diagnostic
	if strings.TrimSpace(c.Address) != "" {
		if _, port, err := net.SplitHostPort(c.Address); err != nil || port == "" {
			detail := "address must be host:port."
			if err != nil {
				detail = err.Error()
			}
			diags = append(diags, base.Error("address", "Invalid address", detail))
		}
	}
	if strings.ContainsAny(c.PresharedKey, "\r\n") {
		diags = append(diags, base.Error("preshared_key", "Invalid preshared_key", "preshared_key must be one line (it is sent as the connection's first line)."))
	}
	return c, diags
}

func (*Transport) Open(ctx context.Context, req transport.OpenRequest) (transport.OpenResponse, error) {
	cfg, diags := instance.Decode(req.Config)
	if len(diags) > 0 {
		return transport.OpenResponse{}, fmt.Errorf("tcp %s: %s: %s", req.Name, diags[0].Summary, diags[0].Detail)
	}
	limit := req.MaxMessageBytes
	if limit <= 0 {
		limit = sdk.DefaultMaxMessageBytes
	}
	d := net.Dialer{Timeout: cfg.DialTimeout.D()}
	// ctx only bounds the dial; the connection outlives the Open call.
	nc, err := d.DialContext(ctx, "tcp", cfg.Address)
	if err != nil {
		return transport.OpenResponse{}, fmt.Errorf("tcp %s: %w", req.Name, err)
	}
	if cfg.PresharedKey != "" {
		_ = nc.SetWriteDeadline(time.Now().Add(cfg.DialTimeout.D()))
		_, err := io.WriteString(nc, cfg.PresharedKey+"\n")
		_ = nc.SetWriteDeadline(time.Time{})
		if err != nil {
			_ = nc.Close()
			return transport.OpenResponse{}, fmt.Errorf("tcp %s: send the preshared key: %w", req.Name, err)
		}
	}
	c := &conn{nc: nc, limit: limit, sendSem: make(chan struct{}, 1), msgs: make(chan []byte), closing: make(chan struct{})}
	go c.read()
	return transport.OpenResponse{Conn: c}, nil
}

// conn is one socket. A single reader goroutine owns the read side, so that
// a Recv abandoned through its ctx never leaves half a message consumed.
type conn struct {
	nc    net.Conn
	limit int
	// sendSem lets one Send write at a time.
	sendSem chan struct{}

	// msgs is closed after recvErr is set, when the socket's read side ends.
	msgs    chan []byte
	recvErr error

	closing   chan struct{}
	closeOnce sync.Once
}

func (c *conn) read() {
	r := jsonrpc.NewLineReader(c.nc, c.limit)
	for {
		line, err := r.Next()
		if errors.Is(err, jsonrpc.ErrTooLarge) {
			// An oversized line is skipped rather than failing the connection.
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				c.recvErr = fmt.Errorf("%w: server closed the connection", transport.ErrClosed)
			} else {
				c.recvErr = fmt.Errorf("%w: %v", transport.ErrClosed, err)
			}
			close(c.msgs)
			return
		}
		select {
		case c.msgs <- line:
		case <-c.closing:
		}
	}
}

func (c *conn) Send(ctx context.Context, msg []byte) error {
	msg, err := transport.PrepareSend(msg, c.limit) // within the limit, on one line
	if err != nil {
		return err
	}
	// One Send at a time; one waiting for its turn gives up with its ctx.
	select {
	case c.sendSem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("send: %w", ctx.Err())
	}
	defer func() { <-c.sendSem }()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	// A write blocked on a server that stopped reading cannot see ctx.
	finish := transport.WakeOnDone(ctx, c.nc.SetWriteDeadline)
	bufs := net.Buffers{msg, []byte{'\n'}} // one writev, no copy of msg
	n, err := bufs.WriteTo(c.nc)
	woke := finish()
	switch {
	case err == nil:
		return nil
	case n == 0 && woke:
		return fmt.Errorf("send: %w", ctx.Err())
	case n > 0:
		// Half a line cannot be taken back: end the connection.
		_ = c.nc.Close()
	}
	return fmt.Errorf("send: %w: %v", transport.ErrClosed, err)
}

func (c *conn) Recv(ctx context.Context) ([]byte, error) {
	select {
	case m, ok := <-c.msgs:
		if !ok {
			return nil, c.recvErr
		}
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close closes the socket; the server sees EOF. Later calls do nothing.
func (c *conn) Close(context.Context) error {
	var err error
	c.closeOnce.Do(func() {
		close(c.closing)
		err = c.nc.Close()
	})
	return err
}
