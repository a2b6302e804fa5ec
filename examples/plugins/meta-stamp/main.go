// Command meta-stamp is an example third-party translator plugin: on every
// tools/call result on its way to a client it records which protocol
// versions the host translated between, as
// result._meta["com.example/translated"] = "<from>-><to>". It uses only
// mcphost's sdk packages.
//
// The host calls a translator only when a client and its backend speak
// different MCP versions, so a stamped result is also a visible sign that
// translation happened. Build it and pin it like any third-party plugin:
//
//	go build -o bin/meta-stamp ./examples/plugins/meta-stamp
//	sha256sum bin/meta-stamp            # put this in plugin "meta-stamp" { sha256 = ... }
package main

import "github.com/mcphost/mcphost/sdk"

func main() {
	sdk.Serve(sdk.ServeConfig{Translator: &Translator{}})
}
