package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/host/internal/admin"
	"github.com/mcphost/mcphost/host/internal/admin/admintest"
	"github.com/mcphost/mcphost/host/internal/copies"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"github.com/mcphost/mcphost/sdk/plugintest/syncbuf"
)

const ctlToken = "ctl-test-token-9f8e7d6c5b4a"

// newCtlFake is the shared admin fake with what the ctl tests print: alpha
// running, beta failed and retried later, and only alpha's log.
func newCtlFake() *admintest.Control {
	f := admintest.New()
	f.SetServers([]admin.ServerStatus{
		{Name: "alpha", State: admin.StateRunning, Transport: "stdio", ProtocolVersion: "2025-06-18", Tools: 4, Resources: 2},
		{Name: "beta", State: admin.StateFailed, Transport: "http", Reason: "initialize timed out", Restarts: 3,
			NextAttempt: time.Now().Add(time.Hour)},
	})
	f.SetLogs(map[string][]string{"alpha": {"a1", "a2", "a3"}})
	f.ToolList, f.SessionList, f.Metrics = nil, nil, admin.MetricsSummary{}
	f.ConfigValue = admin.ConfigView{Proxy: admin.ConfigProxy{InstanceID: "node-1"}}
	f.TracingState = admin.TracingStatus{Enabled: true, Up: true}
	f.ReloadResult = admin.ReloadResult{Applied: true, Added: []string{"gamma"}, Changed: []string{"alpha"}, Unchanged: []string{"beta"},
		Partial: []admin.ReloadPartial{{Kind: admin.PartialServer, Name: "delta", Reason: "not added: Unknown plugin"},
			{Kind: admin.PartialRestart, Reason: "listeners changed; restart mcphost to apply them"}}}
	f.TraceToolFunc = func(name string, args json.RawMessage) (json.RawMessage, error) {
		if strings.Contains(string(args), `"response_id":"none"`) {
			return nil, fmt.Errorf("%w: no client response has been traced", admin.ErrNothingRecorded)
		}
		return json.RawMessage(`{"content":[{"type":"text","text":"` + name + ` ` + strings.ReplaceAll(string(args), `"`, `'`) + `"}]}`), nil
	}
	f.TraceResourceFunc = func(uri string) (json.RawMessage, error) {
		text := `{\"contexts\":[{\"context_id\":\"ctx_1\",\"quality\":-0.5,\"feedback_count\":3,\"server\":\"ex\",\"name\":\"echo\",\"summary\":\"bad\"}]}`
		return json.RawMessage(`{"contents":[{"uri":"` + uri + `","text":"` + text + `"}]}`), nil
	}
	return f
}

// refusedReload is a reload refused with one diagnostic.
var refusedReload = admin.ReloadResult{Diagnostics: []admin.Diagnostic{{Severity: "error", Summary: "Unsupported argument",
	Detail: `An argument named "comand" is not expected here.`, File: "proxy.hcl", Line: 7, Column: 3}}}

// startAdmin serves fake with the given admin options on a loopback port.
func startAdmin(t *testing.T, fake *admintest.Control, opts admin.Options) (*admin.Server, string, string) {
	t.Helper()
	opts.Addr, opts.Control = "127.0.0.1:0", fake
	srv, err := admin.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	})
	_, port, _ := net.SplitHostPort(srv.Addr())
	return srv, "http://" + srv.Addr(), port
}

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestCtl(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string // after "-admin URL"; {tokenfile} is a file holding the right token
		// token: where the right token is: "" (nowhere), "file" (the default
		// token file), "env" ($MCPHOST_ADMIN_TOKEN).
		token      string
		env        map[string]string
		wantErr    string
		wantStdout []string
		wantStderr string
		wantCalls  []string
	}{
		{name: "status", args: []string{"status"}, token: "file",
			wantStdout: []string{"NAME", "STATE", "TRANSPORT", "alpha", "running", "stdio", "2025-06-18", "beta", "failed",
				"initialize timed out", "retry in ", "instance: node-1"}},
		{name: "status needs the token on loopback too", args: []string{"status"},
			wantErr: "401 unauthorized): no admin token was sent (no token file at "},
		{name: "ui", args: []string{"ui"}, token: "file", wantStdout: []string{"{url}/#login="}},
		{name: "ui needs the token", args: []string{"ui"}, wantErr: "401 unauthorized)"},
		{name: "ui takes no arguments", args: []string{"ui", "x"}, wantErr: "invalid usage", wantStderr: "ui takes no arguments"},
		{name: "start", args: []string{"start", "beta"}, token: "file",
			wantStdout: []string{"started beta (now running)"}, wantCalls: []string{"start beta"}},
		{name: "stop", args: []string{"stop", "alpha"}, token: "env",
			wantStdout: []string{"stopped alpha (now stopped)"}, wantCalls: []string{"stop alpha"}},
		{name: "restart with -token", args: []string{"-token", ctlToken, "restart", "alpha"},
			wantStdout: []string{"restarted alpha"}, wantCalls: []string{"restart alpha"}},
		{name: "-token beats the environment", args: []string{"-token", ctlToken, "restart", "alpha"},
			env: map[string]string{"MCPHOST_ADMIN_TOKEN": "stale"}, wantCalls: []string{"restart alpha"}},
		{name: "environment beats the file", args: []string{"restart", "alpha"}, token: "file",
			env: map[string]string{"MCPHOST_ADMIN_TOKEN": "stale"}, wantErr: "refused the admin token from $MCPHOST_ADMIN_TOKEN (401"},
		{name: "-token-file", args: []string{"-token-file", "{tokenfile}", "stop", "alpha"}, wantCalls: []string{"stop alpha"}},
		{name: "missing -token-file", args: []string{"-token-file", "{dir}/nope", "stop", "alpha"}, wantErr: "read the admin token"},
		{name: "unknown server", args: []string{"restart", "nope"}, token: "file", wantErr: `not found: unknown server "nope"`},
		{name: "no token", args: []string{"restart", "alpha"},
			wantErr: "401 unauthorized): no admin token was sent (no token file at "},
		{name: "wrong token", args: []string{"-token", "wrong", "reload"},
			wantErr: "refused the admin token from -token (401 unauthorized)"},
		{name: "reload", args: []string{"reload"}, token: "file",
			wantStdout: []string{"configuration reloaded in part", "added:     gamma", "removed:   -", "changed:   alpha", "unchanged: beta",
				"plugins:   -", "not applied (server delta): not added: Unknown plugin", "needs a restart: listeners changed"},
			wantCalls: []string{"reload"}},
		{name: "logs", args: []string{"logs", "alpha", "-n", "2"}, token: "file", wantStdout: []string{"a2\na3\n"}},
		{name: "logs flag first", args: []string{"logs", "-n", "1", "alpha"}, token: "env", wantStdout: []string{"a3\n"}},
		{name: "logs unknown server", args: []string{"logs", "nope"}, token: "file", wantErr: `not found: unknown server "nope"`},
		{name: "logs bad -n", args: []string{"logs", "alpha", "-n", "20000"}, wantErr: "invalid usage", wantStderr: "-n must be from 0 to 10000"},
		{name: "logs without name", args: []string{"logs", "-n", "3"}, wantErr: "invalid usage"},
		{name: "start without name", args: []string{"start"}, wantErr: "invalid usage", wantStderr: "start takes one server name"},
		{name: "unknown command", args: []string{"explode"}, wantErr: "invalid usage", wantStderr: `unknown ctl command "explode"`},
		{name: "no command", args: nil, wantErr: "invalid usage", wantStderr: "usage: mcphost ctl"},
		{name: "help", args: []string{"help"}, wantStdout: []string{"usage: mcphost ctl", "-token-file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := newCtlFake()
			_, url, port := startAdmin(t, fake, admin.Options{Token: ctlToken})
			dir := t.TempDir()
			env := map[string]string{"XDG_RUNTIME_DIR": filepath.Join(dir, "xdg")}
			for k, v := range tt.env {
				env[k] = v
			}
			switch tt.token {
			case "file":
				writeToken(t, admin.DefaultTokenFile(port, envOf(env)))
			case "env":
				env["MCPHOST_ADMIN_TOKEN"] = ctlToken
			}
			tokenFile := filepath.Join(dir, "elsewhere.token")
			writeToken(t, tokenFile)
			args := []string{"-admin", url}
			for _, a := range tt.args {
				args = append(args, strings.NewReplacer("{tokenfile}", tokenFile, "{dir}", dir).Replace(a))
			}
			var stdout, stderr bytes.Buffer
			err := ctlMain(context.Background(), args, &stdout, &stderr, envOf(env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q\nstderr: %s", err, tt.wantErr, stderr.String())
				}
			} else if err != nil {
				t.Fatalf("err = %v\nstderr: %s", err, stderr.String())
			}
			for _, want := range tt.wantStdout {
				want = strings.ReplaceAll(want, "{url}", url)
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, stderr.String())
			}
			if got := fake.Calls(); !slices.Equal(got, tt.wantCalls) {
				t.Errorf("calls = %q, want %q", got, tt.wantCalls)
			}
			if err != nil && strings.Contains(err.Error(), ctlToken) {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
}

func writeToken(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(ctlToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCtlReloadRefused(t *testing.T) {
	t.Parallel()
	fake := newCtlFake()
	fake.ReloadResult = refusedReload
	_, url, _ := startAdmin(t, fake, admin.Options{Token: ctlToken})
	var stdout, stderr bytes.Buffer
	err := ctlMain(context.Background(), []string{"-admin", url, "-token", ctlToken, "reload"}, &stdout, &stderr, envOf(nil))
	if err == nil || !strings.Contains(err.Error(), "running configuration is unchanged") {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(stderr.String(), `proxy.hcl:7:3: error: Unsupported argument; An argument named "comand"`) {
		t.Errorf("diagnostics not printed: %q", stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q", stdout.String())
	}
}

// TestCtlGeneratedToken: mcphost generated the token and wrote it to its
// file; ctl finds it there.
func TestCtlGeneratedToken(t *testing.T) {
	t.Parallel()
	fake := newCtlFake()
	path := filepath.Join(t.TempDir(), "admin.token")
	srv, url, _ := startAdmin(t, fake, admin.Options{TokenFile: path})
	if srv.TokenFile() != path {
		t.Fatalf("token file = %q", srv.TokenFile())
	}
	var stdout, stderr bytes.Buffer
	if err := ctlMain(context.Background(), []string{"-admin", url, "-token-file", path, "restart", "alpha"}, &stdout, &stderr, envOf(nil)); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !slices.Equal(fake.Calls(), []string{"restart alpha"}) {
		t.Errorf("calls = %q", fake.Calls())
	}
}

func TestCtlConnectionRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var stdout, stderr bytes.Buffer
	err = ctlMain(context.Background(), []string{"-admin", addr, "status"}, &stdout, &stderr, envOf(nil))
	want := fmt.Sprintf("is mcphost running with an admin listener at http://%s?", addr)
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v, want one containing %q", err, want)
	}
}

func TestCtlNotAnAdminListener(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.NotFoundHandler())
	defer ts.Close()
	var stdout, stderr bytes.Buffer
	err := ctlMain(context.Background(), []string{"-admin", ts.URL, "status"}, &stdout, &stderr, envOf(nil))
	if err == nil || !strings.Contains(err.Error(), "404 Not Found") || !strings.Contains(err.Error(), "an mcphost admin listener?") {
		t.Fatalf("err = %v", err)
	}
}

func TestCtlBadURL(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	err := ctlMain(context.Background(), []string{"-admin", "ftp://x", "status"}, &stdout, &stderr, envOf(nil))
	if err == nil || !strings.Contains(err.Error(), "not an http:// or https:// URL") {
		t.Fatalf("err = %v", err)
	}
}

func TestCtlPlainHTTPWarning(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	// 192.0.2.0/24 is never routed (TEST-NET-1): only the warning matters.
	c, err := newCtlClient("http://192.0.2.1:3001", ctlToken, "", envOf(nil), &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if c.base != "http://192.0.2.1:3001" || !strings.Contains(stderr.String(), "unencrypted") {
		t.Errorf("base = %q, stderr = %q", c.base, stderr.String())
	}
	stderr.Reset()
	if _, err := newCtlClient("127.0.0.1:3001/api/v1/", ctlToken, "", envOf(nil), &stderr); err != nil || stderr.Len() != 0 {
		t.Errorf("loopback: %v %q", err, stderr.String())
	}
}

// printed waits until the command under test has printed want: its output is
// the fact the test checks.
func printed(t *testing.T, w *syncbuf.Buffer, want string) {
	t.Helper()
	poll.Within(t, 10*time.Second, fmt.Sprintf("output with %q", want), func() error {
		if out := w.String(); !strings.Contains(out, want) {
			return fmt.Errorf("output so far: %q", out)
		}
		return nil
	})
}

func TestCtlLogsFollow(t *testing.T) {
	t.Parallel()
	for _, end := range []string{"interrupt", "server closes"} {
		t.Run(end, func(t *testing.T) {
			t.Parallel()
			fake := newCtlFake()
			srv, url, _ := startAdmin(t, fake, admin.Options{Token: ctlToken})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stdout, stderr := &syncbuf.Buffer{}, &syncbuf.Buffer{}
			done := make(chan error, 1)
			go func() {
				done <- ctlMain(ctx, []string{"-admin", url, "-token", ctlToken, "logs", "alpha", "-f", "-n", "1"}, stdout, stderr, envOf(nil))
			}()
			printed(t, stdout, "a3\n")
			fake.WriteLog("alpha", "live line")
			fake.WriteLog("alpha", "two\nlines")
			printed(t, stdout, "a3\nlive line\ntwo\nlines\n")
			if end == "interrupt" {
				cancel()
			} else {
				closeCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
				defer stop()
				if err := srv.Close(closeCtx); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("err = %v, stderr: %s", err, stderr.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("ctl logs -f did not end")
			}
			if strings.Contains(stdout.String(), "a2") {
				t.Errorf("printed more than -n 1 old lines: %q", stdout.String())
			}
		})
	}
}

// TestCtlCommand goes through the top-level command switch.
func TestCtlCommand(t *testing.T) {
	t.Parallel()
	fake := newCtlFake()
	_, url, _ := startAdmin(t, fake, admin.Options{Token: ctlToken})
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"ctl", "-admin", url, "-token", ctlToken, "stop", "beta"}, strings.NewReader(""), &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if stdout.String() != "stopped beta (now stopped)\n" {
		t.Errorf("stdout = %q", stdout.String())
	}
	stdout.Reset()
	if err := run(context.Background(), []string{"help"}, strings.NewReader(""), &stdout, &stderr); err != nil ||
		!strings.Contains(stdout.String(), "ctl [flags] COMMAND") {
		t.Errorf("usage lacks ctl: %v %q", err, stdout.String())
	}
}

func TestTraceCommand(t *testing.T) {
	t.Parallel()
	fake := newCtlFake()
	_, base, _ := startAdmin(t, fake, admin.Options{Token: ctlToken})
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"response"}, []string{"mcp__proxy__tracing__get_trace", "'response_id':'latest'", "'format':'tree'"}},
		{[]string{"response", "resp_1", "-format", "compact"}, []string{"'response_id':'resp_1'", "'format':'compact'"}},
		{[]string{"context", "ctx_1"}, []string{"get_evolution_history", "query_context_impact"}},
		{[]string{"deprecated"}, []string{"CONTEXT", "QUALITY", "ctx_1", "-0.500", "ex echo", "bad"}},
		{[]string{"feedback", "latest", "-1", "not", "useful"}, []string{"submit_feedback", "'score':-1", "'text':'not useful'"}},
	}
	for _, tc := range tests {
		var stdout, stderr bytes.Buffer
		err := runTrace(context.Background(), append([]string{"-admin", base, "-token", ctlToken}, tc.args...), &stdout, &stderr)
		if err != nil {
			t.Fatalf("trace %v: %v\n%s", tc.args, err, stderr.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(stdout.String(), w) {
				t.Errorf("trace %v: output lacks %q:\n%s", tc.args, w, stdout.String())
			}
		}
	}
	// Nothing recorded: a plain message, not an HTTP status.
	var stdout bytes.Buffer
	err := runTrace(context.Background(), []string{"-admin", base, "-token", ctlToken, "response", "none"}, &stdout, io.Discard)
	if err == nil || err.Error() != "nothing recorded yet: no client response has been traced" {
		t.Errorf("trace response with nothing recorded: %v (stdout %q)", err, stdout.String())
	}
	var stderr bytes.Buffer
	if err := runTrace(context.Background(), []string{"-admin", base, "-token", ctlToken, "feedback", "x", "3"}, io.Discard, &stderr); err == nil {
		t.Fatal("a score outside [-1, 1] was accepted")
	}
}

// TestCtlCopies: status lists the copies registered beside the config, and
// -copy PID (or -admin unix:PATH) talks to one over its socket, with no
// token.
func TestCtlCopies(t *testing.T) {
	t.Parallel()
	fake := newCtlFake()
	srv, _, _ := startAdmin(t, fake, admin.Options{Token: ctlToken})
	sock := filepath.Join(t.TempDir(), "copy.sock")
	if err := srv.StartSocket(sock); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "proxy.hcl")
	reg, err := registryOf(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g, err := reg.Register(copies.Entry{Mode: copies.ModeStdio, Config: cfg, AdminSocket: sock, Clients: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Remove() })
	pid := fmt.Sprint(os.Getpid())
	tests := []struct {
		name    string
		args    []string
		want    []string
		wantErr string
	}{
		{"status of a copy", []string{"-config", cfg, "-copy", pid, "status"},
			[]string{"copies of mcphost running from " + cfg, pid + "  stdio", "unix:" + sock, "servers of the copy at unix:" + sock, "alpha"}, ""},
		{"restart through the socket, no token", []string{"-config", cfg, "-copy", pid, "restart", "alpha"},
			[]string{"restarted alpha"}, ""},
		{"-admin unix:PATH", []string{"-admin", "unix:" + sock, "status"}, []string{"alpha", "beta"}, ""},
		{"unknown copy", []string{"-config", cfg, "-copy", "999999999", "status"}, nil, "no copy of mcphost with pid 999999999"},
		{"another config has no copies", []string{"-config", filepath.Join(t.TempDir(), "proxy.hcl"), "-copy", pid, "status"}, nil, "no copy of mcphost with pid"},
		{"-admin and -copy", []string{"-admin", "unix:" + sock, "-copy", pid, "status"}, nil, "invalid usage"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := ctlMain(t.Context(), tc.args, &stdout, &stderr, envOf(nil))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q\n%s", err, tc.wantErr, stderr.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, stdout.String())
				}
			}
		})
	}
}
