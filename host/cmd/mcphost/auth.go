package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mcphost/mcphost/host/internal/admin"
	"github.com/mcphost/mcphost/host/internal/config"
	"github.com/mcphost/mcphost/host/internal/copies"
	"github.com/mcphost/mcphost/host/internal/proxy"
	"github.com/mcphost/mcphost/sdk/oauth"
)

const authUsage = `usage: mcphost auth COMMAND [ARGS] [-config FILE]

Signs in to the backend servers of a config that require OAuth 2.1 (an http or websocket
transport whose oauth is not "off"). Tokens are kept per server in $MCPHOST_OAUTH_DIR, by
default <user config dir>/mcphost/oauth, readable by you alone; nothing here prints a token.

commands:
  login SERVER     sign in: open the server's authorization URL in the browser ($BROWSER, else
                   the system's; the URL is printed too), wait for the redirect to a loopback
                   port, store the tokens, and ask the copies of mcphost running from the config
                   to reconnect the server
  status [SERVER]  whether each server (or SERVER) is signed in: issuer, client id, scopes, expiry
  logout SERVER    forget the server's tokens (revoking them where the authorization server can)

flags:
`

// authTimeout bounds a sign-in, which waits for a person.
const authTimeout = 10 * time.Minute

func runAuth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return authMain(ctx, args, stdout, stderr, os.Getenv)
}

// authMain is runAuth with the environment passed in (tests run in
// parallel and cannot set it).
func authMain(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("auth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, authUsage)
		fs.PrintDefaults()
	}
	configFile := fs.String("config", "proxy.hcl", "the config file that declares the servers")
	if len(args) == 0 {
		fs.Usage()
		return errUsage
	}
	cmd := args[0]
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fs.SetOutput(stdout)
		fmt.Fprint(stdout, authUsage)
		fs.PrintDefaults()
		return nil
	}
	// Flags may come before or after the server's name.
	var names []string
	rest := args[1:]
	for {
		if err := fs.Parse(rest); err != nil {
			return errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		names, rest = append(names, fs.Arg(0)), fs.Args()[1:]
	}
	switch cmd {
	case "login", "logout":
		if len(names) != 1 || names[0] == "" {
			return authUsageError(stderr, cmd+" takes one server name")
		}
	case "status":
		if len(names) > 1 {
			return authUsageError(stderr, "status takes at most one server name")
		}
	default:
		return authUsageError(stderr, fmt.Sprintf("unknown auth command %q", cmd))
	}
	cfg, err := load(*configFile, stderr)
	if err != nil {
		return err
	}
	switch cmd {
	case "login":
		return authLogin(ctx, cfg, names[0], getenv, stdout, stderr)
	case "logout":
		return authLogout(ctx, cfg, names[0], getenv, stdout)
	}
	return authStatus(cfg, names, getenv, stdout)
}

func authUsageError(stderr io.Writer, msg string) error {
	fmt.Fprintf(stderr, "mcphost auth: %s\n\n%s", msg, authUsage)
	return errUsage
}

func authLogin(ctx context.Context, cfg *config.Config, name string, getenv func(string) string, stdout, stderr io.Writer) error {
	srv, err := proxy.OAuthServerOf(cfg, name)
	if err != nil {
		return err
	}
	client, err := srv.Client(getenv, stdout, nil)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, authTimeout)
	defer cancel()
	if err := client.Login(ctx, oauth.LoginOptions{}); err != nil {
		return fmt.Errorf("sign in to %s: %w", name, err)
	}
	st, err := client.Status()
	if err != nil {
		return fmt.Errorf("read the stored sign-in of %s: %w", name, err)
	}
	fmt.Fprintf(stdout, "signed in to %s%s\n", name, statusDetail(st))
	reconnectCopies(ctx, cfg.Filename, name, getenv, stdout, stderr)
	return nil
}

// reconnectCopies asks every copy of mcphost running from config to
// reconnect server now that it can sign in, over each copy's own socket.
// It is best effort: a copy that cannot be asked retries by itself.
func reconnectCopies(ctx context.Context, configFile, server string, getenv func(string) string, stdout, stderr io.Writer) {
	abs, err := filepath.Abs(configFile)
	if err != nil {
		return
	}
	reg, err := registryOf(configFile)
	if err != nil {
		return
	}
	res, err := reg.List(ctx, copies.ListRequest{Config: abs})
	if err != nil {
		fmt.Fprintf(stderr, "mcphost auth: could not list the running copies of mcphost (%v); they reconnect %s by themselves within a minute\n", err, server)
		return
	}
	for _, e := range res.Copies {
		if err := reconnectCopy(ctx, e, server, getenv); err != nil {
			fmt.Fprintf(stderr, "mcphost auth: copy %d did not reconnect %s (%v); it tries again by itself within a minute\n", e.PID, server, err)
			continue
		}
		fmt.Fprintf(stdout, "mcphost pid %d is reconnecting %s\n", e.PID, server)
	}
}

func reconnectCopy(ctx context.Context, e copies.Entry, server string, getenv func(string) string) error {
	if e.AdminSocket == "" {
		return errors.New("it has no admin socket")
	}
	c, err := newSocketClient(e.AdminSocket, "", getenv)
	if err != nil {
		return err
	}
	var res admin.ActionResult
	return c.call(ctx, http.MethodPost, "/servers/"+url.PathEscape(server)+"/restart", &res)
}

func authLogout(ctx context.Context, cfg *config.Config, name string, getenv func(string) string, stdout io.Writer) error {
	srv, err := proxy.OAuthServerOf(cfg, name)
	if err != nil {
		return err
	}
	client, err := srv.Client(getenv, io.Discard, nil)
	if err != nil {
		return err
	}
	if err := client.Logout(ctx); err != nil {
		return fmt.Errorf("sign out of %s: %w", name, err)
	}
	fmt.Fprintf(stdout, "signed out of %s\n", name)
	return nil
}

// authStatus prints the sign-in of the named server, or of every server
// that signs in.
func authStatus(cfg *config.Config, names []string, getenv func(string) string, stdout io.Writer) error {
	var servers []proxy.OAuthServer
	if len(names) == 1 {
		srv, err := proxy.OAuthServerOf(cfg, names[0])
		if err != nil {
			return err
		}
		servers = append(servers, srv)
	} else {
		for _, s := range cfg.Servers {
			srv, err := proxy.OAuthServerOf(cfg, s.Name)
			switch {
			case errors.Is(err, proxy.ErrNoOAuth):
			case err != nil:
				return err
			default:
				servers = append(servers, srv)
			}
		}
	}
	if len(servers) == 0 {
		fmt.Fprintln(stdout, "no server of the config signs in with OAuth")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSIGNED IN\tISSUER\tCLIENT ID\tSCOPES\tEXPIRES")
	for _, srv := range servers {
		client, err := srv.Client(getenv, io.Discard, nil)
		if err != nil {
			return err
		}
		st, err := client.Status()
		if err != nil {
			return fmt.Errorf("read the stored sign-in of %s: %w", srv.Name, err)
		}
		signedIn := "no"
		if st.SignedIn {
			signedIn = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", srv.Name, signedIn, dash(st.Issuer), dash(st.ClientID),
			dash(strings.Join(st.Scopes, " ")), expiry(st))
	}
	return tw.Flush()
}

// statusDetail is a sign-in's details after the server's name.
func statusDetail(st oauth.Status) string {
	var parts []string
	if st.Issuer != "" {
		parts = append(parts, "issuer "+st.Issuer)
	}
	if len(st.Scopes) > 0 {
		parts = append(parts, "scopes "+strings.Join(st.Scopes, " "))
	}
	if !st.Expiry.IsZero() {
		parts = append(parts, "token expires "+expiry(st))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// expiry says when the access token expires, and whether it is renewed
// by itself then.
func expiry(st oauth.Status) string {
	if st.Expiry.IsZero() {
		return "-"
	}
	s := st.Expiry.Local().Format(time.DateTime)
	if st.Refreshing {
		s += " (refreshable)"
	}
	return s
}
