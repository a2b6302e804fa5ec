# The example backend served over HTTP to other machines, with a token.
#   MCPHOST_TOKEN=$(openssl rand -hex 32) mcphost run examples/configs/secured-http.hcl
# Clients send "Authorization: Bearer $MCPHOST_TOKEN"; requests without it get 401.

listen "http" {
  address         = "0.0.0.0:3000"
  auth_token      = env("MCPHOST_TOKEN")
  allowed_origins = ["https://app.example.com"]
}

server "example" {
  request_timeout = "30s"
  transport "stdio" {
    command = mcphost.executable
    args    = ["example-server", "-name", "example"]
  }
}
