// Package peers owns the friend relationship and the reasons the node
// keeps sessions open.
//
// It holds, in memory and on behalf of the node's owner goroutine:
//   - the friend-level packets (friend request, accept, remove, address
//     update) and their codecs;
//   - the bounded, aged, source-fair list of pending friend requests and
//     the per-source (network prefix) rate limit on new ones;
//   - Book, the friend list with each friend's online state and route;
//   - Wants, the set of sessions the node wants open and why (a friend, a
//     conference's closest peer, a temporary rejoin connection), with
//     expiry, so the node can close what is no longer wanted.
//
// peers is pure: no goroutines, sockets, disk or clock of its own (time is
// an argument). It must not know conference rules beyond "conference X
// wants key K"; persisting friends is the node's job through storage.
package peers
