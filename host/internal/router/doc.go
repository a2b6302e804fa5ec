// Package router is the heart of mcphost: it presents many backend MCP
// servers to each client session as one server. It merges the backends'
// lists under exposed names, routes requests back by explicit maps, gives
// each session its own id space, remaps progress tokens and cancellations,
// carries server→client requests to the session that caused them, tags and
// filters backends' log messages per session, and exposes backends' tasks
// under opaque ids of its own.
// Messages stay raw JSON bytes; only the members the router owns are edited.
//
// # Parts
//
// A Router holds the backends (backendSet, backends.go), the sessions
// (sessionSet, sessions.go), the catalog it exposes (catalogKeeper,
// catalog_keeper.go; built in catalog.go) and the forwarding of the
// sessions' log levels to the backends (levelForwarder, logging.go). A
// backend is one server: its connection (connection.go: the transport
// connection, the requests open on it, sending, the read loop) and its
// supervisor (supervisor.go and lifecycle.go: state, what it offers while
// running, restarts, health checks). A Session is one client. Where the two
// protocol eras differ (the initialize era and the stateless 2026-07-28
// era), the code asks the peer's protocolEra (eras.go) rather than compare
// versions.
//
// # Lock order
//
// Every mutex of the package, what it guards, and which locks may be taken
// while it is held ("takes"). Atomics (a protocol version, the catalog,
// the backend list) are read without a lock.
//
//	levelForwarder.mu     serializes forwarding logging/setLevel; takes
//	                      sessionSet.mu (snapshot), and is held across the calls
//	                      to the backends (supervisor.mu, connection.mu)
//	catalogKeeper.mu      serializes catalog rebuilds; takes supervisor.mu (snapshot)
//	backendSet.mu         serializes adding and removing backends (and
//	                      launching them all); takes none
//	supervisor.mu         state, lists, caps, era, restarts, health counts, run
//	                      control; takes connection.mu
//	connection.mu         transport connection, pending table, listen stream; takes none
//	sessionSet.mu         the open sessions; takes none
//	Router.spawnMu        closing versus spawn's wg.Add; takes none
//	Router.parked.mu      parked multi round-trip calls; takes none
//	taskTable.mu          exposed task ids; takes none
//	Session.mu            a session's state, client caps, replies, server
//	                      requests, URL elicitations; takes none
//	openRequests.mu       a session's requests open at backends; takes none
//	subscriptions.mu      a session's resource subscriptions and listen streams;
//	                      takes none
//	Outbox.mu             one stream's queue; takes none
//	batchSink.mu          one batch's collected answers; takes none
//
// The only nestings are levelForwarder.mu → sessionSet.mu, supervisor.mu,
// connection.mu; catalogKeeper.mu → supervisor.mu; and supervisor.mu →
// connection.mu: every other lock is a leaf. Where a request must join
// only a running connection (forward, resend, startListen), both
// supervisor.mu and connection.mu are held, in that order.
//
// Calling out: nothing that can block (a plugin, a translator, the
// network, a channel send that may wait, Options.StateChanged) is called
// with a lock held. Two exceptions are by design: levelForwarder.mu is
// held across the logging/setLevel calls it exists to serialize (it is
// outermost, and only levelForwarder.push takes it), and Observer.RequestStarted runs under
// supervisor.mu and connection.mu in forward, so that no end of a request
// is reported before its start; Observer's contract is that it is cheap
// and never blocks. Goroutines are owned: the router's through spawn (Close
// waits for them), a backend's read and health loops by its run, a
// session's writer by the session.
package router
