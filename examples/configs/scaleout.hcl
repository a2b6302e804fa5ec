# One proxy.hcl for several mcphost instances behind a load balancer
# (haproxy.cfg beside it), tracing into one PostgreSQL database.
# Each instance gets its id and addresses from its environment:
#
#   export MCPHOST_TRACE_DSN="host=/run/postgresql dbname=mcphost"   # one database for all
#   export MCPHOST_STATE_KEY=$(openssl rand -hex 32)                 # the same key for all
#   export MCPHOST_A_ADDR=127.0.0.1:3101 MCPHOST_B_ADDR=127.0.0.1:3102 MCPHOST_C_ADDR=127.0.0.1:3103
#   MCPHOST_INSTANCE=mcp-a MCPHOST_ADDR=$MCPHOST_A_ADDR MCPHOST_ADMIN_ADDR=127.0.0.1:3201 mcphost run scaleout.hcl &
#   MCPHOST_INSTANCE=mcp-b MCPHOST_ADDR=$MCPHOST_B_ADDR MCPHOST_ADMIN_ADDR=127.0.0.1:3202 mcphost run scaleout.hcl &
#   MCPHOST_INSTANCE=mcp-c MCPHOST_ADDR=$MCPHOST_C_ADDR MCPHOST_ADMIN_ADDR=127.0.0.1:3203 mcphost run scaleout.hcl &
#   MCPHOST_LB_ADDR=127.0.0.1:3000 haproxy -f haproxy.cfg
#
# Clients use http://127.0.0.1:3000/mcp (or /sse, /ws). host/e2e TestScaleOut
# runs exactly these two files. On several machines, listen on a routable
# address and protect the listener (auth_token or oauth): a non-loopback
# address without either is refused.

proxy {
  # Starts every session id (<instance>.<random>), so the load balancer can
  # route a session's requests to the instance that holds it.
  instance_id = env("MCPHOST_INSTANCE")
  # On SIGTERM, fail /readyz this long before draining: at least the load
  # balancer's check interval (haproxy.cfg: inter 1s, fall 1).
  drain_delay = "2s"
  # A 2026-07-28 call waiting for client input is parked on one instance;
  # its requestState names that instance and is signed with this key, and a
  # retry that reaches another instance is forwarded to the owner.
  request_state_key = env("MCPHOST_STATE_KEY")
  peers = {
    "mcp-a" = "http://${env("MCPHOST_A_ADDR")}/mcp"
    "mcp-b" = "http://${env("MCPHOST_B_ADDR")}/mcp"
    "mcp-c" = "http://${env("MCPHOST_C_ADDR")}/mcp"
  }
}

listen "http" {
  address = env("MCPHOST_ADDR")
}

admin {
  address = env("MCPHOST_ADMIN_ADDR")
}

server "example" {
  transport "stdio" {
    command = mcphost.executable
    args    = ["example-server", "-name", "example"]
  }
}

# Every instance records into, and reads from, the same database: a trace
# recorded through one is read through any, and feedback through any
# updates the same quality scores.
tracing {
  plugin    = "tracing-postgres"
  weighting = "composite"
}

plugin "tracing-postgres" {
  config {
    dsn = env("MCPHOST_TRACE_DSN")
  }
}
