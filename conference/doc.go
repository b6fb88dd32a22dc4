// Package conference is confchat's sans-IO conference engine: Tox's
// conference protocol ("old group chats" with the minpgc persistence rules)
// plus signatures, history sync and persistent message numbering.
//
// One Engine value holds one conference. It is shaped like raft's RawNode:
// the embedder (the node) feeds it inputs — HandlePacket, Tick, SessionUp,
// SessionDown and user actions (SendMessage, SendAction, SetTitle, SetName,
// Invite, Leave, Shutdown) — and then takes Ready: rows to persist, packets
// to send, session wishes and events for the front ends. NextDeadline says
// when Tick must be called again. The embedder's duties, in order, for each
// Ready batch:
//
//  1. persist Rows (in order) before anything else;
//  2. send Packets, each to its public key, over the session to that key;
//  3. open or release the sessions listed in Sessions;
//  4. hand Events to the front ends;
//  5. call Advance, which clears exactly what that Ready returned.
//
// Ready does not clear anything: until Advance, a later Ready returns the
// same outputs plus newer ones. If persisting the Rows fails, call Abort
// instead of steps 2-5: the own user actions made since the last Advance
// (SendMessage, SendAction, SetTitle, SetName) are undone — none of their
// packets is ever handed out, their numbers are burned — and every other
// output stays pending for the next Ready. Own messages enter the message
// store (from which history sync serves others) only on Advance. While
// more than MaxPendingOutputs outputs or MaxPendingBytes packet bytes
// await Advance, HandlePacket refuses input with ErrBackpressure without
// changing state (history sync heals what was refused).
//
// Own messages are signed when Ready (or Advance, Abort) seals them, not
// when they are made: those made since the last seal share one Ed25519
// signature per 64 (a Merkle batch auth, docs/protocol.md §3.2), and each
// still verifies on its own. An embedder that takes Ready once after many
// inputs (the node's loop turn, with pipelined sends) signs once per run;
// a lone message keeps a plain signature.
//
// Call Ready after every input, or after a batch of inputs (it also reports
// session wishes derived from the new state). Join assumes the session to the inviter is up. The node
// should accept incoming sessions from keys for which Knows reports true,
// tell the engine its friends (SetFriend) and route packets with RouteOf.
//
// What conference owns: the conference protocol state (peers, frozen peers,
// group connections, the closest ring, numbering, duplicate detection, the
// message store used for history sync, titles and names) and the byte
// layouts of conference packets (see docs/protocol.md, part 2).
//
// What conference must not do: start goroutines, open sockets, touch the disk
// or a database, read the wall clock (time is always an argument), import
// netlayer or storage, or panic on bytes from a peer. A test enforces the
// import and time.Now rules.
//
// Sub-package simnet runs many engines over a simulated network with a fake
// clock for tests and benchmarks.
package conference
