// Package relay owns confchat's relays: the server behind `confchat
// relay` and the client side a node uses to reach peers through one.
//
// # What it owns
//
//   - The relay protocol of docs/protocol.md part 4: records with a 2-byte
//     length and a hard 1024-byte limit, a Noise_IK handshake
//     (github.com/flynn/noise) in which the client proves its profile key
//     and the relay its own, and small versioned control messages with an
//     exact length per type.
//   - Server: registrations, calls and joins, and the splice that then
//     copies the peers' own netlayer bytes (which it cannot read) both
//     ways. Limits on clients in all, half-open connections, connections
//     per key, bytes per second per key, idle and handshake time; counts
//     of clients, pairs, bytes and refusals by reason (Stats). One hub
//     goroutine owns the shared tables; each connection has one owner
//     goroutine; every timer runs on the injected Clock.
//   - Client: Dial through a relay to a registered peer (a *Conn whose
//     Relayed() is true, and whose CloseWrite half-closes the splice), and
//     Listener, a kept registration that yields
//     the connections callers open to us, reconnecting with capped
//     backoff. Client's Dial and Listen have the shape of netlayer's
//     Transport (contract C5) for relay addresses.
//   - Relay addresses (relay:KEY@host:port) and the relay's key file.
//
// # What it must not do
//
// relay knows nothing of sessions, conferences or friends: after the
// splice the bytes are opaque and never parsed. It keeps no state on disk
// but the relay's key, believes nothing a client says about another key,
// and never panics on bytes from the network. Nothing a client sends can
// grow a table beyond a fixed bound.
//
// # Use
//
// Server:
//
//	srv, _ := relay.NewServer(relay.Config{Key: kp})
//	go srv.Serve(ln)
//	defer srv.Close()
//
// Client (a node with profile key kp):
//
//	c, _ := relay.NewClient(relay.ClientConfig{Key: kp})
//	l := c.Register(addr)        // net.Listener for Endpoint.Serve
//	conn, err := c.DialRelay(ctx, addr, peer)
package relay
