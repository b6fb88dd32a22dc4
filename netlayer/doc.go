// Package netlayer owns encrypted, authenticated sessions between two
// confchat keys: a reliable, ordered stream of frames to a peer that
// outlives TCP connections.
//
// # What it owns
//
//   - Listening and dialing through a Transport (TCP by default,
//     MemNetwork in tests, a relay client), extra listeners through
//     Endpoint.Serve, the Noise_IK_25519_ChaChaPoly_BLAKE2s
//     handshake (github.com/flynn/noise) keyed by the X25519 form of each
//     profile's Ed25519 key, and length-prefixed records with a hard size
//     limit checked before any allocation.
//   - One Session per peer key, with an explicit state machine (see State),
//     a send buffer of unacknowledged frames, sequence numbers and acks, so
//     a reconnect resumes the session and the receiver sees every frame
//     exactly once and in order.
//   - Redialing with capped, jittered backoff through the addresses the
//     layer above gives it; heartbeats and a dead-connection watchdog; the
//     duplicate-connection rule (the connection dialed by the lower key
//     wins); a two-phase graceful close.
//   - A Route per connected session: RouteRelay for a connection whose
//     Relayed method says so, RouteDirect otherwise.
//   - Candidate dialing: a peer's addresses are direct ("host:port",
//     through Config.Transport) or relay candidates ("relay:KEY@host:port",
//     through Config.Relay), plus our own relays (Endpoint.SetRelays).
//     Direct candidates go first; relay candidates are dialed in parallel
//     after Config.RelayDelay (happy eyeballs); the first to authenticate
//     carries the session.
//   - Migration: a session on a relay probes the direct candidates with
//     capped backoff and moves onto a direct connection with the MARK
//     cut-over (session_migrate.go), one switch at a time; a switch that
//     fails is abandoned. SessionRouteChanged and Session.RouteStatus
//     report the route and the switch status.
//
// # What it must not do
//
// netlayer knows nothing about conferences, friends, messages or storage:
// frames are opaque bytes. It never decides which peers to talk to beyond
// the Config.Accept hook, never persists anything, and never panics on
// bytes from the network. Its only outputs are method results and the
// Events channel.
//
// # Using it
//
// New(Config) makes an Endpoint; Listen binds it; Events must be read until
// it is closed. Open(peer, addrs) returns the Session with a peer (creating
// it and dialing addrs); SetAddrs replaces the addresses at any time.
// Session.Send queues a frame (blocking while SendBuffer frames are
// unacknowledged) and the peer receives it once, in order, as
// FrameReceived. An inbound connection from a peer that Config.Accept
// allows creates a session and a SessionOpened event. SessionStateChanged
// reports every transition with its reason, SessionRouteChanged the
// route (direct, relay, none) and switch status, SessionReset a session that
// one side lost (with the frames the peer never acknowledged), and a
// *FatalError in a Closed transition a peer that must not be retried.
// Session.Close and Endpoint.Close close gracefully within a context.
//
// # Time
//
// Every timer (heartbeats and the watchdog, dial backoff, grace, close and
// handshake timeouts) runs on Config.Clock, so tests run on a fake clock
// or, with MemNetwork, inside testing/synctest without real sleeps.
//
// # Concurrency
//
// Each Session's mutable state belongs to its run goroutine ("owned by
// run()"); other goroutines reach it with requests. Every goroutine has an
// owner that stops it: the Endpoint owns its accept loop, inbound
// handshakes and sessions; a Session owns its dial attempts and the reader
// and writer of each connection. Endpoint.Close waits for all of them and
// then closes Events. There is no package-level mutable state.
//
// The wire protocol is described in docs/protocol.md, part 1.
package netlayer
