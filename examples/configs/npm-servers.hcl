# The npm reference servers behind one proxy, with names short enough for
# Claude Code (which adds its own mcp__<name>__ prefix; 64 characters in all).
#   mcphost run --stdio examples/configs/npm-servers.hcl
# Needs Node and npx; set WORKDIR to the directory the filesystem server may use.

proxy {
  tool_name_template   = "{server}__{tool}"
  prompt_name_template = "{server}__{prompt}"
}

listen "http" {
  address = "127.0.0.1:3000"
}

server "everything" {
  transport "stdio" {
    command = "npx"
    args    = ["-y", "@modelcontextprotocol/server-everything"]
  }
}

server "fs" {
  transport "stdio" {
    command = "npx"
    args    = ["-y", "@modelcontextprotocol/server-filesystem", env("WORKDIR", mcphost.config_dir)]
  }
}

server "memory" {
  transport "stdio" {
    command = "npx"
    args    = ["-y", "@modelcontextprotocol/server-memory"]
    env     = { MEMORY_FILE_PATH = "/tmp/mcphost-memory.jsonl" }
  }
}
