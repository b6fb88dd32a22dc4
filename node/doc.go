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
//   - One loop turn takes the input that woke the loop and what else is
//     waiting (bounded), commits every engine's rows in one transaction
//     (group commit), then sends, handles session wishes, emits events and
//     acknowledges the batch (Advance). Requests are answered after that
//     commit; a failed commit undoes own actions (Abort) so a call either
//     stored and sent or failed with nothing sent, and the rest is retried
//     with backoff (StorageFailed, Counters).
//   - Strangers are cheap: an unknown key's session has no send pump until
//     something is sent to it, stores no route, logs at debug (rate
//     limited), and at most maxStrangers of them stay open.
//   - Time comes from Config.Clock; every query runs under the turn's
//     bounded context.
//   - On start every saved conference is restored with all peers frozen,
//     listed at once, and rejoined as sessions come up.
//
// node must not parse conference packets itself (conference does), speak
// the transport protocol (netlayer does) or hold SQL (storage does).
package node
