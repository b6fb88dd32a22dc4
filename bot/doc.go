// Package bot is confchat's headless front end: JSON-RPC 2.0, one JSON
// object per line, on stdin/stdout and optionally on a unix socket.
//
// bot owns the wire format of the bot API (docs/bot-api.md): request
// parsing, error codes, method and notification names and their fields. It
// turns requests into calls on the node's API and node events into
// notifications. It must not touch storage or sockets of the peer network
// itself, hold conference state of its own, or write anything but
// JSON-RPC to its output stream; logs go to stderr.
package bot
