package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mcphost/mcphost/host/internal/admin"
	"github.com/mcphost/mcphost/host/internal/copies"
	"github.com/mcphost/mcphost/host/internal/router"
)

const ctlUsage = `usage: mcphost ctl [-admin URL | -copy PID] [-config FILE] [-token T] [-token-file FILE] COMMAND [ARGS]

Controls a running mcphost through its admin API.

commands:
  status                  list the copies of mcphost running from the config (-config, default
                          proxy.hcl), then the backend servers of the one addressed and their state
  start NAME              start a server
  stop NAME               stop a server
  restart NAME            restart a server
  reload                  re-read the configuration and apply it
  logs NAME [-n N] [-f]   print the last N lines (default 100) of a server's log ("mcphost": the
                          host's own); -f keeps printing new lines until interrupted
  ui                      print the dashboard's address with a single-use login code (valid 60 s)
                          for a browser to open; the admin token itself never goes in a URL

Which copy: -copy PID talks to that copy of mcphost (one listed by status) over its own Unix
socket; -admin URL to the admin API at URL (http://HOST:PORT, or unix:PATH for a socket);
by default the admin address of proxy.hcl's defaults, http://127.0.0.1:3001, which the copy
run as "mcphost run" (or "run --stdio --serve") holds. Over a copy's socket no token is needed.

The admin token is, in this order: -token; $MCPHOST_ADMIN_TOKEN; the file mcphost writes when
it generates a token: $XDG_RUNTIME_DIR/mcphost/admin-PORT.token, or, without XDG_RUNTIME_DIR,
$TMPDIR/mcphost-UID/admin-PORT.token (PORT: the admin URL's port). Every request over TCP
needs it, reads included.

flags:
`

// ctlTimeout bounds every request but a followed log.
const ctlTimeout = 2 * time.Minute

func runCtl(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return ctlMain(ctx, args, stdout, stderr, os.Getenv)
}

// ctlMain is runCtl with the environment passed in (tests run in parallel
// and cannot set it).
func ctlMain(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs, c, err := adminCommand("ctl", ctlUsage, args, getenv, stderr)
	if err != nil {
		return err
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	switch cmd {
	case "status":
		if len(rest) != 0 {
			return ctlUsageError(stderr, "status takes no arguments")
		}
		return c.status(ctx, stdout)
	case "start", "stop", "restart":
		if len(rest) != 1 || rest[0] == "" {
			return ctlUsageError(stderr, cmd+" takes one server name")
		}
		return c.action(ctx, cmd, rest[0], stdout)
	case "reload":
		if len(rest) != 0 {
			return ctlUsageError(stderr, "reload takes no arguments")
		}
		return c.reload(ctx, stdout, stderr)
	case "logs":
		return c.logs(ctx, rest, stdout, stderr)
	case "ui":
		if len(rest) != 0 {
			return ctlUsageError(stderr, "ui takes no arguments")
		}
		return c.ui(ctx, stdout)
	case "help":
		fs.SetOutput(stdout)
		fmt.Fprint(stdout, ctlUsage)
		fs.PrintDefaults()
		return nil
	}
	return ctlUsageError(stderr, fmt.Sprintf("unknown ctl command %q", cmd))
}

// adminCommand parses the flags that every admin API command shares
// (-admin, -copy, -config, -token, -token-file) and returns the client; the
// command and its arguments are fs.Args().
func adminCommand(name, usageText string, args []string, getenv func(string) string, stderr io.Writer) (*flag.FlagSet, *ctlClient, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	adminURL := fs.String("admin", "http://"+admin.DefaultAddr, "the admin API's URL (unix:PATH: a copy's socket)")
	copyPID := fs.Int("copy", 0, "talk to the copy of mcphost with this process id (see status), over its socket")
	configFile := fs.String("config", "proxy.hcl", "the config file whose running copies to list and pick from")
	token := fs.String("token", "", "the admin token (default: $MCPHOST_ADMIN_TOKEN, then the token file)")
	tokenFile := fs.String("token-file", "", "read the admin token from this file (default: the file for the admin URL's port)")
	if err := fs.Parse(args); err != nil {
		return nil, nil, errUsage
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return nil, nil, errUsage
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	if explicit["admin"] && explicit["copy"] {
		fmt.Fprintf(stderr, "mcphost %s: -admin and -copy name the copy two ways; give one\n", name)
		return nil, nil, errUsage
	}
	reg, err := registryOf(*configFile)
	if err != nil {
		return nil, nil, err
	}
	target := *adminURL
	if explicit["copy"] {
		ctx, cancel := context.WithTimeout(context.Background(), ctlTimeout)
		defer cancel()
		e, ok, err := reg.Lookup(ctx, *copyPID)
		switch {
		case err != nil:
			return nil, nil, fmt.Errorf("find copy %d: %w", *copyPID, err)
		case !ok:
			return nil, nil, fmt.Errorf("no copy of mcphost with pid %d is running from the configs in %s (mcphost ctl status lists them; -config picks another config)",
				*copyPID, filepath.Dir(filepath.Dir(reg.Dir())))
		case e.AdminSocket != "":
			target = "unix:" + e.AdminSocket
		case e.AdminURL != "":
			target = e.AdminURL
		default:
			return nil, nil, fmt.Errorf("copy %d serves no admin API (admin is off in its config)", *copyPID)
		}
	}
	c, err := newCtlClient(target, *token, *tokenFile, getenv, stderr)
	if err != nil {
		return nil, nil, err
	}
	c.registry, c.defaultTarget = reg, !explicit["admin"] && !explicit["copy"]
	if abs, err := filepath.Abs(*configFile); err == nil {
		c.config = abs
	}
	return fs, c, nil
}

func ctlUsageError(stderr io.Writer, msg string) error {
	fmt.Fprintf(stderr, "mcphost ctl: %s\n\n%s", msg, ctlUsage)
	return errUsage
}

type ctlClient struct {
	base        string // scheme://host[:port], no trailing slash
	socket      string // the Unix socket dialled instead of base's host, or ""
	token       string
	tokenSource string // where the token came from, for error messages
	tokenFile   string // where it was (or would have been) read from
	http        *http.Client

	// registry lists the copies of config (an absolute path);
	// defaultTarget is set when neither -admin nor -copy chose the copy.
	registry      *copies.Registry
	config        string
	defaultTarget bool
}

// errUnreachable says that nothing answers at the admin endpoint.
var errUnreachable = errors.New("admin API unreachable")

func newCtlClient(rawURL, token, tokenFile string, getenv func(string) string, stderr io.Writer) (*ctlClient, error) {
	if path, ok := strings.CutPrefix(rawURL, "unix:"); ok {
		return newSocketClient(strings.TrimPrefix(path, "//"), token, getenv)
	}
	if !strings.Contains(rawURL, "://") {
		rawURL = "http://" + rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("-admin %q is not an http:// or https:// URL", rawURL)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	c := &ctlClient{
		base: u.Scheme + "://" + u.Host + strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v1"),
		http: &http.Client{
			// Never follow a redirect: it could carry the token elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	switch {
	case token != "":
		c.token, c.tokenSource = token, "-token"
	case getenv("MCPHOST_ADMIN_TOKEN") != "":
		c.token, c.tokenSource = strings.TrimSpace(getenv("MCPHOST_ADMIN_TOKEN")), "$MCPHOST_ADMIN_TOKEN"
	default:
		c.tokenFile = tokenFile
		if c.tokenFile == "" {
			c.tokenFile = admin.DefaultTokenFile(port, getenv)
		}
		b, err := os.ReadFile(c.tokenFile)
		switch {
		case err == nil:
			c.token, c.tokenSource = strings.TrimSpace(string(b)), c.tokenFile
		case tokenFile != "" || !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("read the admin token: %w", err)
		}
	}
	if c.token != "" && u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		fmt.Fprintf(stderr, "mcphost ctl: warning: sending the admin token unencrypted to %s\n", u.Host)
	}
	return c, nil
}

// newSocketClient talks HTTP to the admin API over a copy's Unix socket,
// which needs no token (one given by -token or $MCPHOST_ADMIN_TOKEN is sent
// all the same).
func newSocketClient(path, token string, getenv func(string) string) (*ctlClient, error) {
	if path == "" {
		return nil, errors.New("-admin unix: names no socket")
	}
	c := &ctlClient{
		// The API checks Host like on a loopback listener.
		base:   "http://localhost",
		socket: path,
		http: &http.Client{
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Transport: &http.Transport{
				DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
					var d net.Dialer
					return d.DialContext(ctx, "unix", path)
				},
			},
		},
	}
	switch {
	case token != "":
		c.token, c.tokenSource = token, "-token"
	case getenv("MCPHOST_ADMIN_TOKEN") != "":
		c.token, c.tokenSource = strings.TrimSpace(getenv("MCPHOST_ADMIN_TOKEN")), "$MCPHOST_ADMIN_TOKEN"
	}
	return c, nil
}

// where names the endpoint in messages.
func (c *ctlClient) where() string {
	if c.socket != "" {
		return "unix:" + c.socket
	}
	return c.base
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// do sends a request to the API and turns every failure into a clear error;
// a status in accept is handed back to the caller.
func (c *ctlClient) do(ctx context.Context, method, path string, accept ...int) (*http.Response, error) {
	return c.doBody(ctx, method, path, nil, accept...)
}

// doBody is do with a JSON request body (nil for none).
func (c *ctlClient) doBody(ctx context.Context, method, path string, body []byte, accept ...int) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/api/v1"+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var opErr *net.OpError
		if errors.As(err, &opErr) && opErr.Op == "dial" {
			return nil, fmt.Errorf("%w: cannot connect to %s (%v): is mcphost running with an admin listener at %s?",
				errUnreachable, c.where(), opErr.Err, c.where())
		}
		return nil, fmt.Errorf("%s %s: %w", method, req.URL, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	for _, s := range accept {
		if resp.StatusCode == s {
			return resp, nil
		}
	}
	defer resp.Body.Close()
	return nil, c.statusError(resp)
}

func (c *ctlClient) statusError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return fmt.Errorf("%s answered %s, and not in the mcphost admin API's form: is %s an mcphost admin listener?",
			c.where(), resp.Status, c.where())
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		if c.token == "" {
			where := "-token or $MCPHOST_ADMIN_TOKEN"
			if c.tokenFile != "" {
				where = fmt.Sprintf("no token file at %s, no -token and no $MCPHOST_ADMIN_TOKEN", c.tokenFile)
			}
			return fmt.Errorf("%s refused the request (401 unauthorized): no admin token was sent (%s)", c.where(), where)
		}
		return fmt.Errorf("%s refused the admin token from %s (401 unauthorized): it does not match the running mcphost's", c.where(), c.tokenSource)
	case http.StatusForbidden:
		return fmt.Errorf("%s refused the request (403 forbidden): %s", c.where(), e.Error)
	case http.StatusNotFound:
		return fmt.Errorf("not found: %s", e.Error)
	}
	return fmt.Errorf("%s: %s", resp.Status, e.Error)
}

// call sends a request and decodes the successful answer into v.
func (c *ctlClient) call(ctx context.Context, method, path string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, ctlTimeout)
	defer cancel()
	resp, err := c.do(ctx, method, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("%s %s: decode the answer: %w", method, path, err)
	}
	return nil
}

func (c *ctlClient) status(ctx context.Context, stdout io.Writer) error {
	listed, err := c.listCopies(ctx, stdout)
	if err != nil {
		return err
	}
	var list admin.ServerList
	if err := c.call(ctx, http.MethodGet, "/servers", &list); err != nil {
		if listed > 0 && c.defaultTarget && errors.Is(err, errUnreachable) {
			fmt.Fprintf(stdout, "\nno copy serves the admin API at %s; mcphost ctl -copy PID status shows one copy's servers\n", c.where())
			return nil
		}
		return err
	}
	if listed > 0 {
		fmt.Fprintf(stdout, "\nservers of the copy at %s:\n", c.where())
	}
	if len(list.Servers) == 0 {
		fmt.Fprintln(stdout, "no servers are configured")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tTRANSPORT\tPROTOCOL\tTOOLS\tPROMPTS\tRESOURCES\tTEMPLATES\tIN-FLIGHT\tRESTARTS\tDETAIL")
	for _, s := range list.Servers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", s.Name, s.State, dash(s.Transport),
			dash(s.ProtocolVersion), s.Tools, s.Prompts, s.Resources, s.Templates, s.InFlight, s.Restarts, detail(s))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var shortened []router.ShortenedName
	for _, s := range list.Servers {
		for _, n := range s.ShortenedNames {
			shortened = append(shortened, router.ShortenedName{Kind: n.Kind, Server: s.Name, Original: n.Original, Full: n.Full, Exposed: n.Exposed})
		}
	}
	if err := printShortened(stdout, shortened); err != nil {
		return err
	}
	// Which instance answered: behind a load balancer, the one to look
	// for in Mcp-Session-Id prefixes and Mcphost-Instance headers.
	var cfg admin.ConfigView
	if c.call(ctx, http.MethodGet, "/config", &cfg) == nil && cfg.Proxy.InstanceID != "" {
		fmt.Fprintf(stdout, "instance: %s\n", cfg.Proxy.InstanceID)
	}
	// Context tracing, when it is down (a proxy without the endpoint
	// says nothing).
	var tr admin.TracingStatus
	if c.call(ctx, http.MethodGet, "/tracing", &tr) == nil && tr.Enabled && !tr.Up {
		d := "tracing: down: " + tr.Reason
		if !tr.NextAttempt.IsZero() {
			d += fmt.Sprintf(" (%d failed attempts; retry in %s)", tr.Failures, max(time.Until(tr.NextAttempt).Round(time.Second), 0))
		}
		fmt.Fprintln(stdout, d)
	}
	return nil
}

// listCopies prints the copies of mcphost running from c.config, from the
// registry beside it, and returns how many there are (none: nothing is
// printed).
func (c *ctlClient) listCopies(ctx context.Context, stdout io.Writer) (int, error) {
	if c.registry == nil {
		return 0, nil
	}
	res, err := c.registry.List(ctx, copies.ListRequest{Config: c.config})
	if err != nil {
		return 0, fmt.Errorf("list the copies of %s: %w", c.config, err)
	}
	if len(res.Copies) == 0 {
		return 0, nil
	}
	fmt.Fprintf(stdout, "copies of mcphost running from %s:\n", c.config)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PID\tMODE\tCLIENTS\tSTARTED\tADMIN\tLISTENERS")
	for _, e := range res.Copies {
		adm := e.AdminURL
		if adm == "" && e.AdminSocket != "" {
			adm = "unix:" + e.AdminSocket
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\n", e.PID, e.Mode, e.Clients, e.Started.Local().Format(time.DateTime),
			dash(adm), dash(strings.Join(e.Listeners, " ")))
	}
	return len(res.Copies), tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// detail says why a server is in its state and when it is retried.
func detail(s admin.ServerStatus) string {
	var parts []string
	if s.Reason != "" {
		parts = append(parts, s.Reason)
	}
	if s.LastError != "" && s.LastError != s.Reason {
		parts = append(parts, "last error: "+s.LastError)
	}
	if !s.NextAttempt.IsZero() {
		if d := time.Until(s.NextAttempt).Round(time.Second); d > 0 {
			parts = append(parts, "retry in "+d.String())
		} else {
			parts = append(parts, "retry due")
		}
	}
	return strings.Join(parts, "; ")
}

func (c *ctlClient) action(ctx context.Context, verb, name string, stdout io.Writer) error {
	var res admin.ActionResult
	if err := c.call(ctx, http.MethodPost, "/servers/"+url.PathEscape(name)+"/"+verb, &res); err != nil {
		return err
	}
	done := map[string]string{"start": "started", "stop": "stopped", "restart": "restarted"}[verb]
	if res.State != "" {
		fmt.Fprintf(stdout, "%s %s (now %s)\n", done, name, res.State)
	} else {
		fmt.Fprintf(stdout, "%s %s\n", done, name)
	}
	return nil
}

func (c *ctlClient) reload(ctx context.Context, stdout, stderr io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, ctlTimeout)
	defer cancel()
	resp, err := c.do(ctx, http.MethodPost, "/reload", http.StatusUnprocessableEntity, http.StatusInternalServerError)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var res admin.ReloadResponse
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return fmt.Errorf("reload: decode the answer: %w", err)
	}
	for _, d := range res.Diagnostics {
		fmt.Fprintln(stderr, d.String())
	}
	if resp.StatusCode != http.StatusOK {
		if res.Error == "" {
			res.Error = resp.Status
		}
		return fmt.Errorf("reload: %s", res.Error)
	}
	list := func(names []string) string {
		if len(names) == 0 {
			return "-"
		}
		return strings.Join(names, ", ")
	}
	if len(res.Partial) > 0 {
		fmt.Fprintln(stdout, "configuration reloaded in part")
	} else {
		fmt.Fprintln(stdout, "configuration reloaded")
	}
	fmt.Fprintf(stdout, "  added:     %s\n  removed:   %s\n  changed:   %s\n  unchanged: %s\n  plugins:   %s\n",
		list(res.Added), list(res.Removed), list(res.Changed), list(res.Unchanged), list(res.Plugins))
	for _, p := range res.Partial {
		switch {
		case p.Kind == admin.PartialRestart:
			fmt.Fprintf(stdout, "  needs a restart: %s\n", p.Reason)
		case p.Name != "":
			fmt.Fprintf(stdout, "  not applied (%s %s): %s\n", p.Kind, p.Name, p.Reason)
		default:
			fmt.Fprintf(stdout, "  not applied (%s): %s\n", p.Kind, p.Reason)
		}
	}
	return nil
}

// ui prints the dashboard's URL with a fresh single-use login code in its
// fragment (which browsers never send to a server).
func (c *ctlClient) ui(ctx context.Context, stdout io.Writer) error {
	var code admin.LoginCode
	if err := c.call(ctx, http.MethodPost, "/login-codes", &code); err != nil {
		return err
	}
	u := code.URL // over a socket: the copy's TCP listener, as it knows it
	if c.socket == "" {
		u = c.base + "/#login=" + url.QueryEscape(code.Code)
	}
	if u == "" {
		return fmt.Errorf("%s serves no admin listener over TCP for a browser to open", c.where())
	}
	_, err := fmt.Fprintln(stdout, u)
	return err
}

func (c *ctlClient) logs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ctl logs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", admin.DefaultTail, fmt.Sprintf("print the last N lines (0 to %d)", admin.MaxTail))
	follow := fs.Bool("f", false, "keep printing new lines until interrupted")
	// Flags may come before or after NAME.
	var names []string
	for {
		if err := fs.Parse(args); err != nil {
			return errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		names = append(names, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(names) != 1 || names[0] == "" {
		return ctlUsageError(stderr, "logs takes one server name")
	}
	if *n < 0 || *n > admin.MaxTail {
		return ctlUsageError(stderr, fmt.Sprintf("-n must be from 0 to %d", admin.MaxTail))
	}
	path := "/logs/" + url.PathEscape(names[0])
	query := "?tail=" + strconv.Itoa(*n)
	if !*follow {
		var res admin.LogLines
		if err := c.call(ctx, http.MethodGet, path+query, &res); err != nil {
			return err
		}
		for _, l := range res.Lines {
			fmt.Fprintln(stdout, l)
		}
		return nil
	}
	resp, err := c.do(ctx, http.MethodGet, path+"/stream"+query)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
	defer resp.Body.Close()
	err = readSSE(resp.Body, func(data string) error {
		_, err := fmt.Fprintln(stdout, data)
		return err
	})
	if ctx.Err() != nil {
		return nil // interrupted: the normal way to stop following
	}
	return err
}

// readSSE calls fn with the data of each event of a text/event-stream until
// it ends. Comments (keepalives) and other fields are skipped.
func readSSE(r io.Reader, fn func(data string) error) error {
	br := bufio.NewReader(r)
	var data []string
	have := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("log stream: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if have {
				if err := fn(strings.Join(data, "\n")); err != nil {
					return err
				}
			}
			data, have = data[:0], false
		case strings.HasPrefix(line, ":"):
		case line == "data" || strings.HasPrefix(line, "data:"):
			v := strings.TrimPrefix(line, "data")
			v = strings.TrimPrefix(v, ":")
			data, have = append(data, strings.TrimPrefix(v, " ")), true
		}
	}
}
