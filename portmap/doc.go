// Package portmap asks the home router for a mapping of the node's
// listening TCP port, so peers outside the NAT can dial it directly.
//
// # What it owns
//
//   - Discovery of a router that maps ports: UPnP IGD (SSDP search, then
//     the WANIPConnection:1/2 or WANPPPConnection:1 SOAP service, through
//     github.com/huin/goupnp) and NAT-PMP (RFC 6886, through
//     github.com/jackpal/go-nat-pmp) at the default gateway.
//   - One Mapper per listening port: it maps at start and whenever the
//     host's addresses or default gateway change, renews the mapping at
//     half its lease, and deletes it when Run returns (a clean exit).
//     The external address it got is reported through Config.OnChange
//     and Mapper.Mapping.
//
// # What it must not do
//
// Nothing here is fatal: a network without a router that maps ports, a
// router that refuses, garbage from the network, all end in a debug log
// line and a later retry. portmap knows nothing of sessions or peers; it
// never opens a listening socket of its own. Every timer runs on the
// injected Clock; one goroutine (Run) owns the mapping state.
//
// # Use
//
//	m := portmap.New(portmap.Config{Port: 7400, OnChange: func(m portmap.Mapping) { ... }})
//	go m.Run(ctx) // until ctx ends; then the mapping is deleted
package portmap
