// Package bench measures what mcphost adds to a tools/call: latency against
// the example server directly over stdio and through the proxy (stdio front,
// stdio backend, the stdio transport plugin as a subprocess and in-process),
// throughput and memory of a host with ten backends, and latency and
// throughput of the HTTP listener.
//
// The package holds only tests. Benchmarks run with -bench:
//
//	go test -run '^$' -bench . -benchtime 2000x ./host/bench/
//
// Every process hop costs a thread wake-up whose price depends on the
// machine (tens of µs on a small idle VM), so the latency setups include a
// floor: relay-1 and relay-2 put one and two do-nothing processes (the test
// binary re-executed with MCPHOST_BENCH_RELAY set, copying bytes between
// its stdio and the child's) between the client and the example server,
// the same number of hops as the proxy with the stdio plugin in-process
// and as a subprocess.
//
// TestOverheadReport measures every configuration in one run, interleaved
// in rounds so that machine drift affects them alike, and prints a summary
// table with the overhead against the direct connection and against the
// relay with as many hops. It is skipped unless MCPHOST_BENCH=1:
//
//	MCPHOST_BENCH=1 go test -run TestOverheadReport -v -count=1 ./host/bench/
//
// TestHTTPReport does the same for the HTTP listener: tools/call echo with
// 100 B and 100 KB texts at 1, 8 and 32 concurrent sessions, through
// mcphost's streamable HTTP endpoint (stdio plugin in-process and as a
// subprocess) and on the example server's own streamable HTTP endpoint,
// with a lean net/http client in the test; it prints p50, p99, calls/s and
// the targets. It is skipped unless MCPHOST_BENCH=1 too:
//
//	MCPHOST_BENCH=1 go test -run TestHTTPReport -v -count=1 ./host/bench/
//
// BenchmarkHostInTestProcess runs the host inside the test binary, so a CPU
// profile of the proxy needs nothing more than
//
//	go test -run '^$' -bench HostInTestProcess -benchtime 10000x -cpuprofile cpu.out ./host/bench/
package bench
