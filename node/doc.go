// Package node is confchat's client core. A Node owns one profile: its
// database, its netlayer endpoint, its friends and its conference engines,
// and it is what both front ends (tui and bot) talk to.
//
// # Ownership
//
// All mutable state belongs to one goroutine, the loop (see loop.go). The
// public methods are safe for concurrent use: each hands the loop a
// closure and waits for its answer. Front ends receive events through a
// Subscription, as copies; they never see node internals, storage or
// sockets.
//
// # Ordering rules
//
//   - A message the user sends is written to the database before it is
//     handed to the network; a received message is written before it is
//     relayed (the engine's Ready batch is applied rows first).
//   - On start every saved conference is restored with all peers frozen,
//     listed at once, and rejoined as sessions come up.
//
// node must not parse conference packets itself (conference does), speak
// the transport protocol (netlayer does) or hold SQL (storage does).
package node
