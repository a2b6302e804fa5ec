// Package bench measures what mcphost adds to a tools/call, in the cells
// the project's speed targets are set in, against a direct connection to
// the same backend measured in the same run. The package holds only
// tests.
//
// # Parts
//
// Everything on the measuring side is the test binary's own, re-executed
// with MCPHOST_BENCH_ROLE set (TestMain):
//
//   - the echo backend: newline-delimited JSON-RPC on stdio, one tool,
//     echo {"message": string}, whose result copies the message's raw JSON
//     string without decoding it, so it costs a few µs a call. It answers
//     initialize with the version asked (2024-11-05 to 2025-11-25), ping,
//     tools/list and empty resource and prompt lists; -protocol pins one
//     version, and -protocol 2026-07-28 makes it a stateless server that
//     answers server/discover and stamps resultType;
//   - the do-nothing HTTP endpoint: the echo backend over streamable HTTP,
//     to show the load client's own ceiling;
//   - relays: do-nothing processes copying bytes between the client and
//     the backend, the floor for as many process hops as the proxy has.
//
// The load clients speak raw JSON-RPC over stdio, streamable HTTP (JSON or
// SSE replies, or a stateless 2026-07-28 client with its _meta and
// MCP-Protocol-Version, Mcp-Method and Mcp-Name headers), legacy HTTP+SSE
// and WebSocket. Each worker has its own session and makes one call at a
// time (a closed loop); every result must carry the payload. The HTTP
// clients read each response in the calling goroutine over one keep-alive
// connection.
//
// mcphost itself is built from the module (testenv.BuildBinary), so the
// harness measures the code in the tree, with the default settings apart
// from the backend (plugins as subprocesses, tracing off unless a cell
// says otherwise, the admin API off).
//
// # Measurement
//
// The cells are grouped (groups_test.go): http (the HTTP front at 100 B,
// c=1 and c=32, 2025-06-18 and 2025-11-25 clients, direct stdio and the
// do-nothing endpoint), fronts (100 KB at c=1 on every front with the
// stdio plugin as a subprocess and in-process; the stdio front at 100 B
// next to the relays), tracing (on against off) and translation (every
// client version against a 2026-07-28 backend: the example server, as in
// the default proxy.hcl, and the echo backend). A group's systems start
// once; each cell is warmed up and sized so that it runs for about a
// round's time; then every cell runs once per round, in an order rotated
// per round. p50 and calls/s are medians of the rounds, p99 is over all
// calls, a cell's added p50 over its baseline is the median of the
// per-round differences, CPU per call is utime+stime of the system's
// process tree (the process and all its live descendants, from
// /proc/PID/stat, before each round and after it once the tree is idle,
// so that work the calls queued counts too) over the calls, host CPU the
// same for the root process alone (mcphost without its plugins and
// backend), and RSS is the largest VmRSS of the root process, sampled
// during each round. The tracing group gives each workload systems of
// its own, as a tracer's state depends on what it was fed, and reads
// from the proxy's /metrics how many tool results the tracing plugin
// recorded and the tracer dropped.
//
// TestReport prints one table per group with every cell's figures and the
// issue's targets, met or missed. It takes a few minutes and runs only
// with MCPHOST_BENCH=1 (`task bench`); MCPHOST_BENCH_ROUNDS (default 5)
// and MCPHOST_BENCH_ROUND_TIME (default 400ms per cell per round) change
// its length:
//
//	MCPHOST_BENCH=1 go test -run TestReport -v -count=1 -timeout 30m ./host/bench/
//	MCPHOST_BENCH=1 go test -run TestReport/fronts -v -count=1 ./host/bench/
//
// The same cells are Go benchmarks, one sub-benchmark per cell, reporting
// p50-µs, p99-µs, calls/s, cpu-µs/call, host-cpu-µs/call, rss-MiB, and
// for a cell with a baseline added-p50-µs and p50-ratio:
//
//	go test -run '^$' -bench . ./host/bench/
//	go test -run '^$' -bench 'HTTP/mcphost' -count 5 ./host/bench/ | benchstat -
//
// BenchmarkHostInTestProcess runs the host inside the test binary (stdio
// front over in-memory pipes), so a CPU profile of the proxy needs nothing
// more than
//
//	go test -run '^$' -bench HostInTestProcess -benchtime 10000x -cpuprofile cpu.out ./host/bench/
//
// and MCPHOST_CPUPROFILE=/tmp/mcphost-%p.prof makes every mcphost process
// of the other benchmarks write its own profile.
package bench
