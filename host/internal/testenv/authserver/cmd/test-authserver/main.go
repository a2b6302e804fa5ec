// Command test-authserver runs the tests' OAuth 2.1 authorization server
// (host/internal/testenv/authserver) on its own, to try mcphost's oauth
// listener by hand:
//
//	go run ./host/internal/testenv/authserver/cmd/test-authserver -addr 127.0.0.1:9400
//
// It prints its issuer URL and serves until interrupted. Clients register
// dynamically (RFC 7591); the test user approves every sign-in at once, so
// it is for local trials only, never for a real deployment.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mcphost/mcphost/host/internal/testenv/authserver"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9400", "host:port to listen on")
	scopes := flag.String("scopes", "mcp:tools", "comma-separated scopes the server advertises")
	flag.Parse()
	if err := run(*addr, strings.Split(*scopes, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "test-authserver:", err)
		os.Exit(1)
	}
}

func run(addr string, scopes []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	as, err := authserver.New(authserver.Options{Address: addr, Scopes: scopes})
	if err != nil {
		return err
	}
	fmt.Println(as.URL())
	<-ctx.Done()
	return as.Close()
}
