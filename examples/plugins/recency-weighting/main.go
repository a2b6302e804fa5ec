// Command recency-weighting is an example third-party weighting plugin: it
// weighs the context units behind a response by recency alone, with
// exponential decay, so a unit's weight halves with every half_life of age
// (default 5m) and the newest unit dominates. It uses only mcphost's sdk
// packages.
//
// Swapping it in for the built-in composite weighting is a visible change:
// retrieval scores, unit types and lengths stop counting, and feedback on a
// response lands mostly on the context that arrived last. Build it and pin
// it like any third-party plugin:
//
//	go build -o bin/recency-weighting ./examples/plugins/recency-weighting
//	sha256sum bin/recency-weighting
//
// then, in proxy.hcl:
//
//	plugin "recency" {
//	  source = "./bin/recency-weighting"
//	  sha256 = "<sha256sum of it>"
//	  config {
//	    half_life = "5m"
//	  }
//	}
//	tracing {
//	  weighting = "recency"
//	}
package main

import "github.com/mcphost/mcphost/sdk"

func main() {
	sdk.Serve(sdk.ServeConfig{Weighting: New()})
}
