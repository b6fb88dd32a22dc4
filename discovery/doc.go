// Package discovery publishes this profile's reachable addresses on the
// BitTorrent Mainline DHT and looks friends' addresses up there, by
// confchat ID alone (docs/protocol.md part 5).
//
// An item is a BEP 44 mutable item signed by the profile's Ed25519 key.
// Its salt and the key that encrypts its value are derived from the full
// confchat ID (public key and nospam), so only someone who knows the
// current ID can find or read it; a new nospam moves the item.
//
// It owns: the item format (item.go, record.go), one DHT node on one UDP
// socket (github.com/anacrolix/dht/v2; the BEP 44 get and put traversals
// in traverse.go run on its traversal engine) and the Service goroutine
// that publishes, refreshes, looks up with per-ID backoff and reports
// status. discovery/dhttest is a private loopback DHT for tests.
// It must not: know about conferences, friends or storage (the caller
// persists the sequence number and the routing table it is handed), block
// its caller, or send any packet when Config.Disabled is set.
package discovery
