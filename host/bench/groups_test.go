package bench

import (
	"fmt"
	"strings"
	"testing"
)

// A group is a set of systems and the cells measured on them together,
// interleaved, and printed as one table. Each group answers one part of
// the targets.
type group struct {
	name    string
	title   string
	systems []systemSpec
	cells   []cell
}

// cell is one measured workload: a client of one kind and version on one
// system, workers sessions each making calls back to back with a payload
// of that many bytes.
type cell struct {
	name     string // unique in its group
	system   string
	client   clientKind
	version  string
	payload  int
	workers  int
	baseline string // the cell it is compared with round by round, if any
	targets  []target
}

// Payload sizes.
const (
	small = 100
	large = 100000
)

// The backends: the echo backend negotiated at 2025-11-25 (what a proxy
// asks of it), and the two 2026-07-28 backends of the translation group.
var (
	echo1125    = backendSpec{protocol: v20251125}
	echoModern  = backendSpec{protocol: v20260728}
	exampleSpec = backendSpec{example: true, protocol: v20260728}
)

// groups are the report's tables, in order.
var groups = []group{httpGroup, frontsGroup, tracingGroup, translationGroup}

// httpGroup: the HTTP front with 100 B calls, throughput at c=32 and
// latency at c=1, for a 2025-06-18 and a 2025-11-25 client, next to a
// direct stdio connection and the load client's own ceiling.
var httpGroup = group{
	name: "http",
	title: "HTTP front (streamable HTTP, JSON replies), 100 B tools/call, echo backend on stdio at 2025-11-25, " +
		"default settings (plugins as subprocesses, tracing off)",
	systems: []systemSpec{
		{name: "direct", kind: directSystem, backend: echo1125},
		{name: "direct-shared", kind: directSystem, backend: echo1125},
		{name: "null", kind: nullHTTPSystem, backend: echo1125},
		{name: "mcphost", kind: proxyHTTPSystem, backend: echo1125},
	},
	cells: []cell{
		{name: "direct stdio", system: "direct", client: stdioClient, version: v20251125, payload: small, workers: 1},
		{name: "direct stdio, one child", system: "direct-shared", client: stdioClient, version: v20251125, payload: small, workers: 32},
		{name: "do-nothing HTTP (client floor)", system: "null", client: streamableJSON, version: v20251125, payload: small, workers: 1},
		{name: "do-nothing HTTP (client ceiling)", system: "null", client: streamableJSON, version: v20251125, payload: small, workers: 32},
		{name: "mcphost, 2025-11-25 client", system: "mcphost", client: streamableJSON, version: v20251125, payload: small, workers: 1,
			baseline: "direct stdio", targets: []target{p50AtMost(targetP50)}},
		{name: "mcphost, 2025-06-18 client", system: "mcphost", client: streamableJSON, version: v20250618, payload: small, workers: 1,
			baseline: "direct stdio", targets: []target{p50AtMost(targetP50),
				p50Within(targetTranslation, "mcphost, 2025-11-25 client"), cpuWithin(targetTranslation, "mcphost, 2025-11-25 client")}},
		{name: "mcphost, 2025-11-25 clients", system: "mcphost", client: streamableJSON, version: v20251125, payload: small, workers: 32,
			baseline: "direct stdio, one child", targets: []target{rateAtLeast(targetRate), cpuAtMost(targetCPU)}},
		{name: "mcphost, 2025-06-18 clients", system: "mcphost", client: streamableJSON, version: v20250618, payload: small, workers: 32,
			baseline: "direct stdio, one child", targets: []target{rateAtLeast(targetRate), cpuAtMost(targetCPU),
				cpuWithin(targetTranslation, "mcphost, 2025-11-25 clients")}},
	},
}

// frontsGroup: 100 KB at c=1 on every client transport with the stdio
// plugin as a subprocess and in-process, and the stdio front at 100 B
// next to relays with as many process hops.
var frontsGroup = group{
	name:  "fronts",
	title: "every front, c=1, echo backend on stdio at 2025-11-25, 2025-11-25 client, stdio plugin as a subprocess (sub) or in-process (in)",
	systems: []systemSpec{
		{name: "direct", kind: directSystem, backend: echo1125},
		{name: "relay-1", kind: directSystem, backend: echo1125, relays: 1},
		{name: "relay-2", kind: directSystem, backend: echo1125, relays: 2},
		{name: "http-sub", kind: proxyHTTPSystem, backend: echo1125},
		{name: "http-in", kind: proxyHTTPSystem, backend: echo1125, inprocess: true},
		{name: "stdio-sub", kind: proxyStdioSystem, backend: echo1125},
		{name: "stdio-in", kind: proxyStdioSystem, backend: echo1125, inprocess: true},
	},
	cells: append(largeFrontCells(), smallStdioCells()...),
}

// largeFrontCells are the 100 KB cells: direct, then each front in each
// plugin mode.
func largeFrontCells() []cell {
	cells := []cell{{name: "100 KB direct stdio", system: "direct", client: stdioClient, version: v20251125, payload: large, workers: 1}}
	kinds := []clientKind{streamableJSON, streamableSSE, legacySSEClient, webSocketClient}
	for _, mode := range []string{"sub", "in"} {
		for _, k := range kinds {
			cells = append(cells, largeFrontCell(fmt.Sprintf("100 KB %s (%s)", k, mode), "http-"+mode, k))
		}
		cells = append(cells, largeFrontCell(fmt.Sprintf("100 KB stdio front (%s)", mode), "stdio-"+mode, stdioClient))
	}
	return cells
}

func largeFrontCell(name, system string, k clientKind) cell {
	return cell{name: name, system: system, client: k, version: v20251125, payload: large, workers: 1, baseline: "100 KB direct stdio",
		targets: []target{ratioToBaseline(targetLargeRatio), withinBestPeer(targetLargeSpread)}}
}

// smallStdioCells are the 100 B stdio cells: direct, the relay floors and
// the stdio front.
func smallStdioCells() []cell {
	c := func(name, system string, targets ...target) cell {
		base := "100 B direct stdio"
		if system == "direct" {
			base = ""
		}
		return cell{name: name, system: system, client: stdioClient, version: v20251125, payload: small, workers: 1, baseline: base, targets: targets}
	}
	return []cell{
		c("100 B direct stdio", "direct"),
		c("100 B relay-1 (floor for in)", "relay-1"),
		c("100 B relay-2 (floor for sub)", "relay-2"),
		c("100 B stdio front (sub)", "stdio-sub", stdioAddedAtMost()),
		c("100 B stdio front (in)", "stdio-in", stdioAddedAtMost()),
	}
}

// tracingGroup: the HTTP front with tracing on against off, 100 B and
// 100 KB, c=1 and c=32. Each workload has its own pair of systems: what a
// tracer holds and does depends on what it was fed, so a cell must not
// inherit another's units.
var tracingGroup = func() group {
	g := group{
		name: "tracing",
		title: "tracing on (tracing {} with its store in a temp dir) vs off, HTTP front, echo backend at 2025-11-25, 2025-11-25 client, " +
			"plugins as subprocesses, a fresh pair of systems per workload",
	}
	for _, w := range []struct {
		payload, workers int
		targets          []target
	}{
		{small, 1, []target{addedPercentAtMost(targetTracingAdded)}},
		{small, 32, []target{addedHostCPUAtMost(targetTracingCPU)}},
		{large, 1, []target{addedPercentAtMost(targetTracingAdded)}},
		{large, 32, []target{rssAtMost(targetTracingRSS)}},
	} {
		name := fmt.Sprintf("%s c=%d", formatPayload(w.payload), w.workers)
		off, on := name+" off", name+" on"
		// System names go into benchmark names: no spaces.
		sysOff := fmt.Sprintf("off-%s-c%d", strings.ReplaceAll(formatPayload(w.payload), " ", ""), w.workers)
		sysOn := "on" + strings.TrimPrefix(sysOff, "off")
		g.systems = append(g.systems,
			systemSpec{name: sysOff, kind: proxyHTTPSystem, backend: echo1125},
			systemSpec{name: sysOn, kind: proxyHTTPSystem, backend: echo1125, tracing: true})
		g.cells = append(g.cells,
			cell{name: off, system: sysOff, client: streamableJSON, version: v20251125, payload: w.payload, workers: w.workers},
			cell{name: on, system: sysOn, client: streamableJSON, version: v20251125, payload: w.payload, workers: w.workers,
				baseline: off, targets: w.targets})
	}
	return g
}()

// translationGroup: initialize-era clients against a 2026-07-28 client,
// through the HTTP front, with the example server (the default
// proxy.hcl's backend) and the echo backend at 2026-07-28. The 2025-06-18
// against 2025-11-25 pair with a 2025-11-25 backend is in the http group.
var translationGroup = group{
	name:  "translation",
	title: "client versions against a 2026-07-28 backend, HTTP front (streamable HTTP, JSON replies), 100 B, c=1, plugins as subprocesses",
	systems: []systemSpec{
		{name: "example", kind: proxyHTTPSystem, backend: exampleSpec},
		{name: "echo", kind: proxyHTTPSystem, backend: echoModern},
	},
	cells: append(translationCells("example server", "example"), translationCells("echo backend", "echo")...),
}

func translationCells(backend, system string) []cell {
	modern := fmt.Sprintf("%s, %s client", backend, v20260728)
	cells := []cell{{name: modern, system: system, client: streamableJSON, version: v20260728, payload: small, workers: 1}}
	for _, v := range initializeEra {
		cells = append(cells, cell{name: fmt.Sprintf("%s, %s client", backend, v), system: system, client: streamableJSON,
			version: v, payload: small, workers: 1, baseline: modern,
			targets: []target{p50Within(targetTranslation, modern), cpuWithin(targetTranslation, modern)}})
	}
	return cells
}

// ---- running a group ----

// groupRun is a group's started systems and open cells.
type groupRun struct {
	g        *group
	settings settings
	systems  map[string]*system
	cells    []*cellRun
	byName   map[string]*cellRun
}

// startGroup starts the group's systems, opens every cell's sessions and
// warms each cell up. Everything stops at the end of the test.
func startGroup(tb testing.TB, g *group) *groupRun {
	tb.Helper()
	gr := &groupRun{g: g, settings: benchSettings(tb), systems: map[string]*system{}, byName: map[string]*cellRun{}}
	for _, spec := range g.systems {
		gr.systems[spec.name] = startSystem(tb, spec)
	}
	for i := range g.cells {
		c := &g.cells[i]
		sys := gr.systems[c.system]
		if sys == nil {
			tb.Fatalf("%s: cell %q: no system %q", g.name, c.name, c.system)
		}
		r, err := openCell(c, sys)
		if err != nil {
			tb.Fatalf("%s: %s: %v\n%s", g.name, c.name, err, sys.stderr)
		}
		tb.Cleanup(r.close)
		gr.cells = append(gr.cells, r)
		gr.byName[c.name] = r
	}
	for _, r := range gr.cells {
		if b := r.cell.baseline; b != "" && gr.byName[b] == nil {
			tb.Fatalf("%s: cell %q: no baseline cell %q", g.name, r.cell.name, b)
		}
		if err := r.warm(gr.settings.roundTime); err != nil {
			tb.Fatalf("%s: %s: %v\n%s", g.name, r.cell.name, err, r.sys.stderr)
		}
	}
	return gr
}

func (gr *groupRun) cell(name string) *cellRun { return gr.byName[name] }

func (gr *groupRun) baseline(r *cellRun) *cellRun { return gr.byName[r.cell.baseline] }

// measure runs the interleaved rounds: in each, every cell once, in an
// order rotated by one per round.
func (gr *groupRun) measure(tb testing.TB) {
	tb.Helper()
	n := len(gr.cells)
	for round := range gr.settings.rounds {
		for k := range n {
			r := gr.cells[(k+round)%n]
			rr, err := r.round(r.perRound, noStopwatch{})
			if err != nil {
				tb.Fatalf("%s: %s: round %d: %v\n%s", gr.g.name, r.cell.name, round+1, err, r.sys.stderr)
			}
			r.rounds = append(r.rounds, rr)
		}
	}
}
