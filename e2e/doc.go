// Package e2e holds confchat's end-to-end tests: they build the real
// binary and drive several `confchat bot` processes over JSON-RPC on
// loopback, including kill -9, SIGSTOP and restarts. It has no code of
// its own outside tests.
//
// hostile_test.go is an attacker on loopback (fresh-key handshakes, sybil
// friend requests, HISTORY REQUEST floods, junk BATCHes, idle sockets)
// built on netlayer and the conference and peers encoders. The soak test
// that uses it (issue 9) runs only when asked, without -race:
//
//	CONFCHAT_SOAK=1 go test ./e2e -run TestSoakHostileLoad -v -timeout 15m
//
// CONFCHAT_SOAK_DURATION (default 1m, at most 5m) and CONFCHAT_SOAK_IDLE
// (idle connections, default 80) tune it; it prints metric lines.
package e2e
