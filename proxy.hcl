# The default mcphost config: runs on a fresh machine with nothing but Go.
# `go run ./host/cmd/mcphost run proxy.hcl` serves MCP at http://127.0.0.1:3000/mcp;
# add --stdio to speak MCP on stdin/stdout instead (Claude Code, Claude Desktop).

proxy {
  # Exposed names: every tool becomes mcp__proxy__<server>__<tool>.
  tool_name_template = "mcp__proxy__{server}__{tool}"
  request_timeout    = "60s"
  log_level          = "info"
}

listen "http" {
  address = "127.0.0.1:3000"
  path    = "/mcp"
  # Set MCPHOST_TOKEN to require "Authorization: Bearer <token>".
  auth_token = env("MCPHOST_TOKEN", "")
}

# The example server built into mcphost (host/internal/demoserver), run by the
# mcphost binary itself.
server "example" {
  transport "stdio" {
    command = mcphost.executable
    args    = ["example-server", "-name", "example"]
  }
}

# Context tracing: every tool result, resource and prompt delivered is
# recorded (sizes and hashes; content only if the tracing plugin's
# store_content is set) under .mcphost/trace; ask with the
# mcp__proxy__tracing__* tools, the trace:// resources or `mcphost trace`.
tracing {
  weighting = "composite"
}
