//go:build unix

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

func TestSmokeStdioAndHTTP(t *testing.T) {
	t.Parallel()
	servers := exampleServer("alpha") + exampleServer("beta")
	cases := []struct {
		name    string
		connect func(t *testing.T) interface{}
	}{
		{"stdio", nil},
		{"http", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var c = func() *client.Client {
				if tc.name == "stdio" {
					return stdioClient(t, writeConfig(t, servers), clientOptions{})
				}
				return httpClient(t, startHTTPProxy(t, servers).URL, clientOptions{})
			}()
			tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if len(tools.Tools) < 20 {
				t.Fatalf("got %d tools", len(tools.Tools))
			}
			if got := callText(ctx, t, c, "mcp__proxy__beta__whoami", nil); got != "beta" {
				t.Fatalf("whoami = %q", got)
			}
		})
	}
}
