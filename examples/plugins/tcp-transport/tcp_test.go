package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/plugintest"
	"github.com/mcphost/mcphost/sdk/transport"
)

// echoServer listens on 127.0.0.1:0 and answers each line as
// plugintest.Echo does, until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	return tokenEchoServer(t, "")
}

// tokenEchoServer is echoServer that, when token is set, first reads a
// line and hangs up unless it is the token.
func tokenEchoServer(t *testing.T, token string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				r := bufio.NewReader(nc)
				w := bufio.NewWriter(nc)
				if token != "" {
					if line, err := r.ReadString('\n'); err != nil || line != token+"\n" {
						return
					}
				}
				for {
					line, err := r.ReadBytes('\n')
					if len(bytes.TrimSpace(line)) > 0 {
						if resp := plugintest.Echo(line); resp != nil {
							_, _ = w.Write(append(resp, '\n'))
							if w.Flush() != nil {
								return
							}
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestConformance(t *testing.T) {
	backend := func(t *testing.T) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"address":%q}`, echoServer(t)))
	}
	t.Run("InProcess", func(t *testing.T) {
		t.Parallel()
		plugintest.TestTransport(t, func(*testing.T) transport.Transport { return New() }, backend)
	})
	t.Run("GRPC", func(t *testing.T) {
		t.Parallel()
		plugintest.TestTransport(t, func(t *testing.T) transport.Transport { return plugintest.ServeTransport(t, New()) }, backend)
	})
}

// TestSchema: the preshared key is a secret, so the host must never show it.
func TestSchema(t *testing.T) {
	t.Parallel()
	plugintest.CheckSchema(t, New(), plugintest.SchemaWant{Instance: plugintest.BlockWant{
		Attributes: []string{"address", "dial_timeout", "preshared_key"},
		Required:   []string{"address"},
		Sensitive:  []string{"preshared_key"},
	}})
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		config string
		want   string // attributes with an error
	}{
		{`{"address":"127.0.0.1:9000"}`, `[]`},
		{`{"address":"example.com:80","dial_timeout":"250ms"}`, `[]`},
		{`{"address":"[::1]:80","dial_timeout":null}`, `[]`},
		{`{}`, `["address"]`},
		{`{"address":"no-port"}`, `["address"]`},
		{`{"address":"host:"}`, `["address"]`},
		{`{"address":"h:1","dial_timeout":"later"}`, `["dial_timeout"]`},
		{`{"address":"h:1","dial_timeout":"0s"}`, `["dial_timeout"]`},
		{`{"address":"h:1","preshared_key":"one-line"}`, `[]`},
		{`{"address":"h:1","preshared_key":"two\nlines"}`, `["preshared_key"]`},
		{`[`, `[""]`},
	}
	for _, tt := range tests {
		t.Run(tt.config, func(t *testing.T) {
			t.Parallel()
			r, err := New().Validate(context.Background(), base.ValidateRequest{Config: json.RawMessage(tt.config)})
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, d := range r.Diagnostics {
				got = append(got, d.Attribute)
			}
			if fmt.Sprintf("%q", got) != tt.want {
				t.Errorf("error attributes = %v, want %s", got, tt.want)
			}
		})
	}
}

func TestOpenFailsWithoutServer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	_, err = New().Open(context.Background(), transport.OpenRequest{Name: "down", Config: json.RawMessage(fmt.Sprintf(`{"address":%q,"dial_timeout":"1s"}`, addr))})
	if err == nil {
		t.Fatal("Open succeeded against a closed port")
	}
}

// TestToken: the preshared key goes first on the connection; a server checking it
// answers, and one expecting another hangs up.
func TestToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, serverToken, token string
		wantAnswer               bool
	}{
		{name: "right token", serverToken: "pre-shared", token: "pre-shared", wantAnswer: true},
		{name: "wrong token", serverToken: "pre-shared", token: "guess"},
		{name: "no token expected", token: "", wantAnswer: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, _ := json.Marshal(map[string]string{"address": tokenEchoServer(t, tt.serverToken), "preshared_key": tt.token})
			ctx := context.Background()
			r, err := New().Open(ctx, transport.OpenRequest{Name: "tok", Config: cfg})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Conn.Close(ctx)
			if err := r.Conn.Send(ctx, []byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`)); err != nil {
				t.Fatal(err)
			}
			msg, err := r.Conn.Recv(ctx)
			if got := err == nil; got != tt.wantAnswer {
				t.Fatalf("answered = %v (%s, %v), want %v", got, msg, err, tt.wantAnswer)
			}
		})
	}
}
