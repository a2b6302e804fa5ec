// Command mcphost-example-server runs the example MCP server that mcphost
// uses as its default backend and in end-to-end tests.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mcphost/mcphost/examples/mcpserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := mcpserver.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mcphost-example-server:", err)
		stop()
		os.Exit(1)
	}
}
